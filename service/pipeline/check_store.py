"""SQL for the ``checks`` table: each check's verdict as the platform was answered (no caption),
so ``GET /v1/checks/{id}`` can answer it again. The caller owns the (tenant) transaction."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from psycopg.types.json import Jsonb

from service.db import Conn
from service.errors import NotFound
from service.policy.model import Verdict, verdict_to_dict


def insert(
    conn: Conn, *, check_id: UUID, tenant_id: UUID, market: str, verdict: Verdict, flag_id: UUID | None
) -> None:
    conn.execute(
        "INSERT INTO checks (id, tenant_id, market, decision, verdict, flag_id) "
        "VALUES (%s, %s, %s, %s, %s, %s)",
        (check_id, tenant_id, market, verdict.decision.value, Jsonb(verdict_to_dict(verdict)), flag_id),
    )


def get(conn: Conn, check_id: UUID) -> dict[str, Any]:
    """The stored verdict of ``check_id`` in the caller's tenant, with its ids and time."""
    row = conn.execute(
        "SELECT verdict, flag_id, created_at, market FROM checks WHERE id = %s", (check_id,)
    ).fetchone()
    if row is None:
        raise NotFound(f"No check {check_id} in this tenant.")
    verdict, flag_id, created_at, market = row
    return {**verdict, "check_id": check_id, "flag_id": flag_id, "checked_at": created_at, "market": market}
