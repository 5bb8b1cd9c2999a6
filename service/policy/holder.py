"""The live policy of a process: reloadable, and a bad file never replaces a good policy."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from service.errors import ConfigError
from service.health import ComponentStatus
from service.policy.load import PolicySet, load_policies
from service.vocabulary import SignalState

log = logging.getLogger(__name__)


class PolicyHolder:
    def __init__(self, *, root: Path) -> None:
        self.root = root
        self._lock = threading.Lock()
        self._current: PolicySet = load_policies(root)  # a bad policy at start refuses to start
        self.last_error: str | None = None

    @property
    def current(self) -> PolicySet:
        return self._current

    def reload(self) -> PolicySet:
        """Load the files again; on error keep the last good policy and remember why."""
        with self._lock:
            try:
                fresh = load_policies(self.root)
            except ConfigError as exc:
                self.last_error = exc.message
                log.error(
                    "policy reload failed; keeping %s", self._current.version, extra={"error": exc.message}
                )
                raise
            if fresh.version != self._current.version:
                log.info("policy %s replaces %s", fresh.version, self._current.version)
            self._current = fresh
            self.last_error = None
            return fresh

    def status(self) -> ComponentStatus:
        if self.last_error is not None:
            # Serving the last good policy is safe; the component is degraded, not down.
            return ComponentStatus(
                SignalState.OK, f"{self._current.version}; last reload failed: {self.last_error}"
            )
        return ComponentStatus(SignalState.OK, self._current.version)
