"""Who am I, and key management for admins within their own tenant."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Path
from pydantic import BaseModel, Field

from service.api.deps import CurrentAdmin, CurrentPrincipal, ServicesDep
from service.auth import ApiKey, Role
from service.auth import store as auth_store
from service.errors import NotFound

router = APIRouter(prefix="/v1", tags=["keys"])


class WhoAmI(BaseModel):
    key_prefix: str
    role: Role
    tenant: str
    tenant_id: UUID


class KeyOut(BaseModel):
    id: UUID
    prefix: str
    role: Role
    label: str
    created_at: datetime
    revoked_at: datetime | None


class KeyCreate(BaseModel):
    role: Role
    label: str = Field("", max_length=200)


class KeyCreated(KeyOut):
    token: str = Field(description="Shown once; only its hash is stored.")


@router.get("/whoami")
def whoami(principal: CurrentPrincipal) -> WhoAmI:
    """The key's prefix, role and tenant (an authenticated GET that looks its key up)."""
    return WhoAmI(
        key_prefix=principal.key_prefix,
        role=principal.role,
        tenant=principal.tenant_name,
        tenant_id=principal.tenant_id,
    )


@router.get("/keys")
def list_keys(admin: CurrentAdmin, services: ServicesDep) -> dict[str, list[KeyOut]]:
    with services.db.system() as conn:
        keys = auth_store.list_keys(conn, admin.tenant_id)
    return {"keys": [KeyOut(**_key_fields(k)) for k in keys]}


@router.post("/keys", status_code=201)
def create_key(body: KeyCreate, admin: CurrentAdmin, services: ServicesDep) -> KeyCreated:
    """A new key in the admin's own tenant; the token is in this response only."""
    with services.db.system() as conn:
        issued = auth_store.create_key(conn, tenant_name=admin.tenant_name, role=body.role, label=body.label)
    return KeyCreated(**_key_fields(issued.key), token=issued.token)


@router.post("/keys/{prefix}/revoke")
def revoke_key(
    prefix: Annotated[str, Path(max_length=40)], admin: CurrentAdmin, services: ServicesDep
) -> KeyOut:
    with services.db.system() as conn:
        keys = {k.prefix: k for k in auth_store.list_keys(conn, admin.tenant_id)}
        if prefix not in keys:
            raise NotFound(f"No key {prefix!r} in this tenant.")
        key = auth_store.revoke_key(conn, prefix)
    return KeyOut(**_key_fields(key))


def _key_fields(key: ApiKey) -> dict[str, object]:
    return {
        "id": key.id,
        "prefix": key.prefix,
        "role": Role(key.role),
        "label": key.label,
        "created_at": key.created_at,
        "revoked_at": key.revoked_at,
    }
