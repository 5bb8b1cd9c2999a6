"""``vigil keys create|list|revoke``."""

from __future__ import annotations

import click

from service.auth import Role
from service.auth import store as auth_store
from service.cli.common import pass_settings
from service.services import Services
from service.settings import Settings


@click.group("keys")
def keys_group() -> None:
    """API keys and signing keys."""


@keys_group.command("create")
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True, help="The key's role.")
@click.option("--tenant", default="default", show_default=True, help="Tenant name; created if new.")
@click.option("--label", default="", help="A note to tell keys apart (no personal data).")
@pass_settings
def create_cmd(settings: Settings, role: str, tenant: str, label: str) -> None:
    """Create an API key; its token is printed once, alone on the last line."""
    services = Services.open(settings)
    try:
        with services.db.system() as conn:
            issued = auth_store.create_key(conn, tenant_name=tenant, role=Role(role), label=label)
    finally:
        services.close()
    click.echo(f"created {issued.key.role} key {issued.key.prefix} for tenant {issued.tenant.name}", err=True)
    click.echo("the token is shown once; only its hash is stored:", err=True)
    click.echo(issued.token)


@keys_group.command("list")
@pass_settings
def list_cmd(settings: Settings) -> None:
    """List keys (prefix, role, tenant, state); tokens are never shown again."""
    services = Services.open(settings)
    try:
        with services.db.system() as conn:
            keys = auth_store.list_keys(conn)
    finally:
        services.close()
    for key in keys:
        state = "revoked" if key.revoked_at else "active"
        click.echo(f"{key.prefix}\t{key.role}\t{key.tenant_id}\t{state}\t{key.label}")


@keys_group.command("revoke")
@click.argument("prefix")
@pass_settings
def revoke_cmd(settings: Settings, prefix: str) -> None:
    """Revoke the key with PREFIX (takes effect on the next request)."""
    services = Services.open(settings)
    try:
        with services.db.system() as conn:
            key = auth_store.revoke_key(conn, prefix)
    finally:
        services.close()
    click.echo(f"OK: revoked {key.prefix}")


def register(cli: click.Group) -> None:
    cli.add_command(keys_group)
