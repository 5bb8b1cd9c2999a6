"""Throttled guessing: failed authentications are counted per client address and per key prefix
over a sliding window; past a limit the caller is told to wait (429 with Retry-After) before its
key is even looked up.

Two counters, because guessing takes two shapes: one client trying many keys (per address), and
many clients trying secrets for one known prefix (per prefix; a prefix is public, printed in
`vigil keys list`). Counts live in the process (each HTTP process of ``--workers`` keeps its own),
bounded in size so a flood of addresses cannot grow them without end.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass

_MAX_TRACKED = 50_000  # addresses and prefixes remembered at once; the oldest are forgotten first


@dataclass(frozen=True, slots=True)
class Limits:
    per_client: int  # failures one address may make in the window
    per_prefix: int  # failures against one key prefix in the window, from anywhere
    window_s: float


class Throttle:
    def __init__(self, limits: Limits, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits
        self._clock = clock
        self._lock = threading.Lock()
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    def _recent(self, key: str, now: float) -> deque[float]:
        seen = self._failures.get(key)
        if seen is None:
            return deque()
        while seen and seen[0] <= now - self.limits.window_s:
            seen.popleft()
        return seen

    def _wait(self, key: str, limit: int, now: float) -> float | None:
        seen = self._recent(key, now)
        if len(seen) < limit:
            return None
        return max(1.0, seen[0] + self.limits.window_s - now)  # until the oldest failure ages out

    def retry_after(self, client: str, prefix: str | None) -> float | None:
        """Seconds this caller must wait before another try, or None when it may try now."""
        now = self._clock()
        with self._lock:
            waits = [self._wait(f"client:{client}", self.limits.per_client, now)]
            if prefix is not None:
                waits.append(self._wait(f"prefix:{prefix}", self.limits.per_prefix, now))
        found = [w for w in waits if w is not None]
        return max(found) if found else None

    def failed(self, client: str, prefix: str | None) -> None:
        now = self._clock()
        with self._lock:
            for key in (f"client:{client}", *((f"prefix:{prefix}",) if prefix else ())):
                seen = self._recent(key, now)
                seen.append(now)
                self._failures[key] = seen
                self._failures.move_to_end(key)
            while len(self._failures) > _MAX_TRACKED:
                self._failures.popitem(last=False)


def prefix_of(token: str) -> str | None:
    """The public prefix of a token shaped like Vigil's (``vgl_<8 hex>_<secret>``), else None."""
    parts = token.split("_")
    if len(parts) >= 3 and parts[0] == "vgl" and len(parts[1]) == 8:
        return f"vgl_{parts[1]}"
    return None
