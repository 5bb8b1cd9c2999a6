"""Tenants, roles and API keys. Tokens are shown once and stored only as SHA-256 hashes."""

from service.auth.model import ApiKey, IssuedKey, Principal, Role, Tenant

__all__ = ["ApiKey", "IssuedKey", "Principal", "Role", "Tenant"]
