"""SQL for tenants and API keys. The caller owns the transaction."""

from __future__ import annotations

from uuid import UUID

from psycopg.rows import class_row

from service.audit import Event, EventName, append
from service.auth.model import ApiKey, IssuedKey, Principal, Role, Tenant, new_token, token_hash
from service.db import Conn
from service.errors import MalformedRequest, NotFound


def ensure_tenant(conn: Conn, name: str) -> Tenant:
    """The tenant called ``name``, created if new."""
    with conn.cursor(row_factory=class_row(Tenant)) as cur:
        cur.execute(
            "INSERT INTO tenants (name) VALUES (%s) ON CONFLICT (name) DO NOTHING "
            "RETURNING id, name, created_at",
            (name,),
        )
        tenant = cur.fetchone()
        if tenant is None:
            cur.execute("SELECT id, name, created_at FROM tenants WHERE name = %s", (name,))
            tenant = cur.fetchone()
    if tenant is None:  # deleted between the two statements
        raise NotFound(f"Tenant {name!r} vanished while it was being created; retry.")
    return tenant


def list_tenants(conn: Conn) -> list[Tenant]:
    with conn.cursor(row_factory=class_row(Tenant)) as cur:
        cur.execute("SELECT id, name, created_at FROM tenants ORDER BY name")
        return cur.fetchall()


def create_key(conn: Conn, *, tenant_name: str, role: Role, label: str = "") -> IssuedKey:
    if role not in Role:
        raise MalformedRequest(f"Unknown role {role!r}; choose one of {', '.join(Role)}.")
    tenant = ensure_tenant(conn, tenant_name)
    prefix, token = new_token()
    with conn.cursor(row_factory=class_row(ApiKey)) as cur:
        cur.execute(
            "INSERT INTO api_keys (tenant_id, role, prefix, token_hash, label) VALUES (%s, %s, %s, %s, %s) "
            "RETURNING id, tenant_id, role, prefix, label, created_at, revoked_at",
            (tenant.id, role.value, prefix, token_hash(token), label),
        )
        key = cur.fetchone()
    if key is None:
        raise NotFound("The new key was not stored; retry.")
    append(
        conn,
        Event(EventName.KEY_CREATED, str(key.id), key.tenant_id, {"role": key.role, "prefix": key.prefix}),
    )
    return IssuedKey(key=key, tenant=tenant, token=token)


def authenticate(conn: Conn, token: str) -> Principal | None:
    """The principal a live token belongs to, or None (unknown or revoked)."""
    row = conn.execute(
        "SELECT k.id, k.prefix, k.tenant_id, t.name, k.role FROM api_keys k "
        "JOIN tenants t ON t.id = k.tenant_id WHERE k.token_hash = %s AND k.revoked_at IS NULL",
        (token_hash(token),),
    ).fetchone()
    if row is None:
        return None
    return Principal(
        key_id=row[0], key_prefix=row[1], tenant_id=row[2], tenant_name=row[3], role=Role(row[4])
    )


def revoke_key(conn: Conn, prefix: str) -> ApiKey:
    """Revoke the key; revoking a revoked key changes nothing (and logs nothing)."""
    with conn.cursor(row_factory=class_row(ApiKey)) as cur:
        cur.execute(
            "UPDATE api_keys SET revoked_at = now() WHERE prefix = %s AND revoked_at IS NULL "
            "RETURNING id, tenant_id, role, prefix, label, created_at, revoked_at",
            (prefix,),
        )
        key = cur.fetchone()
        if key is not None:
            append(conn, Event(EventName.KEY_REVOKED, str(key.id), key.tenant_id, {"prefix": key.prefix}))
            return key
        cur.execute(
            "SELECT id, tenant_id, role, prefix, label, created_at, revoked_at "
            "FROM api_keys WHERE prefix = %s",
            (prefix,),
        )
        key = cur.fetchone()
    if key is None:
        raise NotFound(f"No key with prefix {prefix!r}. 'vigil keys list' shows the keys.")
    return key


def list_keys(conn: Conn, tenant_id: UUID | None = None) -> list[ApiKey]:
    with conn.cursor(row_factory=class_row(ApiKey)) as cur:
        cur.execute(
            "SELECT id, tenant_id, role, prefix, label, created_at, revoked_at FROM api_keys "
            "WHERE %(tenant)s::uuid IS NULL OR tenant_id = %(tenant)s ORDER BY created_at",
            {"tenant": tenant_id},
        )
        return cur.fetchall()


def has_admin(conn: Conn) -> bool:
    row = conn.execute(
        "SELECT EXISTS (SELECT 1 FROM api_keys WHERE role = 'admin' AND revoked_at IS NULL)"
    ).fetchone()
    return bool(row and row[0])
