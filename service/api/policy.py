"""The live content policy: ``GET /v1/policy`` (which version decides) and ``POST /v1/policy/reload``."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from service.api.deps import CurrentAdmin, CurrentPrincipal, ServicesDep
from service.errors import ConfigError, PolicyRejected

router = APIRouter(prefix="/v1/policy", tags=["policy"])


class PolicyOut(BaseModel):
    version: str = Field(description="Hash of the normalised policy set; every verdict names it")
    markets: list[str]
    last_error: str | None = Field(description="Why the last reload was refused (null: it succeeded)")


def _out(services: ServicesDep) -> PolicyOut:
    current = services.policy.current
    return PolicyOut(
        version=current.version, markets=sorted(current.policies), last_error=services.policy.last_error
    )


@router.get("")
def get_policy(_: CurrentPrincipal, services: ServicesDep) -> PolicyOut:
    return _out(services)


@router.post("/reload")
def reload_policy(_: CurrentAdmin, services: ServicesDep) -> PolicyOut:
    """Read the policy files again. An invalid file is refused (422) and the last good policy stays."""
    try:
        services.policy.reload()
    except ConfigError as exc:
        raise PolicyRejected(
            f"Policy reload refused: {exc.message}",
            details={"kept_version": services.policy.current.version},
        ) from exc
    return _out(services)
