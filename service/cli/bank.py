"""``vigil bank create|import|export``: manage hash banks of a tenant, or system banks.

System banks (``--system``) are consulted by every tenant's checks: revoked and rejected
outputs, shared lists.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from uuid import UUID

import click

from service.auth import store as auth_store
from service.cli.common import EXIT_BAD_INPUT, open_instance, pass_settings
from service.db import Conn
from service.errors import MalformedRequest
from service.match import banks as bank_ops
from service.match.model import Bank, BankKind, HashType
from service.settings import Settings

_tenant = click.option("--tenant", default="default", show_default=True, help="Tenant name.")
_system = click.option("--system", is_flag=True, help="A system bank, consulted by every tenant.")
_json = click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")


@contextmanager
def _scope(settings: Settings, tenant: str, system: bool) -> Iterator[tuple[Conn, UUID | None]]:
    services = open_instance(settings)
    try:
        if system:
            with services.db.system() as conn:
                yield conn, None
            return
        with services.db.system() as conn:
            tenant_id = auth_store.ensure_tenant(conn, tenant).id
        with services.db.tenant(tenant_id) as conn:
            yield conn, tenant_id
    finally:
        services.close()


def _bank_json(bank: Bank) -> dict[str, object]:
    return {
        "name": bank.name,
        "kind": bank.kind,
        "hash_type": bank.hash_type,
        "threshold": bank.threshold,
        "system": bank.system,
        "signals": bank.signals,
        "quarantined": bank.quarantined,
    }


@click.group("bank")
def bank_group() -> None:
    """Hash banks: create, import (CSV or JSON), export."""


@bank_group.command("create")
@click.argument("name")
@click.option("--kind", type=click.Choice([k.value for k in BankKind]), default="block", show_default=True)
@click.option("--hash-type", type=click.Choice([h.value for h in HashType]), default="pdq", show_default=True)
@click.option(
    "--threshold", type=int, default=None, help="Largest matching distance (default PDQ 31, pHash 8)."
)
@_tenant
@_system
@_json
@pass_settings
def create_cmd(
    settings: Settings,
    name: str,
    kind: str,
    hash_type: str,
    threshold: int | None,
    tenant: str,
    system: bool,
    as_json: bool,
) -> None:
    """Create bank NAME."""
    with _scope(settings, tenant, system) as (conn, tenant_id):
        bank = bank_ops.create_bank(
            conn, tenant_id=tenant_id, name=name, kind=kind, hash_type=hash_type, threshold=threshold
        )
    if as_json:
        click.echo(json.dumps(_bank_json(bank)))
    else:
        click.echo(f"OK: created {bank.kind} bank {bank.name} ({bank.hash_type}, threshold {bank.threshold})")


@bank_group.command("import")
@click.argument("name")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--format", "fmt", type=click.Choice(["csv", "json"]), default=None, help="Default: from the file."
)
@_tenant
@_system
@_json
@pass_settings
def import_cmd(
    settings: Settings, name: str, file: Path, fmt: str | None, tenant: str, system: bool, as_json: bool
) -> None:
    """Import FILE (header signal_type,signal,labels, or a JSON array) into bank NAME, all or nothing."""
    if fmt is None and file.suffix.lower() in (".csv", ".json"):
        fmt = file.suffix.lower()[1:]
    data = file.read_bytes()
    try:
        with _scope(settings, tenant, system) as (conn, tenant_id):
            bank = bank_ops.get_bank(conn, tenant_id=tenant_id, name=name)
            result = bank_ops.import_file(conn, bank, data, fmt=fmt)
    except MalformedRequest as exc:
        bad = exc.details.get("errors") or []
        if not bad:
            raise
        total = exc.details.get("bad_lines", len(bad))
        if as_json:  # the failure as one object too: every bad line a script can act on
            click.echo(json.dumps({"imported": False, "bad_lines": total, "errors": bad}))
        else:
            click.echo(
                f"FAIL: {file}: {total} bad line(s); nothing was imported. Fix them and import again:",
                err=True,
            )
            for problem in bad:
                click.echo(f"  line {problem['line']}: {problem['message']}", err=True)
            if total > len(bad):
                click.echo(f"  … and {total - len(bad)} more", err=True)
        raise SystemExit(EXIT_BAD_INPUT) from None
    if as_json:
        click.echo(
            json.dumps({"bank": _bank_json(result.bank), "lines": result.lines, "added": result.added})
        )
    else:
        click.echo(
            f"OK: {result.lines} signals read, {result.added} new; bank {name} holds {result.bank.signals}"
        )


@bank_group.command("export")
@click.argument("name")
@click.option("--format", "fmt", type=click.Choice(["csv", "json"]), default="csv", show_default=True)
@_tenant
@_system
@pass_settings
def export_cmd(settings: Settings, name: str, fmt: str, tenant: str, system: bool) -> None:
    """Print bank NAME in the form it is imported in."""
    with _scope(settings, tenant, system) as (conn, tenant_id):
        bank = bank_ops.get_bank(conn, tenant_id=tenant_id, name=name)
        text = bank_ops.export_file(conn, bank, fmt=fmt)
    click.echo(text, nl=False)


@bank_group.command("release")
@click.argument("name")
@click.argument("signal")
@_tenant
@_system
@pass_settings
def release_cmd(settings: Settings, name: str, signal: str, tenant: str, system: bool) -> None:
    """Re-enable entry SIGNAL (hex) of bank NAME after flood quarantine disabled it."""
    with _scope(settings, tenant, system) as (conn, tenant_id):
        bank = bank_ops.get_bank(conn, tenant_id=tenant_id, name=name)
        bank_ops.release(conn, bank, signal)
    click.echo(f"OK: released {signal.lower()} in bank {name}")


def register(cli: click.Group) -> None:
    cli.add_command(bank_group)
