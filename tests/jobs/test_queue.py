"""Queue semantics against the real schema: claims, leases, retries, dead letters, dedupe."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from uuid import UUID

import psycopg
import pytest

from service.auth import store as auth_store
from service.errors import LeaseLost, MalformedRequest
from service.jobs import (
    Backoff,
    HandlerRegistry,
    Job,
    JobContext,
    JobState,
    Worker,
    WorkerThread,
    build_registry,
    enqueue,
    store,
)
from service.services import Services


def tenant(services: Services, name: str = "acme") -> UUID:
    with services.db.system() as conn:
        return auth_store.ensure_tenant(conn, name).id


def get(services: Services, job_id: UUID) -> Job:
    with services.db.system() as conn:
        job = store.get(conn, job_id)
    assert job is not None
    return job


def test_enqueue_claim_complete(services: Services) -> None:
    acme = tenant(services)
    with services.db.tenant(acme) as conn:
        queued = enqueue(conn, "noop", {"n": 1}, tenant_id=acme)
    assert queued.state is JobState.QUEUED
    assert queued.attempt == 0
    with services.db.system() as conn:
        job = store.claim(conn, worker_id="w1", lease_s=30, kinds=["noop"])
    assert job is not None
    assert job.id == queued.id
    assert job.state is JobState.RUNNING
    assert job.attempt == 1
    assert job.worker_id == "w1"
    assert job.payload == {"n": 1}
    with services.db.system() as conn:
        assert store.claim(conn, worker_id="w2", lease_s=30, kinds=["noop"]) is None
        store.complete(conn, job, worker_id="w1")
    done = get(services, job.id)
    assert done.state is JobState.DONE
    assert done.finished_at is not None


def test_enqueue_rolls_back_with_the_callers_transaction(services: Services) -> None:
    acme = tenant(services)

    def caller() -> None:
        with services.db.tenant(acme) as conn:
            enqueue(conn, "noop", {}, tenant_id=acme)
            raise RuntimeError("the caller's own write failed")

    with pytest.raises(RuntimeError):
        caller()
    with services.db.system() as conn:
        assert store.counts(conn)[JobState.QUEUED] == 0


def test_dedupe_key_returns_the_first_job(services: Services) -> None:
    acme, other = tenant(services), tenant(services, "other")
    with services.db.tenant(acme) as conn:
        first = enqueue(conn, "noop", {"n": 1}, tenant_id=acme, dedupe_key="gen-1")
        again = enqueue(conn, "noop", {"n": 2}, tenant_id=acme, dedupe_key="gen-1")
        different = enqueue(conn, "noop", {"n": 3}, tenant_id=acme, dedupe_key="gen-2")
    with services.db.tenant(other) as conn:
        theirs = enqueue(conn, "noop", {"n": 4}, tenant_id=other, dedupe_key="gen-1")
    assert again.id == first.id
    assert again.payload == {"n": 1}
    assert different.id != first.id
    assert theirs.id != first.id


def test_jobs_are_tenant_scoped(services: Services) -> None:
    acme, other = tenant(services), tenant(services, "other")
    with services.db.tenant(acme) as conn:
        mine = enqueue(conn, "noop", {}, tenant_id=acme)
    with services.db.tenant(other) as conn:
        assert store.get(conn, mine.id) is None
    with services.db.tenant(acme) as conn:
        assert store.get(conn, mine.id) is not None


def test_a_tenant_cannot_queue_work_for_another(services: Services) -> None:
    acme, other = tenant(services), tenant(services, "other")
    with pytest.raises(psycopg.errors.InsufficientPrivilege), services.db.tenant(acme) as conn:
        enqueue(conn, "noop", {}, tenant_id=other)  # row-level security refuses the row


def test_run_after_delays_the_job(services: Services) -> None:
    acme = tenant(services)
    with services.db.tenant(acme) as conn:
        enqueue(conn, "noop", {}, tenant_id=acme, run_after=timedelta(hours=1))
    with services.db.system() as conn:
        assert store.claim(conn, worker_id="w", lease_s=30, kinds=["noop"]) is None


def test_concurrent_claimers_never_take_the_same_job(services: Services) -> None:
    acme = tenant(services)
    total = 60
    with services.db.tenant(acme) as conn:
        for i in range(total):
            enqueue(conn, "noop", {"i": i}, tenant_id=acme)
    claimed: list[list[UUID]] = [[] for _ in range(4)]

    def claimer(slot: int) -> None:
        while True:
            with services.db.system() as conn:
                job = store.claim(conn, worker_id=f"w{slot}", lease_s=30, kinds=["noop"])
                if job is None:
                    return
                time.sleep(0.002)  # hold the row lock a moment so the others must skip it
            claimed[slot].append(job.id)

    threads = [threading.Thread(target=claimer, args=(slot,)) for slot in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    every = [job_id for ids in claimed for job_id in ids]
    assert len(every) == total
    assert len(set(every)) == total
    assert sum(1 for ids in claimed if ids) >= 2  # the work was really shared


def test_expired_lease_is_reclaimed_and_the_old_holder_cannot_complete(services: Services) -> None:
    acme = tenant(services)
    with services.db.tenant(acme) as conn:
        enqueue(conn, "noop", {}, tenant_id=acme)
    with services.db.system() as conn:
        first = store.claim(conn, worker_id="dead-worker", lease_s=0.2, kinds=["noop"])
    assert first is not None
    with services.db.system() as conn:
        assert store.requeue_expired(conn) == []  # the lease still runs
    time.sleep(0.3)
    with services.db.system() as conn:
        assert [j.state for j in store.requeue_expired(conn)] == [JobState.QUEUED]
        second = store.claim(conn, worker_id="live-worker", lease_s=30, kinds=["noop"])
    assert second is not None
    assert second.id == first.id
    assert second.attempt == 2
    assert second.last_error == "lease expired: worker dead-worker stopped answering"
    with pytest.raises(LeaseLost), services.db.system() as conn:
        store.complete(conn, first, worker_id="dead-worker")
    with services.db.system() as conn:
        store.complete(conn, second, worker_id="live-worker")
    assert get(services, first.id).state is JobState.DONE


def test_heartbeat_keeps_a_long_job_leased(services: Services) -> None:
    """A handler running past its lease keeps the job: the heartbeat renews it."""
    acme = tenant(services)
    seen: list[int] = []

    def slow(job: Job, ctx: JobContext) -> None:
        time.sleep(1.5)  # two and a half leases long
        with ctx.db.system() as conn:
            seen.append(len(store.requeue_expired(conn)))

    registry = HandlerRegistry()
    registry.register("slow", slow)
    worker = Worker(db=services.db, services=None, registry=registry, lease_s=0.6, poll_s=0.05)
    with services.db.tenant(acme) as conn:
        job = enqueue(conn, "slow", {}, tenant_id=acme)
    try:
        assert worker.run_pending() == 1
    finally:
        worker.close()
    assert seen == [0]
    finished = get(services, job.id)
    assert finished.state is JobState.DONE
    assert finished.attempt == 1


def test_failures_retry_with_backoff_then_dead_letter(services: Services) -> None:
    acme = tenant(services)
    registry = build_registry(["tests.jobs.handlers"])
    worker = Worker(
        db=services.db, services=None, registry=registry, lease_s=30, backoff=Backoff(base_s=0.2, max_s=1)
    )
    with services.db.tenant(acme) as conn:
        job = enqueue(conn, "test.fails", {}, tenant_id=acme, max_attempts=3)
    delays = []
    try:
        for attempt in (1, 2):
            assert worker.run_pending() == 1
            failed = get(services, job.id)
            assert failed.state is JobState.QUEUED
            assert failed.attempt == attempt
            assert failed.last_error == f"RuntimeError: boom at attempt {attempt}"
            delays.append((failed.run_after - failed.updated_at).total_seconds())
            assert worker.run_pending() == 0  # not before its backoff
            time.sleep(delays[-1] + 0.05)
        assert worker.run_pending() == 1
    finally:
        worker.close()
    dead = get(services, job.id)
    assert dead.state is JobState.DEAD
    assert dead.attempt == 3
    assert dead.last_error == "RuntimeError: boom at attempt 3"
    assert 0.1 <= delays[0] <= 0.2  # base × U(0.5, 1)
    assert 0.2 <= delays[1] <= 0.4  # doubled


def fails_once_only(job: Job, ctx: JobContext) -> None:
    raise RuntimeError("no")


def test_the_kinds_max_attempts_caps_the_jobs(services: Services) -> None:
    acme = tenant(services)
    registry = HandlerRegistry()
    registry.register("once", fails_once_only, max_attempts=1)
    worker = Worker(db=services.db, services=None, registry=registry, lease_s=30)
    with services.db.tenant(acme) as conn:
        job = enqueue(conn, "once", {}, tenant_id=acme)  # the default allows 5
    try:
        worker.run_pending()
    finally:
        worker.close()
    dead = get(services, job.id)
    assert dead.state is JobState.DEAD
    assert dead.attempt == 1
    assert dead.last_error == "RuntimeError: no"


def test_bad_input_goes_to_the_dead_letter_at_once(services: Services) -> None:
    acme = tenant(services)
    worker = Worker(db=services.db, services=None, registry=build_registry(), lease_s=30)
    with services.db.tenant(acme) as conn:
        job = enqueue(conn, "sleep", {"seconds": "forever"}, tenant_id=acme, max_attempts=5)
    try:
        worker.run_pending()
    finally:
        worker.close()
    dead = get(services, job.id)
    assert dead.state is JobState.DEAD
    assert dead.attempt == 1
    assert dead.last_error is not None
    assert dead.last_error.startswith("malformed_request: sleep: 'seconds' must be a number")


def test_lease_lost_inside_completing_rolls_back_the_effects(services: Services) -> None:
    acme = tenant(services)
    with services.db.tenant(acme) as conn:
        job = enqueue(conn, "noop", {}, tenant_id=acme)
    with services.db.system() as conn:
        claimed = store.claim(conn, worker_id="w1", lease_s=30, kinds=["noop"])
    assert claimed is not None
    with services.db.system() as conn:  # another worker took it over meanwhile
        conn.execute("UPDATE jobs SET worker_id = 'w2' WHERE id = %s", (job.id,))
    ctx = JobContext(db=services.db, job=claimed, worker_id="w1", services=None, stopping=threading.Event())
    with pytest.raises(LeaseLost), ctx.completing() as conn:
        enqueue(conn, "noop", {}, tenant_id=acme, dedupe_key="effect-of-w1")
    with services.db.system() as conn:
        found = conn.execute("SELECT count(*) FROM jobs WHERE dedupe_key = 'effect-of-w1'").fetchone()
    assert found == (0,)
    assert ctx.completed is False


def test_periodic_task_runs_once_per_period_across_workers(services: Services) -> None:
    runs: list[str] = []
    registry = HandlerRegistry()
    registry.every("checkpoint", 60, lambda conn, services: runs.append("ran"))
    one = Worker(db=services.db, services=None, registry=registry, poll_s=0.01)
    two = Worker(db=services.db, services=None, registry=registry, poll_s=0.01)
    try:
        one.run_pending()
        two.run_pending()
        time.sleep(0.05)
        one.run_pending()
    finally:
        one.close()
        two.close()
    assert runs == ["ran"]


def test_registry_refuses_duplicates_and_bad_names() -> None:
    registry = HandlerRegistry()
    registry.register("noop", lambda job, ctx: None)
    with pytest.raises(Exception, match="Two handlers"):
        registry.register("noop", lambda job, ctx: None)
    with pytest.raises(Exception, match="lower-case"):
        registry.register("Bad Kind", lambda job, ctx: None)


def test_enqueue_refuses_zero_attempts(services: Services) -> None:
    acme = tenant(services)
    with pytest.raises(MalformedRequest), services.db.tenant(acme) as conn:
        enqueue(conn, "noop", {}, tenant_id=acme, max_attempts=0)


def broken_task(conn: object, services: object) -> None:
    raise RuntimeError("checkpoint key missing")


def test_a_failing_periodic_task_is_recorded_and_the_worker_goes_on(services: Services) -> None:
    acme = tenant(services)
    registry = build_registry()
    registry.every("broken", 60, broken_task)
    worker = Worker(db=services.db, services=None, registry=registry, poll_s=0.01)
    with services.db.tenant(acme) as conn:
        job = enqueue(conn, "noop", {}, tenant_id=acme)
    try:
        assert worker.run_pending() == 1
    finally:
        worker.close()
    assert get(services, job.id).state is JobState.DONE
    with services.db.system() as conn:
        row = conn.execute("SELECT last_error FROM job_schedules WHERE name = 'broken'").fetchone()
    assert row == ("RuntimeError: checkpoint key missing",)


def test_the_worker_loop_survives_a_database_fault(services: Services, database_url: str) -> None:
    acme = tenant(services)
    thread = WorkerThread(Worker(db=services.db, services=None, registry=build_registry(), poll_s=0.05))
    with psycopg.connect(database_url, autocommit=True) as admin:
        admin.execute("ALTER TABLE jobs RENAME TO jobs_away")  # every claim now fails
        thread.start()
        time.sleep(0.4)
        admin.execute("ALTER TABLE jobs_away RENAME TO jobs")
    with services.db.tenant(acme) as conn:
        job = enqueue(conn, "noop", {}, tenant_id=acme)
    deadline = time.monotonic() + 15
    while get(services, job.id).state is not JobState.DONE:
        assert time.monotonic() < deadline, "the worker did not recover"
        time.sleep(0.05)
    assert thread.stop(5) is None
    assert thread.error is None
    assert not thread.is_alive()


def test_on_dead_hook_runs_once_when_a_job_dies(services: Services) -> None:
    """Retries exhausted, or the last attempt's worker lost: the kind's hook sees the dead job."""
    acme = tenant(services)
    dead: list[tuple[str, int, str | None]] = []

    def record(conn: object, job: Job, services: object) -> None:
        dead.append((job.payload["case"], job.attempt, job.last_error))

    registry = HandlerRegistry()
    registry.register("fragile", fails_once_only, max_attempts=1, on_dead=record)
    worker = Worker(db=services.db, services=None, registry=registry, lease_s=0.2)
    with services.db.tenant(acme) as conn:
        enqueue(conn, "fragile", {"case": "raised"}, tenant_id=acme)
    try:
        worker.run_pending()
        with services.db.tenant(acme) as conn:
            enqueue(conn, "fragile", {"case": "worker lost"}, tenant_id=acme)
        with services.db.system() as conn:  # a worker that claims and then dies
            assert store.claim(conn, worker_id="gone", lease_s=0.2, kinds=["fragile"]) is not None
        time.sleep(0.3)
        worker.run_pending()  # its housekeeping finds the expired lease
    finally:
        worker.close()
    assert dead == [
        ("raised", 1, "RuntimeError: no"),
        ("worker lost", 1, "lease expired: worker gone stopped answering"),
    ]
