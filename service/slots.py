"""A bounded turn-taking gate for CPU-heavy work (checks): at most ``size`` at once, and a caller
waits at most ``wait_s`` for its turn. Past that it is told the process is busy (503 with
Retry-After) instead of queueing without bound while its client times out.
"""

from __future__ import annotations

import threading
from types import TracebackType

from service.errors import Overloaded


class CheckSlots:
    def __init__(self, size: int, *, wait_s: float) -> None:
        self.size = size
        self.wait_s = wait_s
        self._free = threading.BoundedSemaphore(size)
        self._lock = threading.Lock()
        self.shed = 0  # turned away since start (the metrics read it)

    def __enter__(self) -> CheckSlots:
        if not self._free.acquire(timeout=self.wait_s):
            with self._lock:
                self.shed += 1
            raise Overloaded(
                f"Vigil is busy: {self.size} checks are running in this process and this one waited "
                f"{self.wait_s:g} s for its turn. Retry after the time in Retry-After.",
                retry_after=max(1.0, self.wait_s / 2),
            )
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._free.release()
