"""Job kinds used by the queue tests; a worker subprocess loads them through VIGIL_JOB_MODULES."""

from __future__ import annotations

import time
from pathlib import Path

from service.jobs import HandlerRegistry, Job, JobContext


def _note(path: str, line: str) -> None:
    with Path(path).open("a", encoding="utf-8") as fh:
        fh.write(line + "\n")


def block_first(job: Job, ctx: JobContext) -> None:
    """Attempt 1 blocks (until its process is killed); later attempts record their effect once."""
    _note(job.payload["log"], f"started {job.attempt} {ctx.worker_id}")
    if job.attempt == 1:
        time.sleep(600)
    with ctx.completing():
        # The effect and the completion commit together; a file stands in for the effect here.
        _note(job.payload["log"], f"done {job.attempt}")


def always_fails(job: Job, ctx: JobContext) -> None:
    raise RuntimeError(f"boom at attempt {job.attempt}")


def register_handlers(registry: HandlerRegistry) -> None:
    registry.register("test.block-first", block_first, max_attempts=3)
    registry.register("test.fails", always_fails, max_attempts=3)
