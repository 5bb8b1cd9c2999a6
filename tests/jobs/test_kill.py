"""Real worker processes: one is SIGKILLed mid-job, another retries it once; SIGTERM stops cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from uuid import UUID

import pytest

from service.auth import store as auth_store
from service.jobs import Job, JobState, enqueue, store
from service.services import Services

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def spawn(tmp_path: Path, database_url: str) -> Iterator[Callable[[], subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "VIGIL_JOBS_LEASE_S": "1.5",
        "VIGIL_JOBS_POLL_S": "0.1",
        "VIGIL_JOBS_STOP_GRACE_S": "5",
        "VIGIL_JOB_MODULES": '["tests.jobs.handlers"]',
        "VIGIL_LOG_JSON": "false",
    }

    def start() -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(
            [sys.executable, "-m", "service", "--data-dir", str(tmp_path / "data"), "worker"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        started.append(proc)
        return proc

    yield start
    for proc in started:
        if proc.poll() is None:
            proc.kill()
        proc.wait(10)
        if proc.stdout is not None:
            proc.stdout.close()


def wait_for(check: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.05)


def read(services: Services, job_id: UUID) -> Job:
    with services.db.system() as conn:
        job = store.get(conn, job_id)
    assert job is not None
    return job


def test_killed_worker_job_is_retried_by_another_and_completed_once(
    services: Services, spawn: Callable[[], subprocess.Popen[bytes]], tmp_path: Path
) -> None:
    log = tmp_path / "effects.log"
    with services.db.system() as conn:
        acme = auth_store.ensure_tenant(conn, "acme").id
    with services.db.tenant(acme) as conn:
        job = enqueue(conn, "test.block-first", {"log": str(log)}, tenant_id=acme, max_attempts=3)

    first = spawn()
    wait_for(lambda: log.exists() and "started 1" in log.read_text())
    held = read(services, job.id)
    assert held.state is JobState.RUNNING
    assert held.worker_id is not None
    assert held.worker_id.split(":")[1] == str(first.pid)

    first.send_signal(signal.SIGKILL)
    assert first.wait(10) == -signal.SIGKILL

    second = spawn()
    wait_for(lambda: read(services, job.id).state is JobState.DONE, timeout=30)
    second.send_signal(signal.SIGTERM)
    out, _ = second.communicate(timeout=20)
    assert second.returncode == 0, out.decode()
    assert b"OK: worker stopped" in out

    finished = read(services, job.id)
    assert finished.attempt == 2
    assert finished.worker_id is not None
    assert finished.worker_id.split(":")[1] == str(second.pid)
    lines = log.read_text().splitlines()
    assert [line.split()[:2] for line in lines] == [["started", "1"], ["started", "2"], ["done", "2"]]


def test_sigterm_hands_the_current_job_back(
    services: Services, spawn: Callable[[], subprocess.Popen[bytes]]
) -> None:
    with services.db.system() as conn:
        acme = auth_store.ensure_tenant(conn, "acme").id
    with services.db.tenant(acme) as conn:
        job = enqueue(conn, "sleep", {"seconds": 600}, tenant_id=acme)
    proc = spawn()
    wait_for(lambda: read(services, job.id).state is JobState.RUNNING)
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=20)
    assert proc.returncode == 0, out.decode()
    back = read(services, job.id)
    assert back.state is JobState.QUEUED
    assert back.attempt == 0  # a handed-back attempt does not count
    assert back.worker_id is None
