"""Serving HTTP: one uvicorn server in this process, or N processes on one listening socket
that take new connections in turn (``balance.py``), supervised: one that dies is started again.
``vigil serve`` (``cli/serve.py``) translates its arguments and calls these."""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import signal
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from service.errors import ConfigError
from service.settings import Settings

log = logging.getLogger(__name__)


class Stopped(Exception):
    """SIGTERM, re-raised by uvicorn after its graceful shutdown."""


def _on_sigterm(_signum: int, _frame: Any) -> None:
    raise Stopped


def serve_app(app: Any, *, host: str, port: int, on_shutdown: Callable[[], None]) -> None:
    """uvicorn, with the job worker stopped during its shutdown (it re-raises SIGTERM afterwards)."""
    import uvicorn

    class Server(uvicorn.Server):
        async def shutdown(self, sockets: Any = None) -> None:
            await super().shutdown(sockets)
            await asyncio.to_thread(on_shutdown)

    config = uvicorn.Config(app, host=host, port=port, log_config=None, access_log=False, proxy_headers=False)
    # uvicorn restores this handler after its shutdown and then re-raises the signal into it, so a
    # SIGTERM ends here (services closed, embedded database left cleanly) instead of killing us.
    signal.signal(signal.SIGTERM, _on_sigterm)
    Server(config).run()


def serve_processes(settings: Settings, *, host: str, port: int, workers: int) -> None:
    """``workers`` fresh interpreters sharing one listening socket, each taking new connections
    only on its turn (the one with the fewest open connections: see ``balance``). One that dies is
    started again; SIGINT, SIGTERM or SIGHUP stops them all, each finishing the requests it holds."""
    import uvicorn
    from uvicorn.config import STARTUP_FAILURE

    from service.api.middleware import MULTIPROCESS_ENV
    from service.serving.balance import GONE, BalancedProcess, shared_counts

    os.environ["VIGIL_DATA_DIR"] = str(settings.data_dir.resolve())  # each rebuilds its settings
    # Each process records its metrics into files here; /metrics sums them (see Metrics.exposition).
    metrics_dir = fresh_metrics_dir(settings.tmp_dir)
    os.environ[MULTIPROCESS_ENV] = str(metrics_dir)
    config = uvicorn.Config(
        "service.app:app_from_environment",
        factory=True,
        host=host,
        port=port,
        log_config=None,
        access_log=False,
        proxy_headers=False,
    )
    sock = _listening_socket(host, port)
    counts = shared_counts(workers)
    # The handlers only note the signal: setting an Event from a handler can deadlock against the
    # main thread waiting on it.
    stop: list[int] = []
    previous = {
        sig: signal.signal(sig, lambda signum, _frame: stop.append(signum))
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    }
    processes = [BalancedProcess(config, sock, counts, i) for i in range(workers)]
    try:
        for process in processes:
            process.start()
        log.info("serving on %s:%d with %d HTTP processes", host, port, workers)
        while not stop:
            time.sleep(0.5)
            for i, process in enumerate(processes):
                if process.process.is_alive():
                    continue
                process.join()
                counts[i] = GONE  # until its replacement starts
                if process.exitcode == STARTUP_FAILURE:
                    log.error("an HTTP process failed to start; stopping (see the error above)")
                    stop.append(0)
                    break
                log.warning("HTTP process %s exited with %s; starting another", process.pid, process.exitcode)
                processes[i] = BalancedProcess(config, sock, counts, i)
                processes[i].start()
    finally:
        for process in processes:
            process.terminate()  # SIGTERM: uvicorn finishes the requests in flight
        for process in processes:
            process.join()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        sock.close()
        os.environ.pop(MULTIPROCESS_ENV, None)
        shutil.rmtree(metrics_dir, ignore_errors=True)


def fresh_metrics_dir(tmp_dir: Path) -> Path:
    """This server's metrics directory, empty; those a server that was killed left are removed."""
    for stale in tmp_dir.glob("metrics-*"):
        pid = stale.name.removeprefix("metrics-")
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(stale, ignore_errors=True)
    fresh = tmp_dir / f"metrics-{os.getpid()}"
    shutil.rmtree(fresh, ignore_errors=True)
    fresh.mkdir(parents=True)
    return fresh


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True


def _listening_socket(host: str, port: int) -> socket.socket:
    """The socket every HTTP process accepts from (refused if anything holds the port)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        _bind(sock, host, port)
        sock.listen(2048)
        sock.set_inheritable(True)
    except BaseException:
        sock.close()
        raise
    return sock


def _bind(sock: socket.socket, host: str, port: int) -> None:
    try:
        sock.bind((host, port))
    except OSError as exc:
        raise ConfigError(f"Cannot listen on {host}:{port}: {exc.strerror}.") from exc
