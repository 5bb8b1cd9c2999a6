"""The sequencer: a thread that integrates queued log events into the tree in batches.

Writers only queue (``log.append``), so no request waits on the log's lock; this thread takes the
lock for one short transaction per batch. Every process that runs jobs (``vigil serve`` unless
``--no-worker``, ``vigil worker``) runs one; several of them take turns on the lock, and a
checkpoint integrates what is still queued before it is signed, so no reader waits for them.
"""

from __future__ import annotations

import logging
import threading

from service.audit import log
from service.db import Database

_log = logging.getLogger(__name__)

IDLE_S = 0.1  # pause when the queue is empty
RETRY_MAX_S = 5.0  # longest pause after a failure (the database is down)


class Sequencer:
    def __init__(self, db: Database, *, idle_s: float = IDLE_S) -> None:
        self.db = db
        self.idle_s = idle_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> log.Integrated:
        with self.db.system() as conn:
            return log.integrate(conn)

    def start(self) -> None:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="vigil-log-sequencer", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self._thread = None

    def _run(self) -> None:
        pause = 0.0
        while not self._stop.wait(pause):
            try:
                done = self.run_once()
                pause = 0.0 if done.count == log.INTEGRATE_BATCH else self.idle_s
                if done.longest_wait_s > 2.0:
                    _log.warning("log events waited %.1f s to be sequenced", done.longest_wait_s)
            except Exception:  # the database is down or restarting: try again, more slowly
                pause = min(max(pause, self.idle_s) * 2, RETRY_MAX_S)
                _log.exception("the log sequencer could not integrate; next try in %.1f s", pause)
