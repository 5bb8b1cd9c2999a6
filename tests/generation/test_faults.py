"""Faults: a generator that fails, times out or answers garbage, and a worker killed mid-job."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from service.provenance.certs import init_signing
from service.services import Services
from service.settings import Settings
from tests.conftest import KeyMaker, bearer
from tests.generation.conftest import run_jobs, screened_policies
from tests.generation.generator_server import GeneratorServer, serving
from tests.generation.helpers import consented_subject, spec, submit

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def generator() -> Iterator[GeneratorServer]:
    with serving() as server:
        yield server


@pytest.fixture
def settings(tmp_path: Path, database_url: str, generator: GeneratorServer) -> Settings:
    made = Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        log_json=False,
        db_pool_min=1,
        policies_dir=screened_policies(tmp_path),
        generator_backend="http",
        generator_url=generator.url,
        generator_timeout_s=0.5,
        generator_retries=1,
        generator_backoff_s=0.01,
        generation_max_attempts=2,
    )
    init_signing(made.keys_dir, "Acme Memorials")
    return made


def _events(services: Services, event: str, subject: str) -> int:
    with services.db.system() as conn:
        row = conn.execute(
            "SELECT count(*) FROM audit_entries WHERE event = %s AND position(%s in convert_from(entry, 'UTF8')) > 0",
            (event, subject),
        ).fetchone()
    assert row is not None
    return int(row[0])


@pytest.mark.parametrize("behaviour", ["500", "garbage", "slow"])
async def test_a_failing_generator_fails_the_job_with_a_reason_and_releases_nothing(
    client: httpx.AsyncClient,
    make_key: KeyMaker,
    services: Services,
    generator: GeneratorServer,
    behaviour: str,
) -> None:
    generator.script = [behaviour] * 4  # 2 job attempts x (1 call + 1 retry)
    h = bearer(make_key("studio"))
    sid = await consented_subject(client, h)
    gid = (await submit(client, h, spec(sid))).json()["id"]
    run_jobs(services)
    got = (await client.get(f"/v1/generations/{gid}", headers=h)).json()
    assert got["status"] == "failed", got
    assert got["reasons"][0]["rule"] == "generation.generator_failed"
    assert got["output"] is None
    assert generator.requests == [behaviour] * 4
    assert (await client.get(f"/v1/generations/{gid}/output", headers=h)).status_code == 409
    assert _events(services, "generation.failed", gid) == 1
    assert _events(services, "generation.released", gid) == 0


async def test_a_generator_that_recovers_within_the_retries_is_released(
    client: httpx.AsyncClient, make_key: KeyMaker, services: Services, generator: GeneratorServer
) -> None:
    generator.script = ["500", "500", "ok"]  # the first job attempt fails, the second succeeds
    h = bearer(make_key("studio"))
    sid = await consented_subject(client, h)
    gid = (await submit(client, h, spec(sid))).json()["id"]
    run_jobs(services)
    got = (await client.get(f"/v1/generations/{gid}", headers=h)).json()
    assert got["status"] == "released", got
    assert _events(services, "generation.released", gid) == 1


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
    assert _events(services, "generation.released", gid) == 1
    assert (await client.get(f"/v1/generations/{gid}/output", headers=h)).status_code == 200
