"""SQL for the emblems an operator adds to the symbol bank. The caller owns the transaction."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import psycopg
from psycopg.rows import class_row

from service.db import Conn
from service.errors import Conflict, NotFound


@dataclass(frozen=True, slots=True)
class Emblem:
    tenant_id: UUID
    id: str
    label: str
    category: str
    note: str
    image_sha256: str
    created_at: datetime


_COLUMNS = "tenant_id, id, label, category, note, image_sha256, created_at"


def add(
    conn: Conn, *, tenant_id: UUID, id: str, label: str, category: str, note: str, image_sha256: str
) -> Emblem:
    try:
        with conn.transaction(), conn.cursor(row_factory=class_row(Emblem)) as cur:
            cur.execute(
                f"INSERT INTO symbols (tenant_id, id, label, category, note, image_sha256) "  # noqa: S608  # nosec B608
                f"VALUES (%s, %s, %s, %s, %s, %s) RETURNING {_COLUMNS}",
                (tenant_id, id, label, category, note, image_sha256),
            )
            row = cur.fetchone()
    except psycopg.errors.UniqueViolation:
        raise Conflict(
            f"the symbol bank already has {id!r}: choose another id, or remove the old one first"
        ) from None
    assert row is not None  # RETURNING of an insert that succeeded
    return row


def listed(conn: Conn, tenant_id: UUID) -> list[Emblem]:
    with conn.cursor(row_factory=class_row(Emblem)) as cur:
        cur.execute(
            f"SELECT {_COLUMNS} FROM symbols WHERE tenant_id = %s ORDER BY id",  # noqa: S608  # nosec B608
            (tenant_id,),
        )
        return cur.fetchall()


def get(conn: Conn, tenant_id: UUID, id: str) -> Emblem:
    with conn.cursor(row_factory=class_row(Emblem)) as cur:
        cur.execute(
            f"SELECT {_COLUMNS} FROM symbols WHERE tenant_id = %s AND id = %s",  # noqa: S608  # nosec B608
            (tenant_id, id),
        )
        row = cur.fetchone()
    if row is None:
        raise NotFound(f"no symbol {id!r} in this tenant's bank (list them with GET /v1/symbols)")
    return row


def remove(conn: Conn, tenant_id: UUID, id: str) -> None:
    cur = conn.execute("DELETE FROM symbols WHERE tenant_id = %s AND id = %s", (tenant_id, id))
    if cur.rowcount == 0:
        raise NotFound(f"no symbol {id!r} in this tenant's bank (list them with GET /v1/symbols)")


def version(conn: Conn, tenant_id: UUID) -> str:
    """Changes whenever the tenant's emblems do (an add or a removal)."""
    row = conn.execute(
        "SELECT count(*), coalesce(string_agg(id || ':' || image_sha256, ',' ORDER BY id), '') "
        "FROM symbols WHERE tenant_id = %s",
        (tenant_id,),
    ).fetchone()
    assert row is not None  # an aggregate always answers
    return f"{row[0]}:{hashlib.sha256(str(row[1]).encode()).hexdigest()[:16]}"
