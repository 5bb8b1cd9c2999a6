"""Concurrent reviewers never get the same flag: threads, each on its own pooled connection."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta
from uuid import UUID

from service.auth import Role
from service.auth import store as auth_store
from service.review import queue
from service.services import Services
from tests.review.helpers import tenant_id


def test_no_double_claims_under_concurrency(services: Services) -> None:
    tid = tenant_id(services)
    with services.db.tenant(tid) as conn:
        for i in range(300):
            queue.create_flag(
                conn, tenant_id=tid, source_kind="check", source_id=f"c{i}", category="war_glorification",
                reasons=[], context={}, policy=services.review_policy,
            )  # fmt: skip
    with services.db.system() as conn:
        keys = [auth_store.create_key(conn, tenant_name="acme", role=Role.REVIEWER).key.id for _ in range(8)]
    claimed: list[UUID] = []
    lock = threading.Lock()
    start = threading.Barrier(len(keys))

    def work(key: UUID) -> None:
        start.wait()
        while True:
            with services.db.tenant(tid) as conn:
                flag = queue.claim(conn, tenant_id=tid, reviewer=key, lease=timedelta(minutes=10))
            if flag is None:
                return
            with lock:
                claimed.append(flag.id)

    threads = [threading.Thread(target=work, args=(k,)) for k in keys]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    counts = Counter(claimed)
    assert len(claimed) == 300
    assert max(counts.values()) == 1
