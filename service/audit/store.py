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
    conn: Conn, start: int, entries: Sequence[tuple[bytes, str]], new: Sequence[tuple[Node, bytes]]
) -> None:
    """The entries from index ``start`` and the tree nodes they complete, in one statement."""
    conn.execute(
        "WITH appended AS (INSERT INTO audit_entries (idx, entry, event) "
        "SELECT * FROM unnest(%s::bigint[], %s::bytea[], %s::text[])) "
        "INSERT INTO audit_nodes (level, idx, hash) "
        "SELECT * FROM unnest(%s::smallint[], %s::bigint[], %s::bytea[])",
        (
            list(range(start, start + len(entries))),
            [e[0] for e in entries],
            [e[1] for e in entries],
            [n[0][0] for n in new],
            [n[0][1] for n in new],
            [n[1] for n in new],
        ),
    )


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
