"""A PostgreSQL job queue (SKIP LOCKED leases, heartbeats, retries, dead letters) and the worker.

Queue a job in the same transaction as the record that needs it::

    from service.jobs import enqueue
    with services.db.tenant(tenant_id) as conn:
        record = ...                                   # the caller's own writes
        enqueue(conn, "generation.run", {"id": str(record.id)}, tenant_id=tenant_id,
                dedupe_key=str(record.id))

Handlers: ``def handle(job: Job, ctx: JobContext[Services]) -> None`` (``ctx.services`` is what the
host handed the worker: ``Services`` in a Vigil process; a stage names a Protocol of what it reads),
registered by a module's ``register_handlers(registry)`` (``registry.register(kind, handle,
max_attempts=N)``); ``composition.job_registry`` registers the stages' and the flows'.

The idempotency contract (at-least-once delivery, exactly-once effects):

1. A handler may run more than once for the same job: a worker can die at any instruction, and
   the job is then retried after its lease runs out. ``job.attempt`` says which run this is
   (1 on the first).
2. Commit the job's effects and its completion in ONE transaction: write them inside
   ``with ctx.completing() as conn:``. That transaction marks the job done only while this
   attempt still holds the lease; if the lease was lost (``LeaseLost``) or the process dies,
   neither the effects nor the completion commit, and the next attempt starts from the same
   database state.
3. Work outside the database (files, calls to a generator) must be repeatable: write outputs
   under a name derived from the job id (``<quarantine>/<job id>.jpg``, replaced atomically),
   so a retry overwrites the half-done work of a lost attempt instead of adding to it; check
   for what a previous attempt already committed before redoing it.
4. Raise to fail: an ``InputError`` is permanent (straight to the ``dead`` state); anything else
   is retried with exponential backoff and jitter until ``max_attempts`` (the job's, set at
   enqueue, or its kind's, whichever is smaller), then ``dead`` with the last error; the kind's
   ``on_dead(conn, job, services)`` hook then runs in the transaction that records it (e.g. to
   mark a generation ``failed`` with the reason). Payloads and error messages are stored: put
   ids, hashes and codes in them, never personal data.
5. A long handler should look at ``ctx.stopping`` (a stop was requested: finish, or call
   ``ctx.release()`` and return) and ``ctx.lease_lost`` (another worker owns the job now).
"""

from service.jobs.context import JobContext
from service.jobs.model import Backoff, Job, JobState, QueueCounts
from service.jobs.registry import HandlerRegistry, build_registry
from service.jobs.store import enqueue
from service.jobs.worker import Worker, WorkerThread

__all__ = [
    "Backoff",
    "HandlerRegistry",
    "Job",
    "JobContext",
    "JobState",
    "QueueCounts",
    "Worker",
    "WorkerThread",
    "build_registry",
    "enqueue",
]
