"""Faults: a generator that fails, times out or answers garbage: the job fails with a reason."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from service.composition import generation_registry
from service.jobs import Worker
from service.jobs import store as jobs_store
from service.services import Services
from service.settings import Settings
from tests.conftest import KeyMaker, bearer
from tests.generation.conftest import audit_events, http_settings, run_jobs
from tests.generation.generator_server import GeneratorServer
from tests.generation.helpers import consented_subject, spec, submit


@pytest.fixture
def settings(tmp_path: Path, database_url: str, generator: GeneratorServer) -> Settings:
    return http_settings(tmp_path, database_url, generator)


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
    assert audit_events(services, "generation.failed", gid) == 1
    assert not list(services.settings.quarantine_dir.glob(f".{gid}.*.part")), "a dead job leaves no parts"
    assert audit_events(services, "generation.released", gid) == 0


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
    assert audit_events(services, "generation.released", gid) == 1


async def test_a_job_whose_workers_keep_dying_ends_failed_not_pending(
    client: httpx.AsyncClient, make_key: KeyMaker, services: Services
) -> None:
    h = bearer(make_key("studio"))
    sid = await consented_subject(client, h)
    gid = (await submit(client, h, spec(sid))).json()["id"]
    # generation_max_attempts = 2: two workers claim the job and vanish without a word.
    for attempt in (1, 2):
        with services.db.system() as conn:
            conn.execute("UPDATE jobs SET run_after = now()")
            job = jobs_store.claim(conn, worker_id="vanished:1:0", lease_s=0.01, kinds=("generation.run",))
        assert job is not None
        assert job.attempt == attempt
        # the vanished worker was killed mid-encode: its part file stays in quarantine
        services.settings.quarantine_dir.mkdir(parents=True, exist_ok=True)
        (services.settings.quarantine_dir / f".{gid}.attempt{attempt}.part").write_bytes(b"half an MP4")
        time.sleep(0.05)
        if attempt == 1:
            with services.db.system() as conn:
                jobs_store.requeue_expired(conn, caps={"generation.run": 2})
    worker = Worker(db=services.db, registry=generation_registry(), services=services)
    try:
        worker.run_pending()  # its reaper records the dead letter and runs the flow's on_dead hook
    finally:
        worker.close()
    with services.db.system() as conn:
        row = conn.execute("SELECT state FROM jobs").fetchone()
    assert row is not None
    assert row[0] == "dead"
    got = (await client.get(f"/v1/generations/{gid}", headers=h)).json()
    assert got["status"] == "failed"
    assert got["reasons"][0]["rule"] == "generation.job_dead"
    assert audit_events(services, "generation.failed", gid) == 1
