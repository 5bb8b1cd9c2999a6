"""``vigil symbols list|add|remove``: the symbol bank of a tenant (shipped drawings and emblems)."""

from __future__ import annotations

import json
from pathlib import Path

import click
from PIL import Image, UnidentifiedImageError

from service.auth import store as auth_store
from service.classify.symbols import SYMBOL_CATEGORIES
from service.cli.common import EXIT_BAD_INPUT, open_instance, pass_settings
from service.settings import Settings
from service.symbols import store

_tenant = click.option("--tenant", default="default", show_default=True, help="Tenant name.")


@click.group("symbols")
def symbols_group() -> None:
    """The symbol bank: shipped drawings and a tenant's own emblems, matched on every picture."""


@symbols_group.command("list")
@_tenant
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@pass_settings
def list_cmd(settings: Settings, tenant: str, as_json: bool) -> None:
    """The shipped symbols, then the tenant's emblems."""
    services = open_instance(settings)
    try:
        shipped = services.symbols.shipped()
        with services.db.system() as conn:
            tenant_id = auth_store.ensure_tenant(conn, tenant).id
            emblems = store.listed(conn, tenant_id)
    finally:
        services.close()
    rows = [(r.id, r.label, r.category.value, "shipped") for r in (shipped.refs if shipped else ())]
    rows += [(e.id, e.label, e.category, f"tenant {tenant}") for e in emblems]
    if as_json:
        keys = ("id", "label", "category", "source")
        click.echo(json.dumps({"symbols": [dict(zip(keys, r, strict=True)) for r in rows]}))
        return
    if shipped is None:
        click.echo(
            "FAIL: the shipped symbol bank cannot be loaded (vigil serve's /readyz says why)", err=True
        )
    click.echo(f"{'ID':<22} {'CATEGORY':<20} {'SOURCE':<16} LABEL")
    for id, label, category, source in rows:
        click.echo(f"{id:<22} {category:<20} {source:<16} {label}")


@symbols_group.command("add")
@click.argument("drawing", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--id", "symbol_id", required=True, help="Lower-case id, e.g. unit-emblem.")
@click.option("--label", required=True, help="What a reviewer reads.")
@click.option("--category", type=click.Choice([c.value for c in SYMBOL_CATEGORIES]), required=True)
@click.option("--note", default="", help="What it means, where it is banned.")
@_tenant
@pass_settings
def add_cmd(
    settings: Settings, drawing: Path, symbol_id: str, label: str, category: str, note: str, tenant: str
) -> None:
    """Add DRAWING (the emblem on a plain or transparent background) to the tenant's bank."""
    try:
        with Image.open(drawing) as img:
            img.load()
            picture = img.copy()
    except (UnidentifiedImageError, OSError) as exc:
        click.echo(f"FAIL: {drawing} is not a picture Vigil can read ({exc}); send a PNG or JPEG", err=True)
        raise SystemExit(EXIT_BAD_INPUT) from None
    services = open_instance(settings)
    try:
        with services.db.system() as conn:
            tenant_id = auth_store.ensure_tenant(conn, tenant).id
        with services.db.tenant(tenant_id) as conn:
            emblem = services.symbols.add_emblem(
                conn,
                tenant_id=tenant_id,
                id=symbol_id,
                label=label,
                category=category,
                note=note,
                image=picture,
            )
    finally:
        services.close()
    click.echo(f"OK: added {emblem.id} ({emblem.category}) to the symbol bank of {tenant}")


@symbols_group.command("remove")
@click.argument("symbol_id")
@_tenant
@pass_settings
def remove_cmd(settings: Settings, symbol_id: str, tenant: str) -> None:
    """Remove one of the tenant's emblems."""
    services = open_instance(settings)
    try:
        with services.db.system() as conn:
            tenant_id = auth_store.ensure_tenant(conn, tenant).id
        with services.db.tenant(tenant_id) as conn:
            services.symbols.remove(conn, tenant_id, symbol_id)
    finally:
        services.close()
    click.echo(f"OK: removed {symbol_id} from the symbol bank of {tenant}")


def register(cli: click.Group) -> None:
    cli.add_command(symbols_group)
