"""``vigil keys create|list|revoke``."""

from __future__ import annotations

import json

import click

from service.auth import Role
from service.auth import store as auth_store
from service.cli.common import open_instance, pass_settings
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
    services = open_instance(settings)
    try:
        with services.db.system() as conn:
            issued = auth_store.create_key(conn, tenant_name=tenant, role=Role(role), label=label)
    finally:
        services.close()
    click.echo(f"created {issued.key.role} key {issued.key.prefix} for tenant {issued.tenant.name}", err=True)
    click.echo("the token is shown once; only its hash is stored:", err=True)
    click.echo(issued.token)


@keys_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per key, one per line.")
@pass_settings
def list_cmd(settings: Settings, as_json: bool) -> None:
    """List keys (prefix, role, tenant name, state, created, label); tokens are never shown again."""
    services = open_instance(settings)
    try:
        with services.db.system() as conn:
            keys = auth_store.list_keys(conn)
            names = {t.id: t.name for t in auth_store.list_tenants(conn)}
    finally:
        services.close()
    rows = [
        {
            "prefix": key.prefix, "role": key.role, "tenant": names.get(key.tenant_id, str(key.tenant_id)),
            "state": "revoked" if key.revoked_at else "active",
            "created_at": key.created_at.isoformat(timespec="seconds"), "label": key.label,
        }
        for key in keys
    ]  # fmt: skip
    if as_json:
        for row in rows:
            click.echo(json.dumps(row, ensure_ascii=False))
        return
    columns = ("prefix", "role", "tenant", "state", "created_at", "label")
    widths = {c: max([len(c), *(len(str(r[c])) for r in rows)]) for c in columns}
    click.echo("  ".join(c.upper().ljust(widths[c]) for c in columns).rstrip())
    for row in rows:
        click.echo("  ".join(str(row[c]).ljust(widths[c]) for c in columns).rstrip())


@keys_group.command("revoke")
@click.argument("prefix")
@pass_settings
def revoke_cmd(settings: Settings, prefix: str) -> None:
    """Revoke the key with PREFIX (takes effect on the next request)."""
    services = open_instance(settings)
    try:
        with services.db.system() as conn:
            key = auth_store.revoke_key(conn, prefix)
    finally:
        services.close()
    click.echo(f"OK: revoked {key.prefix}")


def register(cli: click.Group) -> None:
    cli.add_command(keys_group)
