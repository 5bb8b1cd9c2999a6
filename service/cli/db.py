"""``vigil db migrate``."""

from __future__ import annotations

import click

from service.cli.common import pass_settings
from service.db import Database
from service.db import migrate as migrations
from service.settings import Settings


@click.group("db")
def db_group() -> None:
    """Database maintenance."""


@db_group.command("migrate")
@pass_settings
def migrate_cmd(settings: Settings) -> None:
    """Apply pending schema migrations (safe to run while Vigil serves)."""
    settings.ensure_dirs()
    db = Database.from_settings(settings)
    try:
        applied = migrations.migrate(db.url)
    finally:
        db.close()
    for m in applied:
        click.echo(f"applied {m.version:04d}_{m.name}")
    click.echo(f"OK: schema at version {migrations.available()[-1].version:04d}")


def register(cli: click.Group) -> None:
    cli.add_command(db_group)
