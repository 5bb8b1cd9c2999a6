"""Who is calling: roles, tenants and keys (values only, no I/O)."""

from __future__ import annotations

import enum
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID


class Role(enum.StrEnum):
    ADMIN = "admin"
    STUDIO = "studio"
    PLATFORM = "platform"
    REVIEWER = "reviewer"
    AUDITOR = "auditor"


@dataclass(frozen=True, slots=True)
class Tenant:
    id: UUID
    name: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ApiKey:
    """A stored key: never the token itself."""

    id: UUID
    tenant_id: UUID
    role: str
    prefix: str
    label: str
    created_at: datetime
    revoked_at: datetime | None


@dataclass(frozen=True, slots=True)
class Principal:
    """The authenticated caller of one request."""

    key_id: UUID
    key_prefix: str
    tenant_id: UUID
    tenant_name: str
    role: Role


@dataclass(frozen=True, slots=True)
class IssuedKey:
    """A key just created: the only moment its token exists outside the caller's hands."""

    key: ApiKey
    tenant: Tenant
    token: str


# The visible scheme of every token, not a secret.
TOKEN_SCHEME = "vgl"  # noqa: S105  # nosec B105


def new_token() -> tuple[str, str]:
    """Return ``(prefix, token)``; the prefix is the visible part that names a key in lists."""
    prefix = f"{TOKEN_SCHEME}_{secrets.token_hex(4)}"
    return prefix, f"{prefix}_{secrets.token_urlsafe(32)}"


def token_hash(token: str) -> bytes:
    # A token carries 256 random bits, so a fast hash is enough: there is nothing to brute-force.
    return hashlib.sha256(token.encode()).digest()
