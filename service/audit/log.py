"""Appending to the transparency log, in the caller's transaction, and reading proofs from it.

``append(conn, event)`` queues the event in the same transaction as the change it records (no
change without its event, no event without its change) and returns its receipt at once; no
lock is taken, so writers never wait on each other. ``integrate`` (the sequencer, and anyone
about to sign a checkpoint) moves committed queued events into the tree in batches under one
advisory lock, so the log keeps a single linear order and its indices stay dense. An event is
part of the tamper-evident log once integrated, which the next checkpoint then covers; the
queue's wait is a figure of its own (``queue_state``).

``append_now`` integrates at once and returns the entry's index, holding the lock until the
caller's transaction ends: only for the rare event whose index the caller must record (a signed
asset's manifest names its log entry).

The tree's perfect-subtree hashes are written by the same statement batch as the entries
(``merkle.extend`` from the stored right frontier): whatever size a reader sees, every node
that size needs is already committed, so a checkpoint is always over exactly the entries it
counts, and proofs are O(log n) indexed reads.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from service.audit import merkle, store
from service.audit.events import Event
from service.db import Conn
from service.errors import OutOfRange, Unavailable

DAMAGED = "The log's stored tree is missing subtree hashes; restore the database from a backup."


INTEGRATE_BATCH = 5000  # queued events integrated per transaction


@dataclass(frozen=True, slots=True)
class Integrated:
    """What one ``integrate`` call did: entries added and the longest wait among them."""

    count: int = 0
    longest_wait_s: float = 0.0


def append(conn: Conn, event: Event) -> int:
    """Queue ``event`` in the caller's transaction; returns its receipt (the queue id)."""
    return store.enqueue(conn, [(event.canonical(), event.name.value)])[0]


def append_now(conn: Conn, event: Event) -> int:
    """Integrate what is queued, then ``event``; its index is final once the caller commits."""
    integrate(conn)
    return append_many(conn, [event])[0]


def integrate(conn: Conn, limit: int = INTEGRATE_BATCH) -> Integrated:
    """Move up to ``limit`` queued events into the tree, oldest receipt first."""
    store.lock(conn)
    queued = store.take_queued(conn, limit)
    if not queued:
        return Integrated()
    _extend(conn, [(q[1], q[2]) for q in queued], [q[0] for q in queued])
    return Integrated(len(queued), max(q[3] for q in queued))


def integrate_all(conn: Conn) -> int:
    """Integrate everything queued and committed (before a checkpoint is signed)."""
    total = 0
    while (done := integrate(conn)).count:
        total += done.count
        if done.count < INTEGRATE_BATCH:
            break
    return total


def append_many(conn: Conn, events: Sequence[Event]) -> list[int]:
    """Append ``events`` in order with one frontier read and one insert; returns their indices."""
    if not events:
        return []
    store.lock(conn)
    return _extend(conn, [(event.canonical(), event.name.value) for event in events], None)


def _extend(conn: Conn, payloads: list[tuple[bytes, str]], receipts: list[int] | None) -> list[int]:
    start = store.size(conn)
    frontier_nodes = merkle.chunks(0, start)
    found = store.nodes(conn, frontier_nodes)
    if len(found) != len(frontier_nodes):
        raise Unavailable(DAMAGED)
    frontier = [(node, found[node]) for node in frontier_nodes]
    created = merkle.extend(frontier, [merkle.leaf_hash(p[0]) for p in payloads], start)
    store.insert_appended(conn, start, payloads, created, receipts)
    return list(range(start, start + len(payloads)))


def missing_frontier(conn: Conn) -> int:
    """How many right-edge subtree hashes the next append needs but the store lacks (0 = sound)."""
    wanted = merkle.chunks(0, store.size(conn))
    return len(wanted) - len(store.nodes(conn, wanted))


def tree_size(conn: Conn) -> int:
    return store.size(conn)


def _check_size(requested: int, current: int, what: str) -> None:
    if not 0 <= requested <= current:
        raise OutOfRange(
            f"{what} {requested} is outside the tree: valid sizes are 0..{current}.",
            details={"min": 0, "max": current},
        )


def root(conn: Conn, size: int, *, current: int | None = None) -> bytes:
    """MTH of the first ``size`` entries (RFC 9162 §2.1.1)."""
    _check_size(size, store.size(conn) if current is None else current, "size")
    if size == 0:
        return merkle.EMPTY_ROOT
    return _hashes(conn, merkle.root_ranges(size))[0]


def inclusion_proof(conn: Conn, index: int, size: int) -> list[bytes]:
    """The audit path of entry ``index`` in the tree of ``size`` entries (§2.1.3.1)."""
    _check_size(size, store.size(conn), "size")
    if not 0 <= index < size:
        raise OutOfRange(
            f"index {index} is outside a tree of size {size}: valid indices are 0..{size - 1}.",
            details={"min": 0, "max": size - 1},
        )
    return _hashes(conn, merkle.inclusion_ranges(index, size))


def consistency_proof(conn: Conn, first: int, second: int) -> list[bytes]:
    """The proof that the tree of ``second`` entries extends the one of ``first`` (§2.1.4.1)."""
    _check_size(second, store.size(conn), "second")
    if not 0 <= first <= second:
        raise OutOfRange(
            f"first {first} must be within 0..{second} (the second size).", details={"min": 0, "max": second}
        )
    return _hashes(conn, merkle.consistency_ranges(first, second))


def entries(conn: Conn, start: int, end: int, *, limit: int) -> list[tuple[int, bytes]]:
    """Entries ``[start, end)`` (at most ``limit``; ``end`` is clipped to the tree)."""
    current = store.size(conn)
    if not 0 <= start < current or end <= start:
        raise OutOfRange(
            f"start {start} and end {end} do not select entries: the log holds 0..{current - 1} "
            "and end is exclusive.",
            details={"min": 0, "max": current},
        )
    return store.entries(conn, start, min(end, current, start + limit))


def _hashes(conn: Conn, ranges: list[merkle.Range]) -> list[bytes]:
    wanted = merkle.nodes_for(ranges)
    found = store.nodes(conn, wanted)
    if len(found) != len(wanted):
        raise Unavailable(DAMAGED)
    return [merkle.range_hash(r, found) for r in ranges]
