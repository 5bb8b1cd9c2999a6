"""What the record keeps and what it never lets out: the prompt stays in the record (never in
the log or the logs), and concurrent requests with one Idempotency-Key make one generation."""

from __future__ import annotations

import asyncio
import logging
import re
from uuid import UUID

import httpx
import pytest

from service.audit.log import integrate_all
from service.errors import Conflict
from service.generate import store as generation_store
from service.generate.records import TRANSITIONS, GenerationStatus
from service.services import Services
from tests.conftest import KeyMaker, bearer
from tests.generation.conftest import run_jobs
from tests.generation.helpers import approve_next, consented_subject, reviewers, spec, submit

SECRET_PROMPT = "Grandfather Mykola Zakharchenko waves from the Dnipro embankment"
SECRET_CAPTION = "Mykola 1931-2024"


async def test_the_prompt_and_caption_never_reach_the_audit_log_or_the_logs(
    client: httpx.AsyncClient, make_key: KeyMaker, services: Services, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    h = bearer(make_key("studio"))
    reviewer = reviewers(make_key)
    sid = await consented_subject(client, h)
    gid = (await submit(client, h, spec(sid, prompt=SECRET_PROMPT, caption=SECRET_CAPTION))).json()["id"]
    run_jobs(services)
    await approve_next(client, reviewer)
    assert (await client.get(f"/v1/generations/{gid}", headers=h)).json()["status"] == "released"
    with services.db.system() as conn:
        integrate_all(conn)  # the queued log events are in the tree
        entries = [bytes(row[0]).decode() for row in conn.execute("SELECT entry FROM audit_entries")]
        jobs = [str(row[0]) for row in conn.execute("SELECT payload::text FROM jobs")]
    assert any(gid in entry for entry in entries)
    for text in (SECRET_PROMPT, SECRET_CAPTION, "Zakharchenko", "Mykola"):
        assert not any(text in entry for entry in entries), text
        assert not any(text in payload for payload in jobs), text
        assert text not in caplog.text, text


async def test_concurrent_requests_with_one_key_make_one_generation(
    client: httpx.AsyncClient, make_key: KeyMaker, services: Services
) -> None:
    h = bearer(make_key("studio"))
    sid = await consented_subject(client, h)
    answers = await asyncio.gather(*(submit(client, h, spec(sid), key="order-77") for _ in range(4)))
    assert {a.status_code for a in answers} == {202}
    assert len({a.json()["id"] for a in answers}) == 1
    with services.db.system() as conn:
        row = conn.execute("SELECT count(*), (SELECT count(*) FROM jobs) FROM generations").fetchone()
    assert row is not None
    assert tuple(row) == (1, 1)


async def _released(
    client: httpx.AsyncClient, make_key: KeyMaker, services: Services
) -> tuple[dict[str, str], str]:
    """A studio's generation, held for a person and approved: (the studio's headers, its id)."""
    h = bearer(make_key("studio"))
    sid = await consented_subject(client, h)
    gid = (await submit(client, h, spec(sid))).json()["id"]
    run_jobs(services)
    await approve_next(client, reviewers(make_key))
    return h, str(gid)


async def test_a_released_output_is_linked_to_its_grant_so_revocation_reaches_it(
    client: httpx.AsyncClient, make_key: KeyMaker, services: Services
) -> None:
    h, gid = await _released(client, make_key, services)
    asset_id = (await client.get(f"/v1/generations/{gid}", headers=h)).json()["output"]["asset_id"]
    with services.db.system() as conn:
        row = conn.execute("SELECT grant_ids[1] FROM generations WHERE id = %s", (gid,)).fetchone()
    assert row is not None
    revoked = (await client.post(f"/v1/consents/{row[0]}/revoke", headers=h)).json()
    assert asset_id in revoked["affected_assets"]


async def test_the_reviewer_page_shows_the_held_output_and_the_prompt_escaped(
    client: httpx.AsyncClient, make_key: KeyMaker, services: Services
) -> None:
    h = bearer(make_key("studio"))
    sid = await consented_subject(client, h)
    prompt = 'farewell at dawn <script>alert("x")</script>'
    gid = (await submit(client, h, spec(sid, prompt=prompt))).json()["id"]
    run_jobs(services)
    held = (await client.get(f"/v1/generations/{gid}", headers=h)).json()
    page = await client.get("/review/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf is not None
    login = await client.post("/review/login", data={"token": make_key("reviewer"), "csrf": csrf.group(1)})
    assert login.status_code == 303
    item = await client.get(f"/review/{held['flag_id']}")
    assert item.status_code == 200
    assert "<script>alert" not in item.text
    assert "farewell at dawn" in item.text
    with services.db.system() as conn:
        row = conn.execute("SELECT quarantine_sha256 FROM generations WHERE id = %s", (gid,)).fetchone()
    assert row is not None
    assert f"/review/media/{held['flag_id']}/{row[0]}" in item.text
    media = await client.get(f"/review/media/{held['flag_id']}/{row[0]}")
    assert media.status_code == 200
    assert media.content == services.blobs.read(row[0])


async def test_a_status_moves_only_along_the_transition_table(
    client: httpx.AsyncClient, make_key: KeyMaker, services: Services
) -> None:
    back = {GenerationStatus.QUEUED, GenerationStatus.HELD}
    assert all(not (nexts & back) for s, nexts in TRANSITIONS.items() if not s.pending)  # never back
    h, gid = await _released(client, make_key, services)
    tenant = UUID(str((await client.get("/v1/whoami", headers=h)).json()["tenant_id"]))
    with services.db.tenant(tenant) as conn, pytest.raises(Conflict, match="released cannot become held"):
        generation_store.update(conn, UUID(gid), status=GenerationStatus.HELD)
    got = (await client.get(f"/v1/generations/{gid}", headers=h)).json()
    assert got["status"] == "released"  # the refused change left the record as it was
