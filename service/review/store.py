"""SQL for flags, leases, decisions, appeals, sessions and reviewer preferences.

The caller owns the transaction; nothing here commits. Tenant isolation is row-level security:
a flag of another tenant is simply not found.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from psycopg.rows import class_row
from psycopg.types.json import Jsonb

from service.db import Conn
from service.review.model import Appeal, DecisionRecord, Flag, ReviewSession

_FLAG = (
    "id, tenant_id, source_kind, source_id, category, severity, status, outcome, reasons, context, "
    "double_review, escalations, excluded_reviewers, leased_by, lease_expires_at, created_at, due_at, "
    "rank_at, decided_at"
)
_DECISION = "id, tenant_id, flag_id, reviewer_key_id, decision, rationale, policy_citation, final, created_at"
_APPEAL = "id, tenant_id, flag_id, appeal_flag_id, filed_by_key_id, statement, status, filed_at, decided_at"
QUEUED = ("open", "escalated")


def insert_flag(
    conn: Conn,
    *,
    flag_id: UUID,
    tenant_id: UUID,
    source_kind: str,
    source_id: str,
    category: str,
    severity: int,
    reasons: Sequence[dict[str, Any]],
    context: dict[str, Any],
    double_review: bool,
    excluded_reviewers: Sequence[UUID],
    created_at: datetime,
    due_at: datetime,
    rank_at: datetime,
) -> Flag:
    with conn.cursor(row_factory=class_row(Flag)) as cur:
        cur.execute(
            "INSERT INTO review_flags (id, tenant_id, source_kind, source_id, category, severity, reasons, "  # noqa: S608  # nosec B608
            "context, double_review, excluded_reviewers, created_at, due_at, rank_at) "
            f"VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING {_FLAG}",
            (
                flag_id, tenant_id, source_kind, source_id, category, severity, Jsonb(list(reasons)),
                Jsonb(context), double_review, list(excluded_reviewers), created_at, due_at, rank_at,
            ),
        )  # fmt: skip
        flag = cur.fetchone()
    assert flag is not None  # INSERT … RETURNING always returns the row
    return flag


def get_flag(conn: Conn, flag_id: UUID, *, lock: bool = False) -> Flag | None:
    with conn.cursor(row_factory=class_row(Flag)) as cur:
        cur.execute(
            f"SELECT {_FLAG} FROM review_flags WHERE id = %s{' FOR UPDATE' if lock else ''}",  # noqa: S608  # nosec B608
            (flag_id,),
        )
        return cur.fetchone()


def flag_for_source(conn: Conn, *, source_kind: str, source_id: str) -> Flag | None:
    """The newest flag about a source (one the caller's tenant can see)."""
    with conn.cursor(row_factory=class_row(Flag)) as cur:
        cur.execute(
            f"SELECT {_FLAG} FROM review_flags WHERE source_kind = %s AND source_id = %s "  # noqa: S608  # nosec B608
            "ORDER BY created_at DESC LIMIT 1",
            (source_kind, source_id),
        )
        return cur.fetchone()


def latest_appeal(conn: Conn, flag_id: UUID) -> Appeal | None:
    with conn.cursor(row_factory=class_row(Appeal)) as cur:
        cur.execute(
            f"SELECT {_APPEAL} FROM review_appeals WHERE flag_id = %s ORDER BY filed_at DESC LIMIT 1",  # noqa: S608  # nosec B608
            (flag_id,),
        )
        return cur.fetchone()


# Sort orders of the queue, by name: the SQL is fixed here, never built from input.
SORTS = {
    "priority": "rank_at, id",
    "due": "due_at, id",
    "newest": "created_at DESC, id",
    "oldest": "created_at, id",
    "decided": "decided_at DESC NULLS LAST, id",
}
# What a flag's media is, for the queue's filter: the first media entry's top-level type.
MEDIA_KINDS = ("image", "video", "audio", "text")


def list_flags(
    conn: Conn,
    *,
    statuses: Sequence[str],
    limit: int,
    categories: Sequence[str] = (),
    source_kind: str | None = None,
    media: str | None = None,
    overdue: bool = False,
    sort: str = "priority",
) -> list[Flag]:
    """The tenant's flags in ``statuses``, filtered and sorted (``SORTS``); ``media`` is one of
    ``MEDIA_KINDS`` (``text``: no media at all)."""
    where = ["status = ANY(%(statuses)s)"]
    if categories:
        where.append("category = ANY(%(categories)s)")
    if source_kind:
        where.append("source_kind = %(source_kind)s")
    if media == "text":
        where.append("coalesce(jsonb_array_length(context->'media'), 0) = 0")
    elif media in MEDIA_KINDS:
        where.append("context->'media'->0->>'mime' LIKE %(mime)s")
    if overdue:
        where.append("due_at < now()")
    order = SORTS.get(sort, SORTS["priority"])
    with conn.cursor(row_factory=class_row(Flag)) as cur:
        cur.execute(
            f"SELECT {_FLAG} FROM review_flags WHERE {' AND '.join(where)} ORDER BY {order} LIMIT %(limit)s",  # noqa: S608  # nosec B608
            {"statuses": list(statuses), "categories": list(categories), "source_kind": source_kind,
             "mime": f"{media}/%", "limit": limit},
        )  # fmt: skip
        return cur.fetchall()


def claim(conn: Conn, *, tenant_id: UUID, key_id: UUID, lease: timedelta) -> Flag | None:
    """Lease the highest-ranked queued flag nobody holds, or an expired lease, to ``key_id``.

    Two candidates, each found by its own partial index and locked with SKIP LOCKED so
    concurrent reviewers never wait on (or get) the same row: the best unleased flag and the
    longest-expired lease. The better-ranked of the two is taken.
    """
    with conn.cursor(row_factory=class_row(Flag)) as cur:
        cur.execute(
            f"""
            WITH unleased AS (
                SELECT id, rank_at FROM review_flags
                 WHERE tenant_id = %(tenant)s AND status IN ('open', 'escalated') AND leased_by IS NULL
                   AND NOT (%(key)s = ANY (excluded_reviewers))
                 ORDER BY rank_at LIMIT 1 FOR UPDATE SKIP LOCKED
            ), expired AS (
                SELECT id, rank_at FROM review_flags
                 WHERE tenant_id = %(tenant)s AND status IN ('open', 'escalated') AND leased_by IS NOT NULL
                   AND lease_expires_at < now() AND NOT (%(key)s = ANY (excluded_reviewers))
                 ORDER BY lease_expires_at LIMIT 1 FOR UPDATE SKIP LOCKED
            ), cand AS (SELECT * FROM unleased UNION ALL SELECT * FROM expired)
            UPDATE review_flags f SET leased_by = %(key)s, lease_expires_at = now() + %(lease)s
              FROM (SELECT id FROM cand ORDER BY rank_at LIMIT 1) c
             WHERE f.id = c.id
            RETURNING {", ".join("f." + c for c in _FLAG.split(", "))}
            """,  # noqa: S608  # nosec B608
            {"tenant": tenant_id, "key": key_id, "lease": lease},
        )
        return cur.fetchone()


def claim_flag(conn: Conn, flag_id: UUID, *, key_id: UUID, lease: timedelta) -> Flag | None:
    """Lease one named flag to ``key_id`` if it is waiting and free (or already theirs, or its
    lease expired) and they may take it; None otherwise (decided, held by someone, excluded)."""
    with conn.cursor(row_factory=class_row(Flag)) as cur:
        cur.execute(
            f"""
            UPDATE review_flags SET leased_by = %(key)s, lease_expires_at = now() + %(lease)s
             WHERE id = %(id)s AND status IN ('open', 'escalated')
               AND (leased_by IS NULL OR leased_by = %(key)s OR lease_expires_at < now())
               AND NOT (%(key)s = ANY (excluded_reviewers))
            RETURNING {_FLAG}
            """,  # noqa: S608  # nosec B608
            {"id": flag_id, "key": key_id, "lease": lease},
        )
        return cur.fetchone()


def held(conn: Conn, *, tenant_id: UUID, key_id: UUID) -> Flag | None:
    """The most urgent flag ``key_id`` holds a live lease on, if any."""
    with conn.cursor(row_factory=class_row(Flag)) as cur:
        cur.execute(
            f"SELECT {_FLAG} FROM review_flags WHERE tenant_id = %s AND leased_by = %s "  # noqa: S608  # nosec B608
            "AND lease_expires_at > now() AND status IN ('open', 'escalated') ORDER BY rank_at LIMIT 1",
            (tenant_id, key_id),
        )
        return cur.fetchone()


def set_lease(conn: Conn, flag_id: UUID, *, key_id: UUID | None, lease: timedelta | None) -> None:
    if key_id is None:
        conn.execute(
            "UPDATE review_flags SET leased_by = NULL, lease_expires_at = NULL WHERE id = %s", (flag_id,)
        )
    else:
        conn.execute(
            "UPDATE review_flags SET leased_by = %s, lease_expires_at = now() + %s WHERE id = %s",
            (key_id, lease, flag_id),
        )


def update_flag(
    conn: Conn,
    flag_id: UUID,
    *,
    status: str,
    outcome: str | None = None,
    escalations: int | None = None,
    rank_at: datetime | None = None,
    exclude: UUID | None = None,
) -> Flag:
    """Move a flag to ``status``; the lease always ends with a decision."""
    with conn.cursor(row_factory=class_row(Flag)) as cur:
        cur.execute(
            "UPDATE review_flags SET status = %(status)s, outcome = coalesce(%(outcome)s, outcome), "  # noqa: S608  # nosec B608
            "escalations = coalesce(%(esc)s, escalations), rank_at = coalesce(%(rank)s, rank_at), "
            "excluded_reviewers = CASE WHEN %(excl)s::uuid IS NULL THEN excluded_reviewers "
            "ELSE array_append(excluded_reviewers, %(excl)s::uuid) END, "
            "decided_at = CASE WHEN %(status)s = 'decided' THEN now() ELSE decided_at END, "
            f"leased_by = NULL, lease_expires_at = NULL WHERE id = %(id)s RETURNING {_FLAG}",
            {
                "status": status, "outcome": outcome, "esc": escalations, "rank": rank_at,
                "excl": exclude, "id": flag_id,
            },
        )  # fmt: skip
        flag = cur.fetchone()
    assert flag is not None
    return flag


def update_context(conn: Conn, flag_id: UUID, *, context: dict[str, Any], status: str) -> Flag:
    with conn.cursor(row_factory=class_row(Flag)) as cur:
        cur.execute(
            f"UPDATE review_flags SET context = %s, status = %s WHERE id = %s RETURNING {_FLAG}",  # noqa: S608  # nosec B608
            (Jsonb(context), status, flag_id),
        )
        flag = cur.fetchone()
    assert flag is not None
    return flag


def insert_decision(
    conn: Conn,
    *,
    flag: Flag,
    key_id: UUID,
    decision: str,
    rationale: str,
    policy_citation: str | None,
    final: bool,
) -> DecisionRecord:
    with conn.cursor(row_factory=class_row(DecisionRecord)) as cur:
        cur.execute(
            "INSERT INTO review_decisions (tenant_id, flag_id, reviewer_key_id, decision, rationale, "  # noqa: S608  # nosec B608
            f"policy_citation, final) VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING {_DECISION}",
            (flag.tenant_id, flag.id, key_id, decision, rationale, policy_citation, final),
        )
        record = cur.fetchone()
    assert record is not None
    return record


def decisions(conn: Conn, flag_id: UUID) -> list[DecisionRecord]:
    with conn.cursor(row_factory=class_row(DecisionRecord)) as cur:
        cur.execute(
            f"SELECT {_DECISION} FROM review_decisions WHERE flag_id = %s ORDER BY created_at, id",  # noqa: S608  # nosec B608
            (flag_id,),
        )
        return cur.fetchall()


def insert_appeal(
    conn: Conn, *, tenant_id: UUID, flag_id: UUID, appeal_flag_id: UUID, key_id: UUID, statement: str
) -> Appeal:
    with conn.cursor(row_factory=class_row(Appeal)) as cur:
        cur.execute(
            "INSERT INTO review_appeals (tenant_id, flag_id, appeal_flag_id, filed_by_key_id, statement) "  # noqa: S608  # nosec B608
            f"VALUES (%s, %s, %s, %s, %s) RETURNING {_APPEAL}",
            (tenant_id, flag_id, appeal_flag_id, key_id, statement),
        )
        appeal = cur.fetchone()
    assert appeal is not None
    return appeal


def open_appeal_for(
    conn: Conn, *, flag_id: UUID | None = None, appeal_flag_id: UUID | None = None
) -> Appeal | None:
    with conn.cursor(row_factory=class_row(Appeal)) as cur:
        cur.execute(
            f"SELECT {_APPEAL} FROM review_appeals WHERE status = 'open' AND "  # noqa: S608  # nosec B608
            "(flag_id = %s OR appeal_flag_id = %s) FOR UPDATE",
            (flag_id, appeal_flag_id),
        )
        return cur.fetchone()


def close_appeal(conn: Conn, appeal_id: UUID, status: str) -> None:
    conn.execute(
        "UPDATE review_appeals SET status = %s, decided_at = now() WHERE id = %s", (status, appeal_id)
    )


def counts(conn: Conn) -> dict[str, int]:
    row = conn.execute(
        "SELECT count(*) FILTER (WHERE status IN ('open', 'escalated') "
        "                          AND (leased_by IS NULL OR lease_expires_at < now())), "
        "       count(*) FILTER (WHERE status IN ('open', 'escalated') AND lease_expires_at >= now()), "
        "       count(*) FILTER (WHERE status = 'escalated'), "
        "       count(*) FILTER (WHERE status = 'needs_context'), "
        "       count(*) FILTER (WHERE status <> 'decided' AND due_at <= now()), "
        "       count(*) FILTER (WHERE status = 'decided' AND decided_at >= now() - interval '1 day') "
        "FROM review_flags"
    ).fetchone()
    assert row is not None
    names = ("waiting", "in_review", "escalated", "needs_context", "breached", "decided_24h")
    return dict(zip(names, (int(v) for v in row), strict=True))


def qa_pairs(conn: Conn) -> list[tuple[str, str, str]]:
    """(category, first label, second label) for each double-reviewed flag with two verdicts by
    different reviewers: the first two approve/reject decisions on it."""
    rows = conn.execute(
        """
        WITH v AS (
            SELECT f.category, d.flag_id, d.reviewer_key_id, d.decision,
                   row_number() OVER (PARTITION BY d.flag_id ORDER BY d.created_at, d.id) AS n
              FROM review_decisions d JOIN review_flags f ON f.id = d.flag_id
             WHERE f.double_review AND d.decision IN ('approve', 'reject')
        )
        SELECT a.category, a.decision, b.decision FROM v a JOIN v b
            ON a.flag_id = b.flag_id AND a.n = 1 AND b.n = 2 AND a.reviewer_key_id <> b.reviewer_key_id
        ORDER BY a.category
        """
    ).fetchall()
    return [(str(r[0]), str(r[1]), str(r[2])) for r in rows]


# --- sessions and preferences of the review pages ------------------------------------------


def create_session(conn: Conn, *, token_hash: bytes, key_id: UUID, csrf: str, ttl: timedelta) -> None:
    conn.execute("DELETE FROM review_sessions WHERE expires_at < now()")
    conn.execute(
        "INSERT INTO review_sessions (token_hash, key_id, csrf, expires_at) VALUES (%s, %s, %s, now() + %s)",
        (token_hash, key_id, csrf, ttl),
    )


def session(conn: Conn, token_hash: bytes) -> ReviewSession | None:
    """The live session with this cookie hash, whose key is not revoked."""
    with conn.cursor(row_factory=class_row(ReviewSession)) as cur:
        cur.execute(
            "SELECT s.key_id, k.tenant_id, k.role, k.prefix AS key_prefix, s.csrf, s.expires_at "
            "FROM review_sessions s JOIN api_keys k ON k.id = s.key_id "
            "WHERE s.token_hash = %s AND s.expires_at > now() AND k.revoked_at IS NULL",
            (token_hash,),
        )
        return cur.fetchone()


def delete_session(conn: Conn, token_hash: bytes) -> None:
    conn.execute("DELETE FROM review_sessions WHERE token_hash = %s", (token_hash,))


def media_mode(conn: Conn, key_id: UUID) -> str:
    row = conn.execute("SELECT media_mode FROM review_prefs WHERE key_id = %s", (key_id,)).fetchone()
    return "shielded" if row is None else str(row[0])


def set_media_mode(conn: Conn, *, key_id: UUID, tenant_id: UUID, mode: str) -> None:
    conn.execute(
        "INSERT INTO review_prefs (key_id, tenant_id, media_mode) VALUES (%s, %s, %s) "
        "ON CONFLICT (key_id) DO UPDATE SET media_mode = EXCLUDED.media_mode",
        (key_id, tenant_id, mode),
    )
