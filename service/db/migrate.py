"""Numbered plain-SQL migrations (``migrations/NNNN_name.sql``), applied in order.

Each file runs in its own transaction under a cluster-wide advisory lock, so two processes that
start at once apply it once; applied files are recorded with their SHA-256 in
``schema_migrations``, and an applied file that was edited afterwards is refused.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from importlib import resources
from typing import Any

import psycopg
from psycopg.conninfo import make_conninfo

from service.errors import ConfigError, DatabaseUnavailable

log = logging.getLogger(__name__)

_LOCK_KEY = 0x56494749  # "VIGI": the advisory lock every migrator takes
_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


# Migrations whose comments were reworded after release (the statements are the same): the
# checksums instances recorded before still count as applied, so the wording can be fixed without
# a migration that changes nothing.
_REWORDED: dict[int, frozenset[str]] = {
    3: frozenset({"01f05d84e21c1bf59f05b0d46d4116f9ec01f2d8231b573147894e9ea2486aa9"}),
    4: frozenset({"e6e48f323e5de9b02ed7f356aa5ca371a5a40115687dffd1474398f4df264aee"}),
}


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()

    def matches(self, recorded: str) -> bool:
        """Whether the checksum an instance recorded is this migration's (or an earlier wording's)."""
        return recorded == self.checksum or recorded in _REWORDED.get(self.version, frozenset())


def available() -> list[Migration]:
    """Every migration shipped with this version, in order; refuse gaps and duplicates."""
    found: list[Migration] = []
    for entry in resources.files("service.db.migrations").iterdir():
        match = _NAME.match(entry.name)
        if match:
            found.append(Migration(int(match[1]), match[2], entry.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise ConfigError(f"Two migrations share a number: {versions}")
    return found


_BOOKKEEPING = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version     integer PRIMARY KEY,
    name        text NOT NULL,
    checksum    text NOT NULL,
    applied_at  timestamptz NOT NULL DEFAULT now()
)"""


def applied(conn: psycopg.Connection[Any]) -> dict[int, str]:
    exists = conn.execute("SELECT to_regclass('schema_migrations') IS NOT NULL").fetchone()
    if exists is None or not exists[0]:
        return {}
    rows = conn.execute("SELECT version, checksum FROM schema_migrations").fetchall()
    return {int(version): str(checksum) for version, checksum in rows}


def pending(url: str, *, connect_timeout: float | None = None) -> list[Migration]:
    """Migrations not yet applied to the database at ``url``."""
    if connect_timeout:
        url = make_conninfo(url, connect_timeout=max(1, round(connect_timeout)))
    with psycopg.connect(url, autocommit=True) as conn:
        done = applied(conn)
    return [m for m in available() if m.version not in done]


def migrate(url: str) -> list[Migration]:
    """Apply every pending migration; return those applied by this call."""
    done_now: list[Migration] = []
    try:
        conn = psycopg.connect(url, autocommit=True)
    except psycopg.OperationalError as exc:
        raise DatabaseUnavailable(f"Could not connect to PostgreSQL to migrate: {exc}") from exc
    with conn:
        for migration in available():
            with conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
                conn.execute(_BOOKKEEPING)
                done = applied(conn)
                if migration.version in done:
                    if not migration.matches(done[migration.version]):
                        raise ConfigError(
                            f"Migration {migration.version:04d}_{migration.name} was edited after it was "
                            "applied. Add a new migration instead of changing an applied one."
                        )
                    continue
                log.info("applying migration %04d_%s", migration.version, migration.name)
                conn.execute(migration.sql.encode())  # no parameters: several statements allowed
                conn.execute(
                    "INSERT INTO schema_migrations (version, name, checksum) VALUES (%s, %s, %s)",
                    (migration.version, migration.name, migration.checksum),
                )
                done_now.append(migration)
    return done_now
