"""Typed values of the job queue (no I/O): jobs, their states, retry timing, handler specs."""

from __future__ import annotations

import enum
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Generic, TypeVar
from uuid import UUID

if TYPE_CHECKING:
    from service.db import Conn

H = TypeVar("H")
"""The host's services: what the process that runs the worker hands every handler and task (the
CLI hands its ``Services``; a handler module names the type it needs, or a Protocol of it)."""


class JobState(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    DEAD = "dead"  # the dead letter: max attempts reached or a permanent error; last_error says why


@dataclass(frozen=True, slots=True)
class Job:
    id: UUID
    tenant_id: UUID
    kind: str
    payload: dict[str, Any]
    state: JobState
    attempt: int  # 1 on the first run; a handler sees which attempt it is
    max_attempts: int
    run_after: datetime
    lease_until: datetime | None
    worker_id: str | None
    dedupe_key: str | None
    last_error: str | None
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None

    def __post_init__(self) -> None:
        object.__setattr__(self, "state", JobState(self.state))


@dataclass(frozen=True, slots=True)
class Backoff:
    """Exponential backoff with jitter: attempt n waits base·2^(n-1), capped, times U(0.5, 1).

    The jitter spreads retries of jobs that failed together (a generator that went down for
    everyone) so they do not come back as one burst.
    """

    base_s: float = 2.0
    max_s: float = 300.0

    def delay(self, attempt: int, *, rng: random.Random | None = None) -> float:
        ceiling = min(self.max_s, self.base_s * 2.0 ** max(0, attempt - 1))
        draw: float = (rng or _rng).uniform(0.5, 1.0)
        return ceiling * draw


_rng = random.SystemRandom()

DeadHook = Callable[["Conn", "Job", H], None]
"""Called as ``hook(conn, job, services)`` when a job of its kind goes dead (``job.last_error`` says
why), in the ``system()`` transaction that records it: e.g. mark the generation ``failed``."""

PeriodicTask = Callable[["Conn", H], None]
"""A periodic task ``task(conn, services)``: runs in a ``system()`` transaction that commits when it
returns; ``services`` is what the host gave the worker (the CLI gives its Services)."""


@dataclass(frozen=True, slots=True)
class Periodic(Generic[H]):
    name: str
    every_s: float
    task: PeriodicTask[H]


@dataclass(frozen=True, slots=True)
class QueueCounts:
    by_state: Mapping[JobState, int]

    def __getitem__(self, state: JobState) -> int:
        return self.by_state.get(state, 0)
