"""``vigil serve``: migrate, bootstrap an admin key on first start, then serve HTTP."""

from __future__ import annotations

import asyncio
import functools
import signal
from collections.abc import Callable
from typing import Any

import click

from service import logs
from service.auth import Role
from service.auth import store as auth_store
from service.cli.main import pass_settings
from service.cli.worker import start_worker
from service.jobs import WorkerThread
from service.provenance.certs import CA_FILE, CHAIN_FILE, KEY_FILE, init_signing
from service.services import Services
from service.settings import Settings


@click.command("serve")
@click.option("--host", default=None, help="Bind address (default VIGIL_HOST or 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port (default VIGIL_PORT or 8000).")
@click.option("--no-worker", is_flag=True, help="Do not run a job worker in this process.")
@pass_settings
def serve_cmd(settings: Settings, host: str | None, port: int | None, no_worker: bool) -> None:
    """Serve the HTTP API and pages (embedded PostgreSQL unless DATABASE_URL is set)."""
    from service.app import create_app

    logs.configure(level=settings.log_level, json_lines=settings.log_json)
    if settings.bootstrap_signing and not settings.production:
        _bootstrap_signing(settings)
    services = Services.open(settings)
    try:
        if settings.bootstrap_admin:
            _bootstrap_admin(services)
        app = create_app(settings, services=services)
        worker = None if no_worker else start_worker(services)
        stop_worker = functools.partial(_stop, worker, settings.jobs_stop_grace_s)
        try:
            _serve(app, host=host or settings.host, port=port or settings.port, on_shutdown=stop_worker)
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
