"""SQL of generation records. The caller owns the transaction; nothing here commits.

Every function runs in a ``tenant()`` transaction (row-level security keeps tenants apart);
the worker opens one for the job's tenant.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from uuid import UUID

from psycopg import sql
from psycopg.rows import class_row
from psycopg.types.json import Jsonb

from service.db import Conn
from service.errors import Conflict, NotFound
from service.generate.records import Generation, GenerationStatus, reachable_from
from service.vocabulary import Reason

# Columns a step may change after submission (never id, tenant, spec, inputs or key).
_MUTABLE = frozenset(
    {
        "status",
        "reasons",
        "grant_ids",
        "quarantine_sha256",
        "quarantine_mime",
        "backend",
        "backend_version",
        "source_type",
        "decision",
        "policy_version",
        "flag_id",
        "released_sha256",
        "released_mime",
        "asset_id",
        "released_at",
        "classifier_versions",
    }
)


def _reasons(reasons: Sequence[Reason]) -> Jsonb:
    return Jsonb([r.as_dict() for r in reasons])


def insert(
    conn: Conn,
    *,
    generation_id: UUID,
    tenant_id: UUID,
    status: GenerationStatus,
    reasons: Sequence[Reason],
    spec: Mapping[str, Any],
    photo_sha256s: Sequence[str],
    voice_sha256: str | None,
    market: str,
    output_kind: str,
    grant_ids: Sequence[UUID],
    idempotency_key: str | None,
    request_sha256: str,
) -> Generation | None:
    """Insert a record; None when ``idempotency_key`` is already taken in this tenant."""
    with conn.cursor(row_factory=class_row(Generation)) as cur:
        cur.execute(
            "INSERT INTO generations (id, tenant_id, status, reasons, spec, photo_sha256s, voice_sha256, "
            "market, output_kind, grant_ids, idempotency_key, request_sha256) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
            "ON CONFLICT (tenant_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING "
            "RETURNING *",
            (
                generation_id,
                tenant_id,
                status.value,
                _reasons(reasons),
                Jsonb(dict(spec)),
                list(photo_sha256s),
                voice_sha256,
                market,
                output_kind,
                list(grant_ids),
                idempotency_key,
                request_sha256,
            ),
        )
        return cur.fetchone()


def by_idempotency_key(conn: Conn, tenant_id: UUID, key: str) -> Generation | None:
    with conn.cursor(row_factory=class_row(Generation)) as cur:
        cur.execute(
            "SELECT * FROM generations WHERE tenant_id = %s AND idempotency_key = %s", (tenant_id, key)
        )
        return cur.fetchone()


_GET = "SELECT * FROM generations WHERE id = %s"
_GET_FOR_UPDATE = "SELECT * FROM generations WHERE id = %s FOR UPDATE"


def get(conn: Conn, generation_id: UUID, *, lock: bool = False) -> Generation:
    """The record (``lock``: held FOR UPDATE until the transaction ends); NotFound otherwise."""
    query = _GET_FOR_UPDATE if lock else _GET
    with conn.cursor(row_factory=class_row(Generation)) as cur:
        cur.execute(query, (generation_id,))
        found = cur.fetchone()
    if found is None:
        raise NotFound("No generation with this id in your tenant.")
    return found


def start(conn: Conn, generation_id: UUID) -> Generation | None:
    """Mark a pending record ``running`` and count the attempt; None when it is settled already."""
    with conn.cursor(row_factory=class_row(Generation)) as cur:
        cur.execute(
            "UPDATE generations SET status = 'running', attempts = attempts + 1, updated_at = now() "
            "WHERE id = %s AND status IN ('queued', 'running') RETURNING *",
            (generation_id,),
        )
        return cur.fetchone()


def released_with_assets(conn: Conn, asset_ids: Sequence[UUID]) -> list[Generation]:
    """The caller's released generations whose outputs are ``asset_ids`` (row-locked)."""
    if not asset_ids:
        return []
    with conn.cursor(row_factory=class_row(Generation)) as cur:
        cur.execute(
            "SELECT * FROM generations WHERE status = 'released' AND asset_id = ANY(%s) "
            "ORDER BY id FOR UPDATE",
            (list(asset_ids),),
        )
        return cur.fetchall()


def update(conn: Conn, generation_id: UUID, **fields: Any) -> Generation:
    """Set the named columns (see ``_MUTABLE``) and ``updated_at``; returns the new record."""
    unknown = set(fields) - _MUTABLE
    if unknown:
        raise ValueError(f"generation columns that may not change: {', '.join(sorted(unknown))}")
    values: list[Any] = []
    assignments: list[sql.Composable] = []
    guard, allowed = sql.SQL(""), list[str]()
    if "status" in fields:  # the one place a status change is checked against TRANSITIONS
        allowed = sorted(s.value for s in reachable_from(GenerationStatus(fields["status"])))
        guard = sql.SQL(" AND status = ANY(%s)")
    for name, value in fields.items():
        if name == "reasons":
            value = _reasons(value)
        elif name == "status":
            value = GenerationStatus(value).value
        elif name == "grant_ids":
            value = list(value)
        elif name == "classifier_versions":
            value = Jsonb(dict(value))
        assignments.append(sql.SQL("{} = %s").format(sql.Identifier(name)))
        values.append(value)
    assignments.append(sql.SQL("updated_at = now()"))
    query = sql.SQL("UPDATE generations SET {} WHERE id = %s{} RETURNING *").format(
        sql.SQL(", ").join(assignments), guard
    )
    with conn.cursor(row_factory=class_row(Generation)) as cur:
        cur.execute(query, (*values, generation_id, *([allowed] if "status" in fields else [])))
        found = cur.fetchone()
    if found is not None:
        return found
    row = conn.execute("SELECT status FROM generations WHERE id = %s", (generation_id,)).fetchone()
    if row is None:
        raise NotFound("No generation with this id in your tenant.")
    raise Conflict(f"A generation that is {row[0]} cannot become {GenerationStatus(fields['status']).value}.")
