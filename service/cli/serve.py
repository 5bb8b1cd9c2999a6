"""``vigil serve``: migrate, bootstrap an admin key on first start, then serve HTTP."""

from __future__ import annotations

import functools
import logging

import click

from service import allocator, cores, logs
from service.auth import Role
from service.auth import store as auth_store
from service.cli.common import pass_settings
from service.cli.worker import start_worker
from service.composition import open_services
from service.jobs import WorkerThread
from service.provenance.certs import CA_FILE, CHAIN_FILE, KEY_FILE, init_signing
from service.services import Services
from service.serving.supervisor import Stopped, serve_app, serve_processes
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
    cores.one_blas_thread()
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
                serve_processes(settings, host=host, port=port, workers=workers)
            else:
                serve_app(
                    create_app(settings, services=services), host=host, port=port, on_shutdown=stop_worker
                )
        except (KeyboardInterrupt, Stopped):
            pass  # uvicorn has shut down cleanly and re-raised the signal it caught: a normal stop
        finally:
            stop_worker()
    finally:
        services.close()


def _stop(worker: WorkerThread[Services] | None, grace_s: float) -> None:
    if worker is not None and worker.is_alive():
        worker.stop(grace_s)


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
