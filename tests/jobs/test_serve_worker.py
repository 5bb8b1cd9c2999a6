"""``vigil serve`` runs a worker in-process unless ``--no-worker``; ``vigil worker --until-idle`` drains."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from uuid import UUID

import httpx
import pytest

from service.auth import store as auth_store
from service.jobs import JobState, enqueue, store
from service.services import Services

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def queue_noop(services: Services, count: int = 1) -> list[UUID]:
    with services.db.system() as conn:
        acme = auth_store.ensure_tenant(conn, "acme").id
    with services.db.tenant(acme) as conn:
        return [enqueue(conn, "noop", {}, tenant_id=acme).id for _ in range(count)]


def state_of(services: Services, job_id: UUID) -> JobState:
    with services.db.system() as conn:
        job = store.get(conn, job_id)
    assert job is not None
    return job.state


def wait_until(check: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if check():
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.1)


def env_for(database_url: str) -> dict[str, str]:
    return {**os.environ, "DATABASE_URL": database_url, "VIGIL_JOBS_POLL_S": "0.1", "VIGIL_LOG_JSON": "false"}


@pytest.mark.parametrize("no_worker", [False, True])
def test_serve_runs_a_worker_unless_told_not_to(
    no_worker: bool, services: Services, database_url: str, tmp_path: Path
) -> None:
    [job_id] = queue_noop(services)
    port = free_port()
    argv = [sys.executable, "-m", "service", "--data-dir", str(tmp_path / "d"), "serve", "--port", str(port)]
    proc = subprocess.Popen(
        argv + (["--no-worker"] if no_worker else []),
        cwd=ROOT,
        env=env_for(database_url),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        # a new data dir converts the text encoder before serving (about 20-30 s on 2 cores)
        wait_until(lambda: httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200, 120)
        if no_worker:
            time.sleep(1.0)  # ten poll intervals of a worker, had there been one
            assert state_of(services, job_id) is JobState.QUEUED
        else:
            wait_until(lambda: state_of(services, job_id) is JobState.DONE)
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=20)
    # uvicorn exits by re-raising the signal it caught; the worker stopped before that.
    assert proc.returncode in (0, -signal.SIGTERM), err.decode()
    assert (b"service.jobs.worker: worker" in err and b"stopped" in err) is not no_worker


def test_worker_until_idle_runs_the_ready_jobs(services: Services, database_url: str, tmp_path: Path) -> None:
    jobs = queue_noop(services, 3)
    done = subprocess.run(
        [sys.executable, "-m", "service", "--data-dir", str(tmp_path / "d"), "worker", "--until-idle"],
        cwd=ROOT,
        env=env_for(database_url),
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode()
    assert b"ran 3 job(s)" in done.stdout
    assert all(state_of(services, job_id) is JobState.DONE for job_id in jobs)
