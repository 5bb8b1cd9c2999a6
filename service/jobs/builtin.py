"""Built-in job kinds, for diagnostics and benchmarks: ``noop`` and ``sleep``.

They register through ``register_handlers`` exactly like any other handler module.
"""

from __future__ import annotations

from service.errors import MalformedRequest
from service.jobs.context import JobContext
from service.jobs.model import H, Job
from service.jobs.registry import HandlerRegistry

_MAX_SLEEP_S = 3600.0


def noop(job: Job, ctx: JobContext[H]) -> None:
    """Does nothing; the worker marks it done. Measures the queue alone."""


def sleep(job: Job, ctx: JobContext[H]) -> None:
    """Waits ``payload["seconds"]``, or less when the worker is asked to stop (then it is released)."""
    seconds = job.payload.get("seconds", 1.0)
    if not isinstance(seconds, int | float) or not 0 <= seconds <= _MAX_SLEEP_S:
        raise MalformedRequest(f"sleep: 'seconds' must be a number from 0 to {_MAX_SLEEP_S:g}.")
    if ctx.stopping.wait(float(seconds)):
        ctx.release()


def register_handlers(registry: HandlerRegistry[H]) -> None:
    registry.register("noop", noop, max_attempts=1)
    registry.register("sleep", sleep, max_attempts=3)
