"""SQL for the transparency log. The caller owns the transaction."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from service.audit.merkle import Node
from service.db import Conn

_LOG_LOCK = 0x4C4F47  # "LOG": every writer takes it, so the log has one linear order


def lock(conn: Conn) -> None:
    """Serialise log writers until the caller's transaction ends."""
    conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOG_LOCK,))


def size(conn: Conn) -> int:
    """The current tree size: leaves committed and visible to this statement.

    Counted from the tree's leaf hashes, not from the entries, so an entry deleted behind the
    application's back leaves a gap auditors see (and later appends do not reuse its index).
    """
    row = conn.execute("SELECT coalesce(max(idx) + 1, 0) FROM audit_nodes WHERE level = 0").fetchone()
    return int(row[0]) if row else 0


def nodes(conn: Conn, wanted: Iterable[Node]) -> dict[Node, bytes]:
    keys = sorted(wanted)
    if not keys:
        return {}
    rows = conn.execute(
        "SELECT n.level, n.idx, n.hash FROM unnest(%s::smallint[], %s::bigint[]) AS w(level, idx) "
        "JOIN audit_nodes n ON n.level = w.level AND n.idx = w.idx",
        ([k[0] for k in keys], [k[1] for k in keys]),
    ).fetchall()
    return {(int(r[0]), int(r[1])): bytes(r[2]) for r in rows}


def insert_appended(
    conn: Conn,
    start: int,
    entries: Sequence[tuple[bytes, str]],
    new: Sequence[tuple[Node, bytes]],
    queue_ids: Sequence[int | None] | None = None,
) -> None:
    """The entries from index ``start`` and the tree nodes they complete, in one statement."""
    conn.execute(
        "WITH appended AS (INSERT INTO audit_entries (idx, entry, event, queue_id) "
        "SELECT * FROM unnest(%s::bigint[], %s::bytea[], %s::text[], %s::bigint[])) "
        "INSERT INTO audit_nodes (level, idx, hash) "
        "SELECT * FROM unnest(%s::smallint[], %s::bigint[], %s::bytea[])",
        (
            list(range(start, start + len(entries))),
            [e[0] for e in entries],
            [e[1] for e in entries],
            list(queue_ids) if queue_ids is not None else [None] * len(entries),
            [n[0][0] for n in new],
            [n[0][1] for n in new],
            [n[1] for n in new],
        ),
    )


ENQUEUE_ONE = "INSERT INTO audit_queue (entry, event) VALUES (%s, %s) RETURNING id"


def enqueue(conn: Conn, entries: Sequence[tuple[bytes, str]]) -> list[int]:
    """Queue canonical events for the sequencer; their receipts, in order."""
    if len(entries) == 1:  # the common case (one event per change): the plainest statement
        row = conn.execute(ENQUEUE_ONE, entries[0]).fetchone()
        return [int(row[0])] if row else []
    rows = conn.execute(
        "INSERT INTO audit_queue (entry, event) SELECT * FROM unnest(%s::bytea[], %s::text[]) RETURNING id",
        ([e[0] for e in entries], [e[1] for e in entries]),
    ).fetchall()
    return sorted(int(r[0]) for r in rows)


def take_queued(conn: Conn, limit: int) -> list[tuple[int, bytes, str, float]]:
    """Up to ``limit`` committed queued events, oldest first, removed from the queue in this
    transaction (put back if it rolls back): (receipt, entry, event, seconds it waited)."""
    rows = conn.execute(
        "DELETE FROM audit_queue WHERE id IN "
        "(SELECT id FROM audit_queue ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED) "
        "RETURNING id, entry, event, extract(epoch FROM clock_timestamp() - queued_at)",
        (limit,),
    ).fetchall()
    return sorted((int(r[0]), bytes(r[1]), str(r[2]), float(r[3])) for r in rows)


def queue_state(conn: Conn) -> tuple[int, float]:
    """How many events wait, and how long the oldest has waited (seconds)."""
    row = conn.execute(
        "SELECT count(*), coalesce(extract(epoch FROM clock_timestamp() - min(queued_at)), 0) "
        "FROM audit_queue"
    ).fetchone()
    return (int(row[0]), float(row[1])) if row else (0, 0.0)


def index_of_receipt(conn: Conn, receipt: int) -> int | None:
    """The log index the queued event ``receipt`` got, or None while it waits."""
    row = conn.execute("SELECT idx FROM audit_entries WHERE queue_id = %s", (receipt,)).fetchone()
    return int(row[0]) if row else None


def entries(conn: Conn, start: int, end: int) -> list[tuple[int, bytes]]:
    rows = conn.execute(
        "SELECT idx, entry FROM audit_entries WHERE idx >= %s AND idx < %s ORDER BY idx", (start, end)
    ).fetchall()
    return [(int(r[0]), bytes(r[1])) for r in rows]


def checkpoint_note(conn: Conn, tree_size: int) -> str | None:
    row = conn.execute("SELECT note FROM audit_checkpoints WHERE size = %s", (tree_size,)).fetchone()
    return str(row[0]) if row else None


def checkpoint_notes(conn: Conn, *, limit: int = 10_000) -> list[str]:
    """Every signed checkpoint Vigil has issued, oldest first (the newest ``limit``)."""
    rows = conn.execute(
        "SELECT note FROM (SELECT size, note FROM audit_checkpoints ORDER BY size DESC LIMIT %s) c "
        "ORDER BY size",
        (limit,),
    ).fetchall()
    return [str(r[0]) for r in rows]


def save_checkpoint(conn: Conn, tree_size: int, root: bytes, note: str) -> None:
    conn.execute(
        "INSERT INTO audit_checkpoints (size, root, note) VALUES (%s, %s, %s) ON CONFLICT (size) DO NOTHING",
        (tree_size, root, note),
    )


def cosignature_lines(conn: Conn, tree_size: int) -> list[str]:
    rows = conn.execute(
        "SELECT line FROM audit_cosignatures WHERE size = %s ORDER BY witness", (tree_size,)
    ).fetchall()
    return [str(r[0]) for r in rows]


def save_cosignature(conn: Conn, tree_size: int, witness: str, line: str) -> None:
    conn.execute(
        "INSERT INTO audit_cosignatures (size, witness, line) VALUES (%s, %s, %s) "
        "ON CONFLICT (size, witness) DO UPDATE SET line = excluded.line, created_at = now()",
        (tree_size, witness, line),
    )
