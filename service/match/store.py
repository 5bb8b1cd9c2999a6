"""SQL for banks, their signals and flood counting. The caller owns the transaction.

Bank writes take one advisory lock so signal ids become visible in id order (see the
migration): the index catches up by loading ``id > last loaded``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import psycopg
from psycopg.rows import class_row

from service.db import Conn
from service.errors import Conflict, NotFound
from service.match.model import Bank, BankKind, HashType, Signal, StoredSignal

_BANK_WRITE_LOCK = 0x42414E4B  # "BANK"


@dataclass(frozen=True, slots=True)
class SignalHit:
    """A bank entry the index found, joined with its bank (as the caller's tenant sees it)."""

    id: int
    signal: bytes
    labels: list[str]
    quarantined_at: datetime | None
    bank_id: UUID
    bank: str
    kind: str
    hash_type: str
    threshold: int
    bank_tenant_id: UUID | None


def lock_banks(conn: Conn) -> None:
    conn.execute("SELECT pg_advisory_xact_lock(%s)", (_BANK_WRITE_LOCK,))


def create_bank(
    conn: Conn, *, tenant_id: UUID | None, name: str, kind: BankKind, hash_type: HashType, threshold: int
) -> Bank:
    try:
        with conn.transaction(), conn.cursor(row_factory=class_row(Bank)) as cur:
            cur.execute(
                "INSERT INTO banks (tenant_id, name, kind, hash_type, threshold) VALUES (%s, %s, %s, %s, %s) "
                "RETURNING id, tenant_id, name, kind, hash_type, threshold, created_at, "
                "0 AS signals, 0 AS quarantined",
                (tenant_id, name, kind.value, hash_type.value, threshold),
            )
            bank = cur.fetchone()
    except psycopg.errors.UniqueViolation as exc:
        raise Conflict(f"A bank named {name!r} exists already; import into it or pick another name.") from exc
    if bank is None:
        raise NotFound("The new bank was not stored; retry.")
    return bank


def get_bank(conn: Conn, *, tenant_id: UUID | None, name: str) -> Bank:
    """The tenant's bank ``name`` (``tenant_id`` None: the system bank of that name)."""
    with conn.cursor(row_factory=class_row(Bank)) as cur:
        cur.execute(
            "SELECT b.id, b.tenant_id, b.name, b.kind, b.hash_type, b.threshold, b.created_at, "
            "(SELECT count(*) FROM bank_signals s WHERE s.bank_id = b.id)::int AS signals, "
            "(SELECT count(*) FROM bank_signals s "
            "WHERE s.bank_id = b.id AND s.quarantined_at IS NOT NULL)::int AS quarantined "
            "FROM banks b WHERE b.name = %s AND b.tenant_id IS NOT DISTINCT FROM %s",
            (name, tenant_id),
        )
        bank = cur.fetchone()
    if bank is None:
        owner = "system" if tenant_id is None else "this tenant"
        raise NotFound(
            f"No bank {name!r} for {owner}; create it first (POST /v1/banks or 'vigil bank create')."
        )
    return bank


def list_banks(conn: Conn, *, tenant_id: UUID | None) -> list[Bank]:
    """The tenant's banks followed by the system banks it consults."""
    with conn.cursor(row_factory=class_row(Bank)) as cur:
        cur.execute(
            "SELECT b.id, b.tenant_id, b.name, b.kind, b.hash_type, b.threshold, b.created_at, "
            "(SELECT count(*) FROM bank_signals s WHERE s.bank_id = b.id)::int AS signals, "
            "(SELECT count(*) FROM bank_signals s "
            "WHERE s.bank_id = b.id AND s.quarantined_at IS NOT NULL)::int AS quarantined "
            "FROM banks b WHERE b.tenant_id = %s OR b.tenant_id IS NULL "
            "ORDER BY b.tenant_id IS NULL, b.name",
            (tenant_id,),
        )
        return cur.fetchall()


def insert_signals(conn: Conn, bank: Bank, signals: Sequence[Signal]) -> int:
    """Add ``signals``; a hash already in the bank merges its labels. Returns how many are new.

    Rows are streamed with COPY into a temporary table and merged in one statement (an import of
    100,000 lines is one round trip, not 100,000). Labels are stored sorted and deduplicated.
    """
    lock_banks(conn)
    conn.execute(
        "CREATE TEMP TABLE IF NOT EXISTS bank_import "
        "(n int NOT NULL, signal bytea NOT NULL, labels text[] NOT NULL) ON COMMIT DROP"
    )
    conn.execute("TRUNCATE bank_import")
    with conn.cursor() as cur, cur.copy("COPY bank_import (n, signal, labels) FROM STDIN") as copy:
        for n, s in enumerate(signals):
            copy.write_row((n, s.value, list(s.labels)))
    row = conn.execute(
        "WITH merged AS ("
        "  SELECT i.signal, min(i.n) AS n,"
        "  coalesce(array_agg(DISTINCT l ORDER BY l) FILTER (WHERE l IS NOT NULL), '{}') AS labels"
        "  FROM bank_import i LEFT JOIN LATERAL unnest(i.labels) AS l ON true GROUP BY i.signal"
        "), written AS ("
        "  INSERT INTO bank_signals (bank_id, tenant_id, hash_type, signal, labels)"
        "  SELECT %s, %s, %s, signal, labels FROM merged ORDER BY n"
        "  ON CONFLICT (bank_id, signal) DO UPDATE SET labels ="
        "  ARRAY(SELECT DISTINCT unnest(bank_signals.labels || EXCLUDED.labels) ORDER BY 1)"
        "  RETURNING (xmax = 0) AS inserted"
        ") SELECT count(*) FILTER (WHERE inserted) FROM written",
        (bank.id, bank.tenant_id, bank.hash_type),
    ).fetchone()
    return int(row[0]) if row else 0


def bank_signals(conn: Conn, bank: Bank) -> list[StoredSignal]:
    with conn.cursor(row_factory=class_row(StoredSignal)) as cur:
        cur.execute(
            "SELECT id, bank_id, signal, labels, quarantined_at FROM bank_signals "
            "WHERE bank_id = %s ORDER BY id",
            (bank.id,),
        )
        return cur.fetchall()


def quarantined_signals(conn: Conn, bank: Bank, *, limit: int) -> list[StoredSignal]:
    """Entries flood quarantine disabled, most recent first (what an operator looks at)."""
    with conn.cursor(row_factory=class_row(StoredSignal)) as cur:
        cur.execute(
            "SELECT id, bank_id, signal, labels, quarantined_at FROM bank_signals "
            "WHERE bank_id = %s AND quarantined_at IS NOT NULL ORDER BY quarantined_at DESC, id LIMIT %s",
            (bank.id, limit),
        )
        return cur.fetchall()


def index_state(conn: Conn) -> dict[str, tuple[int, int]]:
    """Per hash type: (the newest signal id, the largest bank threshold). Needs a system() scope."""
    # ORDER BY id DESC LIMIT 1 walks the (hash_type, id) index backwards and stops at the first
    # visible row; max(id) under row-level security may scan every signal of the type instead.
    rows = conn.execute(
        "SELECT b.hash_type, "
        "coalesce((SELECT s.id FROM bank_signals s WHERE s.hash_type = b.hash_type "
        "ORDER BY s.id DESC LIMIT 1), 0), "
        "max(b.threshold) FROM banks b GROUP BY b.hash_type"
    ).fetchall()
    return {str(r[0]): (int(r[1]), int(r[2])) for r in rows}


def signals_after(conn: Conn, hash_type: HashType, after: int, limit: int) -> tuple[list[int], bytes]:
    """The next ``limit`` entries after id ``after``: their ids, and their hashes concatenated.

    One row per page rather than one per entry, so loading 10 M entries is not 10 M Python tuples.
    """
    row = conn.execute(
        "SELECT coalesce(array_agg(id ORDER BY id), '{}'), "
        "coalesce(string_agg(signal, ''::bytea ORDER BY id), '') FROM "
        "(SELECT id, signal FROM bank_signals WHERE hash_type = %s AND id > %s ORDER BY id LIMIT %s) page",
        (hash_type.value, after, limit),
    ).fetchone()
    if row is None:
        return [], b""
    return [int(i) for i in row[0]], bytes(row[1])


def signal_hex(conn: Conn, signal_id: int) -> str | None:
    """The hash of entry ``signal_id`` in hex, or None when there is no such entry."""
    row = conn.execute(
        "SELECT encode(signal, 'hex') FROM bank_signals WHERE id = %s", (signal_id,)
    ).fetchone()
    return str(row[0]) if row else None


def signal_hits(conn: Conn, ids: Sequence[int], *, tenant_id: UUID | None) -> list[SignalHit]:
    """The entries ``ids`` that belong to the tenant's banks or to system banks."""
    with conn.cursor(row_factory=class_row(SignalHit)) as cur:
        cur.execute(
            "SELECT s.id, s.signal, s.labels, s.quarantined_at, b.id AS bank_id, b.name AS bank, "
            "b.kind, b.hash_type, "
            "b.threshold, b.tenant_id AS bank_tenant_id FROM bank_signals s JOIN banks b ON b.id = s.bank_id "
            "WHERE s.id = ANY(%s) AND (b.tenant_id = %s OR b.tenant_id IS NULL)",
            (list(ids), tenant_id),
        )
        return cur.fetchall()


def record_hits(conn: Conn, ids: Sequence[int], *, item: str, window_s: float) -> dict[int, int]:
    """Count ``item`` against each entry; returns distinct items per entry within the window."""
    if not ids:
        return {}
    conn.execute(
        "DELETE FROM match_hits WHERE signal_id = ANY(%s) AND at < now() - make_interval(secs => %s)",
        (list(ids), window_s),
    )
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO match_hits (signal_id, item) VALUES (%s, %s) "
            "ON CONFLICT (signal_id, item) DO UPDATE SET at = now()",
            [(i, item) for i in ids],
        )
    rows = conn.execute(
        "SELECT signal_id, count(*) FROM match_hits WHERE signal_id = ANY(%s) GROUP BY signal_id",
        (list(ids),),
    ).fetchall()
    return {int(r[0]): int(r[1]) for r in rows}


def quarantine(conn: Conn, ids: Sequence[int]) -> list[int]:
    """Disable entries; returns those newly quarantined."""
    rows = conn.execute(
        "UPDATE bank_signals SET quarantined_at = now() "
        "WHERE id = ANY(%s) AND quarantined_at IS NULL RETURNING id",
        (list(ids),),
    ).fetchall()
    return [int(r[0]) for r in rows]


def release(conn: Conn, bank: Bank, signal: bytes) -> bool:
    """Lift the quarantine of one entry and forget its counted items; False if it was not quarantined."""
    row = conn.execute(
        "UPDATE bank_signals SET quarantined_at = NULL WHERE bank_id = %s AND signal = %s "
        "AND quarantined_at IS NOT NULL RETURNING id",
        (bank.id, signal),
    ).fetchone()
    if row is None:
        return False
    conn.execute("DELETE FROM match_hits WHERE signal_id = %s", (row[0],))
    return True


def withdraw(conn: Conn, bank: Bank, label: str, *, owner_prefix: str) -> int:
    """Take ``label`` off the bank's entries, and delete those of them left with no label starting
    with ``owner_prefix`` (no other owner keeps them). Returns how many entries were deleted."""
    lock_banks(conn)
    touched = conn.execute(
        "UPDATE bank_signals SET labels = array_remove(labels, %s) WHERE bank_id = %s AND %s = ANY(labels) "
        "RETURNING id, labels",
        (label, bank.id, label),
    ).fetchall()
    orphans = [int(r[0]) for r in touched if not any(str(x).startswith(owner_prefix) for x in r[1])]
    if orphans:
        conn.execute("DELETE FROM bank_signals WHERE id = ANY(%s)", (orphans,))
    return len(orphans)
