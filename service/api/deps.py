"""FastAPI dependencies: the services, the caller, and one alias per role.

Routes declare who may call them by their parameter type (``CurrentStudio``, ``CurrentReviewer``…);
the tenant comes from the key, never from the request.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, cast

from fastapi import Depends, Request

from service.auth import Principal, Role
from service.auth import store as auth_store
from service.auth.throttle import prefix_of
from service.errors import Forbidden, TooManyRequests, Unauthenticated
from service.pipeline.check import CheckFlow
from service.pipeline.generation import GenerationFlow
from service.services import Services


def get_services(request: Request) -> Services:
    return cast(Services, request.app.state.services)


ServicesDep = Annotated[Services, Depends(get_services)]


def get_check_flow(request: Request) -> CheckFlow:
    return cast(CheckFlow, request.app.state.check_flow)


CheckFlowDep = Annotated[CheckFlow, Depends(get_check_flow)]


def get_generation_flow(request: Request) -> GenerationFlow:
    return cast(GenerationFlow, request.app.state.generation_flow)


GenerationFlowDep = Annotated[GenerationFlow, Depends(get_generation_flow)]


def client_address(request: Request) -> str:
    return request.client.host if request.client is not None else "unknown"


def authenticate(request: Request, services: Services, token: str) -> Principal | None:
    """The key's principal, or None; failures count towards the caller's throttle, and a caller
    over its limit is refused (429) before the key is looked up at all."""
    client, prefix = client_address(request), prefix_of(token)
    wait = services.auth_throttle.retry_after(client, prefix)
    if wait is not None:
        request.app.state.metrics.auth_throttled.inc()
        raise TooManyRequests(
            f"Too many failed attempts from this client or for this key; try again in {round(wait)} s.",
            retry_after=wait,
        )
    with services.db.system() as conn:
        principal = auth_store.authenticate(conn, token) if token else None
    if principal is None:
        services.auth_throttle.failed(client, prefix)
        request.app.state.metrics.auth_failures.inc()
    return principal


def current_principal(request: Request, services: ServicesDep) -> Principal:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("This endpoint needs an API key.")
    principal = authenticate(request, services, token.strip())
    if principal is None:
        raise Unauthenticated("The API key is unknown or revoked.")
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def require(*roles: Role) -> Callable[[Principal], Principal]:
    allowed = frozenset(roles)

    def check(principal: CurrentPrincipal) -> Principal:
        if principal.role not in allowed:
            raise Forbidden(
                f"A {principal.role} key may not do this; it needs one of: {', '.join(sorted(allowed))}."
            )
        return principal

    return check


# Who may call what (docs/api.md, "Roles", is the same table).
CurrentAdmin = Annotated[Principal, Depends(require(Role.ADMIN))]
CurrentStudio = Annotated[Principal, Depends(require(Role.STUDIO, Role.ADMIN))]
CurrentPlatform = Annotated[Principal, Depends(require(Role.PLATFORM, Role.ADMIN))]
CurrentWebhookOwner = Annotated[Principal, Depends(require(Role.PLATFORM, Role.STUDIO, Role.ADMIN))]
CurrentReviewer = Annotated[Principal, Depends(require(Role.REVIEWER, Role.ADMIN))]
CurrentVerifier = Annotated[Principal, Depends(require(Role.AUDITOR, Role.PLATFORM, Role.ADMIN))]
