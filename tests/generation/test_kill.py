"""A real worker process SIGKILLed in the middle of a generation job: the job is retried by
another worker and the output released exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from service.services import Services
from service.settings import Settings
from tests.conftest import KeyMaker, bearer
from tests.generation.conftest import audit_events, http_settings
from tests.generation.generator_server import GeneratorServer
from tests.generation.helpers import consented_subject, spec, submit

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def settings(tmp_path: Path, database_url: str, generator: GeneratorServer) -> Settings:
    return http_settings(tmp_path, database_url, generator)


def _wait(check: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.05)


async def test_a_worker_killed_mid_job_is_retried_and_the_output_released_exactly_once(
    client: httpx.AsyncClient,
    make_key: KeyMaker,
    services: Services,
    generator: GeneratorServer,
    settings: Settings,
    database_url: str,
) -> None:
    generator.script = ["hang"]  # the first worker is inside the generator call when it dies
    h = bearer(make_key("studio"))
    sid = await consented_subject(client, h)
    gid = (await submit(client, h, spec(sid))).json()["id"]
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "VIGIL_POLICIES_DIR": str(settings.policies_dir),
        "VIGIL_GENERATOR_BACKEND": "http",
        "VIGIL_GENERATOR_URL": generator.url,
        "VIGIL_GENERATOR_TIMEOUT_S": "30",
        "VIGIL_JOBS_LEASE_S": "1.5",
        "VIGIL_JOBS_POLL_S": "0.1",
        "VIGIL_LOG_JSON": "false",
    }
    started: list[subprocess.Popen[bytes]] = []

    def spawn() -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(
            [sys.executable, "-m", "service", "--data-dir", str(settings.data_dir), "worker"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )
        started.append(proc)
        return proc

    def status() -> str:
        with services.db.system() as conn:
            row = conn.execute("SELECT status FROM generations WHERE id = %s", (gid,)).fetchone()
        assert row is not None
        return str(row[0])

    try:
        first = spawn()
        _wait(lambda: generator.requests == ["hang"])
        assert status() == "running"
        first.send_signal(signal.SIGKILL)
        assert first.wait(10) == -signal.SIGKILL
        assert status() == "running"  # nothing downloadable from the dead attempt
        second = spawn()
        _wait(lambda: status() == "released")
        second.send_signal(signal.SIGTERM)
        assert second.wait(30) == 0
    finally:
        for proc in started:
            if proc.poll() is None:
                proc.kill()
            proc.wait(10)
    assert generator.requests == ["hang", "ok"]
    with services.db.system() as conn:
        job = conn.execute("SELECT state, attempt FROM jobs").fetchone()
        manifests = conn.execute(
            "SELECT count(*) FROM provenance_manifests m JOIN generations g ON g.asset_id::text = m.asset_id "
            "WHERE g.id = %s",
            (gid,),
        ).fetchone()
    assert job is not None
    assert tuple(job) == ("done", 2)
    assert manifests is not None
    assert manifests[0] == 1
    assert audit_events(services, "generation.released", gid) == 1
    assert (await client.get(f"/v1/generations/{gid}/output", headers=h)).status_code == 200
