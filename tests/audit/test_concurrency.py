"""Concurrent writers, each in its own transaction, never fork the log: queued events (and
events appended at once beside them) end up in one dense tree, aborted ones never."""

from __future__ import annotations

import threading
from uuid import uuid4

from service.audit import Event, EventName, append, append_many, merkle, store
from service.audit import log as audit_log
from service.audit.sources import build_levels
from tests.audit import rfc9162

WRITERS = 6


class Aborted(Exception):
    pass


ROUNDS = 15


def test_concurrent_writers_keep_one_dense_consistent_tree(services):
    tenant = uuid4()
    got: list[tuple[str, int]] = []
    errors: list[BaseException] = []
    lock = threading.Lock()
    start = threading.Barrier(WRITERS)

    def writer(w: int) -> None:
        try:
            start.wait()
            for r in range(ROUNDS):
                try:
                    with services.db.system() as conn:
                        if r % 3 == 0:  # appended at once, the log's lock held to commit
                            events = [
                                Event(EventName.FLAG_CREATED, f"f{w}_{r}_{i}", tenant) for i in range(3)
                            ]
                            ids = [("index", i) for i in append_many(conn, events)]
                        else:  # queued: a receipt now, an index once the sequencer integrates it
                            receipt = append(conn, Event(EventName.FLAG_DECIDED, f"f{w}_{r}", tenant))
                            ids = [("receipt", receipt)]
                            if r % 4 == 1:  # the sequencer runs between the writers' commits
                                audit_log.integrate(conn)
                        if r % 5 == 4:
                            raise Aborted  # an aborted change takes its events with it
                except Aborted:
                    continue
                with lock:
                    got.extend(ids)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(WRITERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    with services.db.system() as conn:
        audit_log.integrate_all(conn)
    with services.db.system() as conn:
        size = store.size(conn)
        indices = [i if kind == "index" else store.index_of_receipt(conn, i) for kind, i in got]
        entries = [e for _, e in store.entries(conn, 0, size)]
        root = audit_log.root(conn, size)
        middle = audit_log.root(conn, size // 2)
        proof = audit_log.consistency_proof(conn, size // 2, size)
    assert sorted(i for i in indices if i is not None) == list(range(size))  # dense, each once
    assert None not in indices  # every committed event was integrated
    with services.db.system() as conn:
        assert store.queue_state(conn)[0] == 0  # aborted events left nothing queued
    assert len(entries) == size
    assert root == rfc9162.mth(entries)  # the stored tree is the tree of the stored entries
    assert rfc9162.verify_consistency(size // 2, size, middle, root, proof)
    levels = build_levels([merkle.leaf_hash(e) for e in entries])
    with services.db.system() as conn:
        stored = store.nodes(conn, {(lv, i) for lv in range(len(levels)) for i in range(len(levels[lv]))})
    assert all(stored[(lv, i)] == h for lv, row in enumerate(levels) for i, h in enumerate(row))
