"""The worker: claims jobs, runs their handlers under a heartbeat-extended lease, records results.

One worker runs one job at a time. ``vigil worker`` runs one in the foreground; ``vigil serve``
runs one in a thread (``WorkerThread``) unless ``--no-worker``.

Stopping: ``WorkerThread.stop(grace_s)`` stops claiming, waits up to ``grace_s`` for the current
handler (which sees ``ctx.stopping`` and may hand the job back with ``ctx.release()``), and if
it is still running, releases the job in the database so another worker takes it at once. A
handler still running after that can no longer complete it: its lease is gone (``LeaseLost``).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from typing import Generic
from uuid import UUID

from service.db import Conn, Database
from service.errors import InputError, LeaseLost, VigilError
from service.jobs import store
from service.jobs.context import JobContext
from service.jobs.model import Backoff, H, Job, JobState, PeriodicTask
from service.jobs.registry import HandlerRegistry
from service.settings import Settings

log = logging.getLogger(__name__)


_MAX_ERROR_PAUSE_S = 30.0


def new_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Worker(Generic[H]):
    """Claims and runs jobs of the kinds in ``registry``."""

    def __init__(
        self,
        *,
        db: Database,
        registry: HandlerRegistry[H],
        services: H,
        lease_s: float = 30.0,
        poll_s: float = 1.0,
        backoff: Backoff | None = None,
        worker_id: str | None = None,
    ) -> None:
        self.db = db
        self.registry = registry
        self.lease_s = lease_s
        self.poll_s = poll_s
        self.backoff = backoff or Backoff()
        self.services = services
        self.worker_id = worker_id or new_worker_id()
        self.stopping = threading.Event()  # stop claiming
        self._closed = threading.Event()  # stop heartbeats too (the current job has ended)
        self._lock = threading.Lock()
        self._current: JobContext[H] | None = None
        # A finished job whose completion rides on the next claim's transaction (one commit a job).
        self._pending: Job | None = None
        self._beat: threading.Thread | None = None
        self._next_reap = 0.0
        self._next_periodic: dict[str, float] = {}

    @classmethod
    def from_settings(
        cls, settings: Settings, *, db: Database, registry: HandlerRegistry[H], services: H
    ) -> Worker[H]:
        return cls(
            db=db,
            registry=registry,
            lease_s=settings.jobs_lease_s,
            poll_s=settings.jobs_poll_s,
            backoff=Backoff(base_s=settings.jobs_backoff_base_s, max_s=settings.jobs_backoff_max_s),
            services=services,
        )

    def close(self) -> None:
        """Stop the loop and the heartbeat thread."""
        self.stopping.set()
        self._closed.set()
        if self._beat is not None:
            self._beat.join(1.0)

    # --- the loop -----------------------------------------------------------------------------

    def run(self) -> None:
        """Work until ``stopping`` is set."""
        log.info("worker %s started; kinds: %s", self.worker_id, ",".join(self.registry.kinds))
        errors = 0
        try:
            while not self.stopping.is_set():
                try:
                    self._housekeeping()
                    busy = self.run_one()
                    errors = 0
                except Exception as exc:  # the database went away, a bug: keep the loop alive
                    errors += 1
                    pause = min(_MAX_ERROR_PAUSE_S, self.poll_s * 2 ** min(errors, 10))
                    message = exc.message if isinstance(exc, VigilError) else f"{type(exc).__name__}: {exc}"
                    log.error("worker %s: %s; trying again in %.1f s", self.worker_id, message, pause)
                    self.stopping.wait(pause)
                    continue
                if not busy:
                    self.stopping.wait(self.poll_s)
        finally:
            try:
                self._flush()
            except Exception:  # the job stays leased; its lease runs out and it is retried
                log.exception("worker %s could not record its last completion", self.worker_id)
            self._closed.set()
            log.info("worker %s stopped", self.worker_id)

    def run_pending(self, *, max_jobs: int | None = None) -> int:
        """Run ready jobs until none is left (or ``max_jobs``); returns how many ran."""
        ran = 0
        self._housekeeping()
        try:
            while (max_jobs is None or ran < max_jobs) and not self.stopping.is_set() and self.run_one():
                ran += 1
        finally:
            self._flush()
        return ran

    def run_one(self) -> bool:
        """Claim and run one job; False when none was ready."""
        pending = self._pending
        with self.db.system() as conn:
            store.queue_bookkeeping(conn)
            if pending is not None:
                self._mark_done(conn, pending)
            job = store.claim(conn, worker_id=self.worker_id, lease_s=self.lease_s, kinds=self.registry.kinds)
        self._pending = None  # committed (on an error it stays pending for the next try)
        if job is None:
            return False
        self._process(job)
        return True

    def _process(self, job: Job) -> None:
        ctx = JobContext(
            db=self.db, job=job, worker_id=self.worker_id, services=self.services, stopping=self.stopping
        )
        spec = self.registry.spec(job.kind)
        with self._lock:
            self._current = ctx
        self._ensure_heartbeat()
        started = time.monotonic()
        try:
            spec.handler(job, ctx)
        except LeaseLost as exc:
            log.warning("job %s attempt %d lost its lease: %s", job.id, job.attempt, exc.message)
        except Exception as exc:
            self._failed(ctx, exc)
        else:
            self._finished(ctx)
        finally:
            with self._lock:
                self._current = None
        log.debug(
            "job %s (%s) attempt %d took %.3f s", job.id, job.kind, job.attempt, time.monotonic() - started
        )

    def _finished(self, ctx: JobContext[H]) -> None:
        job = ctx.job
        try:
            if ctx.released:
                with self.db.system() as conn:
                    store.release(conn, job, worker_id=self.worker_id)
                log.info("job %s (%s) released at attempt %d", job.id, job.kind, job.attempt)
            elif not ctx.completed:
                self._pending = job  # completed with the next claim, or by _flush
        except LeaseLost as exc:
            log.warning(
                "job %s attempt %d finished after losing its lease: %s", job.id, job.attempt, exc.message
            )

    def _mark_done(self, conn: Conn, job: Job) -> None:
        if not store.mark_done(conn, job, worker_id=self.worker_id):
            log.warning("job %s attempt %d finished after losing its lease", job.id, job.attempt)

    def _flush(self) -> None:
        """Commit a completion still waiting for the next claim (the loop is ending)."""
        pending = self._pending
        if pending is not None:
            with self.db.system() as conn:
                store.queue_bookkeeping(conn)
                self._mark_done(conn, pending)
            self._pending = None

    def _dead(self, conn: Conn, job_id: UUID) -> None:
        """Run the kind's on_dead hook in this transaction; its failure is logged, not fatal."""
        job = store.get(conn, job_id)
        if job is None:
            return
        hook = self.registry.on_dead(job.kind)
        if hook is None:
            return
        try:
            with conn.transaction():  # a savepoint: a failing hook does not undo the dead letter
                hook(conn, job, self.services)
        except Exception:
            log.exception("on_dead hook of job %s (%s) failed", job.id, job.kind)

    def _failed(self, ctx: JobContext[H], exc: Exception) -> None:
        job = ctx.job
        # Bad input stays bad: retrying cannot help, so it goes to the dead letter at once.
        permanent = isinstance(exc, InputError)
        error = (
            f"{exc.code}: {exc.message}" if isinstance(exc, VigilError) else f"{type(exc).__name__}: {exc}"
        )
        # The job's own max_attempts (set at enqueue) and its kind's: the smaller one wins.
        exhausted = job.attempt >= self.registry.max_attempts(job.kind, default=job.max_attempts)
        delay = None if permanent or exhausted else self.backoff.delay(job.attempt)
        try:
            with self.db.system() as conn:
                state = store.fail(conn, job, worker_id=self.worker_id, error=error, retry_in_s=delay)
                if state is JobState.DEAD:
                    self._dead(conn, job.id)
        except LeaseLost:
            log.warning("job %s attempt %d failed after losing its lease", job.id, job.attempt)
            return
        if state is JobState.DEAD:
            log.error("job %s (%s) is dead after attempt %d: %s", job.id, job.kind, job.attempt, error)
        else:
            log.warning(
                "job %s (%s) attempt %d failed, retry in %.1f s: %s",
                job.id,
                job.kind,
                job.attempt,
                delay or 0.0,
                error,
            )

    # --- lease upkeep ---------------------------------------------------------------------------

    def _ensure_heartbeat(self) -> None:
        if self._beat is None or not self._beat.is_alive():
            self._beat = threading.Thread(target=self._heartbeat_loop, name="vigil-heartbeat", daemon=True)
            self._beat.start()

    def _heartbeat_loop(self) -> None:
        interval = max(0.05, self.lease_s / 3)
        # Runs on through a graceful stop: the job being finished keeps its lease until it ends.
        while not self._closed.wait(interval):
            with self._lock:
                ctx = self._current
            if ctx is None:
                continue
            try:
                with self.db.system() as conn:
                    store.queue_bookkeeping(conn)
                    held = store.heartbeat(conn, ctx.job, worker_id=self.worker_id, lease_s=self.lease_s)
            except VigilError as exc:
                log.warning("heartbeat for job %s failed: %s", ctx.job.id, exc.message)
                continue
            if not held:
                ctx.lease_lost.set()

    def release_current(self) -> Job | None:
        """Give the running job back (the stop grace ran out); returns it, or None if idle."""
        with self._lock:
            ctx = self._current
        if ctx is None:
            return None
        ctx.lease_lost.set()
        with self.db.system() as conn:
            released = store.release(conn, ctx.job, worker_id=self.worker_id)
        if released:
            log.info("job %s (%s) released by stop", ctx.job.id, ctx.job.kind)
        return ctx.job

    # --- reaper and periodic tasks ----------------------------------------------------------------

    def _housekeeping(self) -> None:
        now = time.monotonic()
        if now >= self._next_reap:
            self._next_reap = now + max(0.05, self.lease_s / 2)
            with self.db.system() as conn:
                lost = store.requeue_expired(conn, caps=self.registry.attempt_caps)
                for job in lost:
                    if job.state is JobState.DEAD:
                        self._dead(conn, job.id)
            if lost:
                log.warning("%d job(s) whose worker stopped answering were requeued or are dead", len(lost))
        for periodic in self.registry.periodic:
            if now < self._next_periodic.get(periodic.name, 0.0):
                continue
            self._next_periodic[periodic.name] = now + min(periodic.every_s, max(self.poll_s, 0.05))
            self._run_periodic(periodic.name, periodic.every_s, periodic.task)

    def _run_periodic(self, name: str, every_s: float, task: PeriodicTask[H]) -> None:
        self._flush()  # a task may take a while: do not hold a finished job's completion meanwhile
        with self.db.system() as conn:
            if not store.take_schedule(conn, name, every_s=every_s):
                return
            try:
                with conn.transaction():
                    task(conn, self.services)
            except Exception as exc:
                log.exception("periodic task %s failed", name)
                store.record_schedule_error(conn, name, f"{type(exc).__name__}: {exc}")
            else:
                store.record_schedule_error(conn, name, None)


class WorkerThread(Generic[H]):
    """A worker on a background thread (``vigil serve`` and ``vigil worker`` both use it)."""

    def __init__(self, worker: Worker[H]) -> None:
        self.worker = worker
        self._thread = threading.Thread(target=self._run, name="vigil-worker", daemon=True)
        self.error: BaseException | None = None

    def _run(self) -> None:
        try:
            self.worker.run()
        except BaseException as exc:
            self.error = exc
            log.exception("worker %s crashed", self.worker.worker_id)
            raise

    def start(self) -> None:
        self._thread.start()

    def is_alive(self) -> bool:
        return self._thread.is_alive()

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    def stop(self, grace_s: float) -> Job | None:
        """Stop claiming; wait ``grace_s`` for the current job, then release it. Returns a released job."""
        self.worker.stopping.set()
        self._thread.join(grace_s)
        if not self._thread.is_alive():
            return None
        return self.worker.release_current()
