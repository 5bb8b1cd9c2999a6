"""``vigil serve``: migrate, bootstrap an admin key on first start, then serve HTTP."""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import shutil
import signal
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from service import allocator, logs
from service.auth import Role
from service.auth import store as auth_store
from service.cli.common import pass_settings
from service.cli.worker import start_worker
from service.composition import open_services
from service.errors import ConfigError
from service.jobs import WorkerThread
from service.provenance.certs import CA_FILE, CHAIN_FILE, KEY_FILE, init_signing
from service.services import Services
from service.settings import Settings

log = logging.getLogger(__name__)


@click.command("serve")
@click.option("--host", default=None, help="Bind address (default VIGIL_HOST or 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port (default VIGIL_PORT or 8000).")
@click.option(
    "--workers", type=click.IntRange(min=1), default=None, help="HTTP processes (default VIGIL_WORKERS or 1)."
)
@click.option("--no-worker", is_flag=True, help="Do not run a job worker in this process.")
@pass_settings
def serve_cmd(
    settings: Settings, host: str | None, port: int | None, workers: int | None, no_worker: bool
) -> None:
    """Serve the HTTP API and pages (embedded PostgreSQL unless DATABASE_URL is set)."""
    from service.app import create_app, warm_text_encoder

    logs.configure(level=settings.log_level, json_lines=settings.log_json)
    allocator.tune(settings.malloc_keep_mib)
    if settings.bootstrap_signing and not settings.production:
        _bootstrap_signing(settings)
    services = open_services(settings)  # migrates; with --workers it also keeps the embedded server up
    try:
        if settings.bootstrap_admin:
            _bootstrap_admin(services)
        # Once, here, before any HTTP process starts: a new data dir converts and exports the encoder
        # (the processes of --workers then only load it, without racing to build it).
        warm_text_encoder(services)
        worker = None if no_worker else start_worker(services)
        stop_worker = functools.partial(_stop, worker, settings.jobs_stop_grace_s)
        host, port, workers = host or settings.host, port or settings.port, workers or settings.workers
        try:
            if workers > 1:
                _serve_processes(settings, host=host, port=port, workers=workers)
            else:
                _serve(create_app(settings, services=services), host=host, port=port, on_shutdown=stop_worker)
        except (KeyboardInterrupt, _Stopped):
            pass  # uvicorn has shut down cleanly and re-raised the signal it caught: a normal stop
        finally:
            stop_worker()
    finally:
        services.close()


class _Stopped(Exception):
    """SIGTERM, re-raised by uvicorn after its graceful shutdown."""


def _on_sigterm(_signum: int, _frame: Any) -> None:
    raise _Stopped


def _stop(worker: WorkerThread | None, grace_s: float) -> None:
    if worker is not None and worker.is_alive():
        worker.stop(grace_s)


def _serve(app: Any, *, host: str, port: int, on_shutdown: Callable[[], None]) -> None:
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


def _serve_processes(settings: Settings, *, host: str, port: int, workers: int) -> None:
    """``workers`` fresh interpreters sharing one listening socket, each taking new connections
    only on its turn (the one with the fewest open connections: see ``balance``). One that dies is
    started again; SIGINT, SIGTERM or SIGHUP stops them all, each finishing the requests it holds."""
    import uvicorn
    from uvicorn.config import STARTUP_FAILURE

    from service.api.middleware import MULTIPROCESS_ENV
    from service.cli.balance import GONE, BalancedProcess, shared_counts

    os.environ["VIGIL_DATA_DIR"] = str(settings.data_dir.resolve())  # each rebuilds its settings
    # Each process records its metrics into files here; /metrics sums them (see Metrics.exposition).
    metrics_dir = _fresh_metrics_dir(settings.tmp_dir)
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


def _fresh_metrics_dir(tmp_dir: Path) -> Path:
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


def _bootstrap_signing(settings: Settings) -> None:
    """A development instance signs its outputs from the first start (production brings its keys)."""
    if settings.signing_cert_chain is not None or settings.signing_key is not None:
        return
    keys = settings.keys_dir
    if any((keys / name).exists() for name in (CA_FILE, CHAIN_FILE, KEY_FILE)):
        return
    files = init_signing(keys, "Vigil development")
    click.echo(
        f"Created a development C2PA signing CA under {keys}; give verifiers {files.ca}.\n"
        "For production, configure VIGIL_SIGNING_CERT_CHAIN and VIGIL_SIGNING_KEY instead.",
        err=True,
    )


def _bootstrap_admin(services: Services) -> None:
    with services.db.system() as conn:
        if auth_store.has_admin(conn):
            return
        issued = auth_store.create_key(conn, tenant_name="default", role=Role.ADMIN, label="bootstrap")
    click.echo(
        "\nVigil bootstrap admin key for tenant 'default' (shown once, only its hash is stored):\n"
        f"    {issued.token}\n"
        "Create more with 'vigil keys create --role ROLE --tenant NAME'.\n",
        err=True,
    )


def register(cli: click.Group) -> None:
    cli.add_command(serve_cmd)
