"""``vigil db backup``: a dump an operator can restore, written whole or not at all."""

from __future__ import annotations

import shutil
import subprocess
import uuid
from pathlib import Path

import psycopg
from psycopg.conninfo import make_conninfo

from service.cli.db import pg_tool
from tests.cli.test_cli import vigil


def test_a_backup_restores_as_the_operations_guide_says(database_url, pg_server, tmp_path: Path):
    env = {"DATABASE_URL": database_url}
    data = ["--data-dir", str(tmp_path / "d")]
    made = vigil(*data, "keys", "create", "--role", "auditor", "--tenant", "kharkiv-desk", env=env)
    assert made.returncode == 0, made.stderr
    dump = tmp_path / "vigil.dump"

    result = vigil(*data, "db", "backup", str(dump), env=env)

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"OK: {dump}")
    assert "keys" in result.stdout  # the log and signing keys are not in the database: it says so
    # docs/operations.md, Backups: a new instance with the old keys, migrated, then pg_restore
    restored = f"restored_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg_server, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{restored}"')
    target = make_conninfo(pg_server, dbname=restored)
    new = ["--data-dir", str(tmp_path / "new")]
    shutil.copytree(tmp_path / "d" / "keys", tmp_path / "new" / "keys")
    assert vigil(*new, "db", "migrate", env={"DATABASE_URL": target}).returncode == 0
    with psycopg.connect(pg_server) as conn:
        major = conn.info.server_version // 10000
    done = subprocess.run(
        [
            pg_tool("pg_restore", major),
            "--clean",
            "--if-exists",
            "--no-owner",
            f"--dbname={target}",
            str(dump),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    with psycopg.connect(target) as conn:
        tenants = [row[0] for row in conn.execute("SELECT name FROM tenants")]
    assert "kharkiv-desk" in tenants
    verified = vigil(*new, "audit", "verify", env={"DATABASE_URL": target})
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "OK" in verified.stdout


def test_a_backup_never_overwrites_a_file(database_url, tmp_path: Path):
    dump = tmp_path / "vigil.dump"
    dump.write_bytes(b"last week's backup")

    result = vigil(
        "--data-dir", str(tmp_path / "d"), "db", "backup", str(dump), env={"DATABASE_URL": database_url}
    )

    assert result.returncode == 4
    assert "does not overwrite" in result.stderr
    assert dump.read_bytes() == b"last week's backup"
