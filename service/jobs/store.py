"""SQL of the job queue. The caller owns the transaction; nothing here commits.

``enqueue`` runs in the caller's (tenant) transaction, so a job exists exactly when the record
that asked for it does. The worker's calls run in ``system()`` transactions (it serves every
tenant); ``complete`` may also run in a handler's tenant transaction, so that the handler's
effects and the completion commit together.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from psycopg.rows import class_row
from psycopg.types.json import Jsonb

from service.db import Conn
from service.errors import LeaseLost, MalformedRequest
from service.jobs.model import Job, JobState, QueueCounts

DEFAULT_MAX_ATTEMPTS = 5
_ERROR_CHARS = 2000

# Rows are read with SELECT * / RETURNING * into Job: the table's columns are exactly its fields.


def enqueue(
    conn: Conn,
    kind: str,
    payload: Mapping[str, Any],
    *,
    tenant_id: UUID,
    dedupe_key: str | None = None,
    run_after: datetime | timedelta | None = None,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
) -> Job:
    """Queue a job in the caller's transaction; with ``dedupe_key``, the same key returns the first job.

    ``run_after`` delays the first run (a datetime, or a delay from now).
    """
    if max_attempts < 1:
        raise MalformedRequest("max_attempts must be at least 1.")
    delay: timedelta | None = run_after if isinstance(run_after, timedelta) else None
    at: datetime | None = run_after if isinstance(run_after, datetime) else None
    with conn.cursor(row_factory=class_row(Job)) as cur:
        cur.execute(
            "INSERT INTO jobs (tenant_id, kind, payload, max_attempts, dedupe_key, run_after) "
            "VALUES (%(tenant)s, %(kind)s, %(payload)s, %(max)s, %(dedupe)s, "
            "coalesce(%(at)s::timestamptz, now() + coalesce(%(delay)s::interval, '0'::interval))) "
            "ON CONFLICT (tenant_id, kind, dedupe_key) WHERE dedupe_key IS NOT NULL DO NOTHING "
            "RETURNING *",
            {
                "tenant": tenant_id,
                "kind": kind,
                "payload": Jsonb(dict(payload)),
                "max": max_attempts,
                "dedupe": dedupe_key,
                "at": at,
                "delay": delay,
            },
        )
        job = cur.fetchone()
        if job is None:  # the dedupe key is taken: answer with the job that holds it
            cur.execute(
                "SELECT * FROM jobs WHERE tenant_id = %s AND kind = %s AND dedupe_key = %s",
                (tenant_id, kind, dedupe_key),
            )
            job = cur.fetchone()
    if job is None:
        raise LeaseLost("The job with this dedupe key vanished while it was being queued; retry.")
    return job


def queue_bookkeeping(conn: Conn) -> None:
    """Let this transaction commit without waiting for its WAL flush (``synchronous_commit = off``).

    Only for the worker's own bookkeeping (claims, heartbeats, completions with no effects in the
    same transaction). A PostgreSQL crash may lose the last such commits, which the queue already
    tolerates: a lost claim leaves the job queued, a lost completion makes it run again, and
    handlers are written for that (see ``service/jobs/__init__``). Never use it in a transaction
    that also commits a handler's effects (``JobContext.completing``): those stay fully durable.
    """
    conn.execute("SET LOCAL synchronous_commit = off")


def claim(conn: Conn, *, worker_id: str, lease_s: float, kinds: Sequence[str]) -> Job | None:
    """Take the next ready job of one of ``kinds`` and lease it to ``worker_id``.

    ``FOR UPDATE SKIP LOCKED``: concurrent claimers each lock a different row and never wait on
    one another; a row another claimer holds is skipped, not taken twice.
    """
    with conn.cursor(row_factory=class_row(Job)) as cur:
        cur.execute(
            "UPDATE jobs SET state = 'running', attempt = attempt + 1, worker_id = %(worker)s, "
            "lease_until = now() + make_interval(secs => %(lease)s), updated_at = now() "
            "WHERE id = (SELECT id FROM jobs WHERE state = 'queued' AND run_after <= now() "
            "AND kind = ANY(%(kinds)s) ORDER BY run_after LIMIT 1 FOR UPDATE SKIP LOCKED) "
            "RETURNING *",
            {"worker": worker_id, "lease": lease_s, "kinds": list(kinds)},
        )
        return cur.fetchone()


def heartbeat(conn: Conn, job: Job, *, worker_id: str, lease_s: float) -> bool:
    """Extend the lease of a job this worker still holds; False when it has lost it."""
    cur = conn.execute(
        "UPDATE jobs SET lease_until = now() + make_interval(secs => %(lease)s), updated_at = now() "
        "WHERE id = %(id)s AND state = 'running' AND worker_id = %(worker)s AND attempt = %(attempt)s",
        {"id": job.id, "worker": worker_id, "attempt": job.attempt, "lease": lease_s},
    )
    return cur.rowcount == 1


def mark_done(conn: Conn, job: Job, *, worker_id: str) -> bool:
    """Mark the job done if this attempt still holds it; False (nothing changed) when it does not."""
    cur = conn.execute(
        "UPDATE jobs SET state = 'done', lease_until = NULL, finished_at = now(), updated_at = now(), "
        "last_error = NULL WHERE "
        "id = %(id)s AND state = 'running' AND worker_id = %(worker)s AND attempt = %(attempt)s",
        {"id": job.id, "worker": worker_id, "attempt": job.attempt},
    )
    return cur.rowcount == 1


def complete(conn: Conn, job: Job, *, worker_id: str) -> None:
    """Mark the job done; raises LeaseLost (so the caller's transaction rolls back) if not held."""
    if not mark_done(conn, job, worker_id=worker_id):
        raise LeaseLost(f"Job {job.id} attempt {job.attempt} is no longer leased to {worker_id}.")


def fail(conn: Conn, job: Job, *, worker_id: str, error: str, retry_in_s: float | None) -> JobState:
    """Record a failed attempt: queue a retry after ``retry_in_s``, or (None, or no attempts left) dead."""
    dead = retry_in_s is None or job.attempt >= job.max_attempts
    cur = conn.execute(
        "UPDATE jobs SET state = %(state)s, lease_until = NULL, worker_id = NULL, "
        "last_error = %(error)s, updated_at = now(), "
        "run_after = now() + make_interval(secs => %(delay)s), "
        "finished_at = CASE WHEN %(state)s = 'dead' THEN now() END "
        "WHERE id = %(id)s AND state = 'running' AND worker_id = %(worker)s AND attempt = %(attempt)s",
        {
            "id": job.id,
            "worker": worker_id,
            "attempt": job.attempt,
            "state": JobState.DEAD.value if dead else JobState.QUEUED.value,
            "error": error[:_ERROR_CHARS],
            "delay": 0.0 if dead else retry_in_s,
        },
    )
    if cur.rowcount != 1:
        raise LeaseLost(f"Job {job.id} attempt {job.attempt} is no longer leased to {worker_id}.")
    return JobState.DEAD if dead else JobState.QUEUED


def release(conn: Conn, job: Job, *, worker_id: str) -> bool:
    """Hand a job back unfinished (graceful stop): queued again, this attempt not counted."""
    cur = conn.execute(
        "UPDATE jobs SET state = 'queued', attempt = attempt - 1, lease_until = NULL, worker_id = NULL, "
        "run_after = now(), updated_at = now() WHERE "
        "id = %(id)s AND state = 'running' AND worker_id = %(worker)s AND attempt = %(attempt)s",
        {"id": job.id, "worker": worker_id, "attempt": job.attempt},
    )
    return cur.rowcount == 1


def requeue_expired(conn: Conn, *, caps: Mapping[str, int] | None = None, limit: int = 100) -> list[Job]:
    """Jobs whose lease ran out (their worker died): queue them again, or dead when out of attempts.

    The lost attempt counts, so a job that kills its worker every time ends in the dead letter.
    ``caps`` are the kinds' max_attempts (the smaller of a job's and its kind's applies).
    Returns the jobs as they are now (state ``queued`` or ``dead``).
    """
    with conn.cursor(row_factory=class_row(Job)) as cur:
        cur.execute(
            "WITH lost AS (SELECT id, least(max_attempts, coalesce((%(caps)s::jsonb ->> kind)::int, "
            "max_attempts)) AS cap FROM jobs WHERE state = 'running' AND lease_until < now() "
            "ORDER BY lease_until LIMIT %(limit)s FOR UPDATE SKIP LOCKED) "
            "UPDATE jobs j SET "
            "state = CASE WHEN j.attempt >= lost.cap THEN 'dead' ELSE 'queued' END, "
            "finished_at = CASE WHEN j.attempt >= lost.cap THEN now() END, "
            "last_error = 'lease expired: worker ' || coalesce(j.worker_id, '?') || ' stopped answering', "
            "lease_until = NULL, worker_id = NULL, run_after = now(), updated_at = now() "
            "FROM lost WHERE j.id = lost.id RETURNING j.*",
            {"limit": limit, "caps": Jsonb(dict(caps or {}))},
        )
        return cur.fetchall()


def get(conn: Conn, job_id: UUID) -> Job | None:
    with conn.cursor(row_factory=class_row(Job)) as cur:
        cur.execute("SELECT * FROM jobs WHERE id = %s", (job_id,))
        return cur.fetchone()


def counts(conn: Conn) -> QueueCounts:
    rows = conn.execute("SELECT state, count(*) FROM jobs GROUP BY state").fetchall()
    return QueueCounts({JobState(state): int(n) for state, n in rows})


def take_schedule(conn: Conn, name: str, *, every_s: float) -> bool:
    """True when the periodic task ``name`` is due, moving its next run forward (once per period).

    The row lock taken by the UPDATE makes this exclusive across workers until the transaction
    ends; SKIP LOCKED lets the others move on instead of waiting.
    """
    conn.execute(
        "INSERT INTO job_schedules (name, next_run_at) VALUES (%s, now()) ON CONFLICT (name) DO NOTHING",
        (name,),
    )
    row = conn.execute(
        "UPDATE job_schedules s SET next_run_at = now() + make_interval(secs => %(every)s), "
        "last_run_at = now() FROM (SELECT name FROM job_schedules WHERE name = %(name)s "
        "AND next_run_at <= now() FOR UPDATE SKIP LOCKED) due WHERE s.name = due.name RETURNING s.name",
        {"name": name, "every": every_s},
    ).fetchone()
    return row is not None


def record_schedule_error(conn: Conn, name: str, error: str | None) -> None:
    conn.execute(
        "UPDATE job_schedules SET last_error = %s WHERE name = %s",
        (None if error is None else error[:_ERROR_CHARS], name),
    )
