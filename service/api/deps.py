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
from service.errors import Forbidden, Unauthenticated
from service.services import Services


def get_services(request: Request) -> Services:
    return cast(Services, request.app.state.services)


ServicesDep = Annotated[Services, Depends(get_services)]


def current_principal(request: Request, services: ServicesDep) -> Principal:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("This endpoint needs an API key.")
    with services.db.system() as conn:
        principal = auth_store.authenticate(conn, token.strip())
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


# Who may call what (README "Roles" is the same table).
CurrentAdmin = Annotated[Principal, Depends(require(Role.ADMIN))]
CurrentStudio = Annotated[Principal, Depends(require(Role.STUDIO, Role.ADMIN))]
CurrentPlatform = Annotated[Principal, Depends(require(Role.PLATFORM, Role.ADMIN))]
CurrentWebhookOwner = Annotated[Principal, Depends(require(Role.PLATFORM, Role.STUDIO, Role.ADMIN))]
CurrentReviewer = Annotated[Principal, Depends(require(Role.REVIEWER, Role.ADMIN))]
CurrentVerifier = Annotated[Principal, Depends(require(Role.AUDITOR, Role.PLATFORM, Role.ADMIN))]
