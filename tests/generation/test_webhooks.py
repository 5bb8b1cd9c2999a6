"""A studio's webhook is told each status its generation reaches: held, then released."""

from __future__ import annotations

import json

import httpx
import pytest

from service.composition import job_registry
from service.jobs import Backoff, Worker
from service.services import Services
from service.settings import Settings
from tests.conftest import KeyMaker, bearer
from tests.generation.helpers import approve_next, consented_subject, reviewers, spec, submit
from tests.loopback import serving
from tests.receiver import Endpoint, verify_signature


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"webhook_allow_private": True})  # the receiver is on loopback


def run_every_job(services: Services) -> None:
    worker = Worker(
        db=services.db, registry=job_registry(services.settings), services=services, backoff=Backoff()
    )
    try:
        while worker.run_pending():
            pass
    finally:
        worker.close()


async def test_a_studio_is_told_when_its_generation_is_held_and_when_it_is_released(
    client: httpx.AsyncClient, make_key: KeyMaker, services: Services
) -> None:
    studio = bearer(make_key("studio"))
    receiver = Endpoint([])
    with serving(post=receiver) as base:
        body = {"url": f"{base}/hooks/vigil", "events": ["generation.status_changed"]}
        created = await client.post("/v1/webhooks", json=body, headers=studio)
        assert created.status_code == 201, created.text
        secret = created.json()["secret"]
        sid = await consented_subject(client, studio)
        submitted = await submit(client, studio, spec(sid))
        gid = submitted.json()["id"]
        run_every_job(services)  # generates, holds it for review (no image model), tells the studio
        assert await approve_next(client, reviewers(make_key)) == gid
        run_every_job(services)

    told = []
    for headers, raw in receiver.received:
        verify_signature(secret, headers, raw)
        told.append(json.loads(raw)["data"])
    assert [(t["generation_id"], t["status"]) for t in told] == [(gid, "held"), (gid, "released")]
    assert "signal.image_model.not_configured" in told[0]["rules"]
    current = (await client.get(f"/v1/generations/{gid}", headers=studio)).json()
    assert current["status"] == "released"
