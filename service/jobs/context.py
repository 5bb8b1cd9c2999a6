"""What a job handler gets beside its job: the database, the host's services, stop and lease
signals, and the transaction that completes the job with its effects."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Generic

from service.db import Conn, Database
from service.jobs import store
from service.jobs.model import H, Job


@dataclass
class JobContext(Generic[H]):
    """What a handler gets beside its job: the database, the host's services, stop and lease signals."""

    db: Database
    job: Job
    worker_id: str
    services: H  # what the host process passed to the worker (the CLI passes its Services)
    stopping: threading.Event
    lease_lost: threading.Event = field(default_factory=threading.Event)
    completed: bool = False
    released: bool = False

    @property
    def attempt(self) -> int:
        return self.job.attempt

    @contextmanager
    def completing(self) -> Iterator[Conn]:
        """A transaction of the job's tenant that also marks the job done when it commits.

        Write the job's effects here: they and the completion commit together, or (the lease
        was lost, the process died) neither does.
        """
        with self.db.tenant(self.job.tenant_id) as conn:
            yield conn
            store.complete(conn, self.job, worker_id=self.worker_id)
        self.completed = True

    def release(self) -> None:
        """Hand the job back unfinished (for a stop request); this attempt is not counted."""
        self.released = True
