"""``vigil worker``: run queued jobs until SIGTERM/SIGINT (then finish or hand back the current one)."""

from __future__ import annotations

import signal
import threading
from types import FrameType

import click

from service import allocator, cores, logs
from service.cli.common import open_instance, pass_settings
from service.composition import job_registry
from service.jobs import Worker, WorkerThread
from service.services import Services
from service.settings import Settings


def start_worker(services: Services) -> WorkerThread[Services]:
    """A worker thread over ``services`` with the built-in kinds and the ``job_modules`` setting."""
    registry = job_registry(services.settings)
    worker = Worker.from_settings(services.settings, db=services.db, registry=registry, services=services)
    thread = WorkerThread(worker)
    thread.start()
    services.start_sequencer()  # the log's queued events are integrated where jobs run
    return thread


@click.command("worker")
@click.option("--until-idle", is_flag=True, help="Run the jobs that are ready, then exit.")
@pass_settings
def worker_cmd(settings: Settings, until_idle: bool) -> None:
    """Run queued jobs (more workers: start more of these). Stops cleanly on SIGTERM or SIGINT."""
    logs.configure(level=settings.log_level, json_lines=settings.log_json)
    allocator.tune(settings.malloc_keep_mib)
    cores.one_blas_thread()
    services = open_instance(settings)
    try:
        if until_idle:
            registry = job_registry(settings)
            worker = Worker.from_settings(settings, db=services.db, registry=registry, services=services)
            try:
                ran = worker.run_pending()
            finally:
                worker.close()
            click.echo(f"OK: worker {worker.worker_id} ran {ran} job(s)")
            return
        stop = threading.Event()

        def on_signal(_signum: int, _frame: FrameType | None) -> None:
            stop.set()

        previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
        thread = start_worker(services)
        click.echo(f"OK: worker {thread.worker.worker_id} running; SIGTERM or Ctrl-C stops it", err=True)
        try:
            while not stop.wait(0.5) and thread.is_alive():
                pass
        finally:
            released = thread.stop(settings.jobs_stop_grace_s)
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        if released is not None:
            click.echo(f"OK: worker stopped; job {released.id} handed back to the queue", err=True)
        else:
            click.echo("OK: worker stopped", err=True)
    finally:
        services.close()


def register(cli: click.Group) -> None:
    cli.add_command(worker_cmd)
