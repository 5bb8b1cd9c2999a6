"""Appending to the transparency log, in the caller's transaction.

``append(conn, event)`` writes the event in the same transaction as the change it records (no
change without its event, no event without its change) and returns the entry's index. Writers
are serialised on one advisory lock so the log has a single linear order.
"""

from __future__ import annotations

from service.audit.events import Event
from service.db import Conn

_LOG_LOCK = 0x4C4F47  # "LOG"


def append(conn: Conn, event: Event) -> int:
    """Append ``event``; the index it gets is final once the caller's transaction commits."""
    conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOG_LOCK,))
    row = conn.execute(
        "INSERT INTO audit_entries (idx, entry, event, tenant_id) "
        "SELECT coalesce(max(idx) + 1, 0), %s, %s, %s FROM audit_entries RETURNING idx",
        (event.canonical(), event.name.value, event.tenant_id),
    ).fetchone()
    if row is None:
        raise RuntimeError("the audit entry was not written")
    return int(row[0])
