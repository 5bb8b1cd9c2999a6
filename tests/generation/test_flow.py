"""The generation flow through the HTTP API: denied, held then approved, propaganda held (a score
alone never blocks), the classifiers named in the signed manifest,
released without review where policy allows it, and the bad-input cases of submission."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import numpy as np
import pytest
from PIL import Image

from service.composition import open_services
from service.labels import detect
from service.policy.load import CATEGORIES as CATEGORY_NAMES
from service.services import Services
from service.settings import Settings
from tests.certain_text import use_certain_text
from tests.conftest import KeyMaker, bearer
from tests.generation.conftest import run_jobs, screened_policies
from tests.generation.helpers import (
    PROPAGANDA_PROMPT,
    approve_next,
    consented_subject,
    decide_next,
    overturn_appeal,
    photo_bytes,
    reviewers,
    spec,
    subject,
    submit,
)


def _counts(services: Services) -> tuple[int, int]:
    with services.db.system() as conn:
        gens = conn.execute("SELECT count(*) FROM generations").fetchone()
        jobs = conn.execute("SELECT count(*) FROM jobs").fetchone()
    assert gens is not None
    assert jobs is not None
    return int(gens[0]), int(jobs[0])


async def test_without_consent_the_request_is_denied_with_the_reason(
    client: httpx.AsyncClient, make_key: KeyMaker, services: Services
) -> None:
    h = bearer(make_key("studio"))
    sid = await subject(client, h)  # no grant on file
    r = await submit(client, h, spec(sid))
    assert r.status_code == 202, r.text
    assert r.json()["status"] == "denied"
    got = (await client.get(f"/v1/generations/{r.json()['id']}", headers=h)).json()
    assert got["status"] == "denied"
    assert got["reasons"]
    assert got["reasons"][0]["source"].endswith(sid)
    assert got["output"] is None
    out = await client.get(f"/v1/generations/{r.json()['id']}/output", headers=h)
    assert out.status_code == 409
    assert _counts(services) == (1, 0)  # recorded, nothing queued


async def test_held_output_is_released_after_a_reviewer_approves(
    client: httpx.AsyncClient, make_key: KeyMaker, services: Services, tmp_path: Path
) -> None:
    h = bearer(make_key("studio"))
    reviewer = reviewers(make_key)
    sid = await consented_subject(client, h)
    r = await submit(client, h, spec(sid))
    assert r.status_code == 202, r.text
    assert r.json()["status"] == "queued"
    gid = r.json()["id"]
    run_jobs(services)

    held = (await client.get(f"/v1/generations/{gid}", headers=h)).json()
    assert held["status"] == "held", held
    # The shipped policy holds outputs no image model screened (precedence row 12).
    assert "signal.image_model.not_configured" in {x["rule"] for x in held["reasons"]}
    assert (await client.get(f"/v1/generations/{gid}/output", headers=h)).status_code == 409

    # Held because no image model screened it: filed as `unscreened`, its SLA from the policy.
    [flag] = (await client.get("/v1/flags", headers=reviewer[0])).json()["flags"]
    assert (flag["source"]["id"], flag["category"]) == (gid, "unscreened")
    # An API-only reviewer gets every text under its source, the media and the consent behind it.
    detail = (await client.get(f"/v1/flags/{flag['id']}", headers=reviewer[0])).json()
    ctx = detail["context"]
    # The prompt and caption, then whatever OCR read on the output (the caption is burned into it).
    assert [(t["source"], t["heading"]) for t in ctx["texts"]][:2] == [
        ("prompt", "Generation prompt"),
        ("caption", "Caption"),
    ]
    assert {t["source"] for t in ctx["texts"][2:]} <= {"ocr"}
    assert ctx["texts"][1]["text"] == "Forever with us"
    output = next(m for m in ctx["media"] if m["role"] == "output")
    media = await client.get(output["url"], headers=reviewer[0])
    assert (media.status_code, media.headers["content-type"]) == (200, output["mime"])
    assert (await client.get(output["url"], headers=h)).status_code == 403  # studios are not reviewers
    consent = ctx["consent"]
    assert (consent["applicable"], consent["status"]) == (True, "active")
    [grant] = consent["grants"]
    assert grant["legal_basis"] == "RU-CC-152.1"
    assert grant["grantors"] == ["spouse, none"]
    assert (grant["purposes"], grant["audiences"], grant["markets"]) == (
        ["private_memorial"],
        ["family"],
        ["*"],
    )
    assert grant["subject"]
    assert "Yelena" not in str(consent)  # grantors by relationship, never by name
    source, answer = await decide_next(client, reviewer)
    assert source == gid
    assert [(e["target"], e["result"]) for e in answer["effects"]] == [(f"generation:{gid}", "released")]
    released = (await client.get(f"/v1/generations/{gid}", headers=h)).json()
    assert released["status"] == "released", released
    assert released["output"]["mime"] == "image/jpeg"
    out = await client.get(released["output"]["url"], headers=h)
    assert out.status_code == 200
    assert out.headers["content-type"] == "image/jpeg"
    path = tmp_path / "released.jpg"
    path.write_bytes(out.content)

    # Provenance: Trusted, AI source type, the asset id, and the reviewer's decision recorded.
    auditor = bearer(make_key("auditor"))
    report = (await client.post("/v1/verify", files={"file": ("x.jpg", out.content)}, headers=auditor)).json()
    assert report["state"] == "trusted", report
    assert report["ai_generated"] is True
    assert report["digital_source_type"].startswith("http://cv.iptc.org/newscodes/digitalsourcetype/")
    assert report["asset_id"] == released["output"]["asset_id"]
    moderation = report["assertions"]["vigil.moderation"]
    assert moderation["verdict"] == "approved_by_reviewer"
    # The signed assertion names the classifiers that screened it, as the record does.
    versions = moderation["classifier_versions"]
    assert "+probes-" in versions["text-probe"]
    assert versions["lexicon"].startswith("lexicon-")
    assert versions["clip-zero-shot"] == "not_configured"
    assert released["classifier_versions"] == versions
    # Machine-readable label layers, and a visible label burned into the top-right corner.
    layers = detect(path)
    assert layers.xmp
    assert layers.digital_source_type == report["digital_source_type"]
    with services.db.tenant(_tenant(services)) as conn:
        row = conn.execute("SELECT quarantine_sha256 FROM generations WHERE id = %s", (gid,)).fetchone()
    assert row is not None
    raw = np.asarray(Image.open(services.blobs.path(row[0])).convert("L"), dtype=float)
    labelled = np.asarray(Image.open(io.BytesIO(out.content)).convert("L"), dtype=float)
    h_, w_ = raw.shape
    corner = (slice(0, h_ // 8), slice(w_ - w_ // 4, w_))
    opposite = (slice(h_ - h_ // 8, h_), slice(0, w_ // 4))
    assert (
        np.abs(raw[corner] - labelled[corner]).mean() > 3 * np.abs(raw[opposite] - labelled[opposite]).mean()
    )


def _tenant(services: Services) -> UUID:
    with services.db.system() as conn:
        row = conn.execute("SELECT id FROM tenants WHERE name = 'acme'").fetchone()
    assert row is not None
    return UUID(str(row[0]))


async def test_propaganda_prompt_is_held_and_not_downloadable_until_approved(
    client: httpx.AsyncClient, make_key: KeyMaker, services: Services
) -> None:
    h = bearer(make_key("studio"))
    reviewer = reviewers(make_key)
    sid = await consented_subject(client, h)
    gid = (await submit(client, h, spec(sid, prompt=PROPAGANDA_PROMPT))).json()["id"]
    run_jobs(services)
    held = (await client.get(f"/v1/generations/{gid}", headers=h)).json()
    assert held["status"] == "held"
    assert held["decision"] == "review"
    text_reasons = [x for x in held["reasons"] if x["rule"].startswith(("score.", "lexicon."))]
    assert text_reasons, held["reasons"]
    assert all(x["detail"].endswith(("(prompt)", "(caption)")) for x in text_reasons), text_reasons
    assert any(x["detail"].endswith("(prompt)") for x in text_reasons)
    assert not any(x["rule"].endswith(".block") for x in held["reasons"])
    assert held["flag_id"] is not None
    assert (await client.get(f"/v1/generations/{gid}/output", headers=h)).status_code == 409
    assert await approve_next(client, reviewer) == gid
    assert (await client.get(f"/v1/generations/{gid}/output", headers=h)).status_code == 200


async def test_a_rejected_output_is_withheld_and_banked_until_an_appeal_overturns_it(
    client: httpx.AsyncClient, make_key: KeyMaker, services: Services
) -> None:
    h = bearer(make_key("studio"))
    reviewer = reviewers(make_key)
    sid = await consented_subject(client, h)
    gid = (await submit(client, h, spec(sid, prompt=PROPAGANDA_PROMPT))).json()["id"]
    run_jobs(services)
    await approve_next(client, reviewer, decision="reject")
    got = (await client.get(f"/v1/generations/{gid}", headers=h)).json()
    assert got["status"] == "blocked"
    assert got["reasons"][0]["rule"] == "review.reject"
    assert (await client.get(f"/v1/generations/{gid}/output", headers=h)).status_code == 409

    # The held picture, re-encoded, uploaded by another tenant's platform: blocked by the bank.
    with services.db.system() as conn:
        row = conn.execute("SELECT quarantine_sha256 FROM generations WHERE id = %s", (gid,)).fetchone()
    assert row is not None
    copy = io.BytesIO()
    Image.open(services.blobs.path(row[0])).convert("RGB").save(copy, "JPEG", quality=75)
    platform = bearer(make_key("platform", tenant="elsewhere"))

    async def check_copy() -> dict[str, Any]:
        r = await client.post(
            "/v1/check", files={"file": ("up.jpg", copy.getvalue(), "image/jpeg")}, headers=platform
        )
        assert r.status_code == 200, r.text
        return dict(r.json())

    before_jobs = await check_copy()
    assert not [m for m in before_jobs["matches"] if m["bank"] == "rejected-outputs"]
    run_jobs(services)
    blocked = await check_copy()
    assert blocked["decision"] == "block"
    hits = [m for m in blocked["matches"] if m["bank"] == "rejected-outputs"]
    assert hits
    assert hits[0]["distance"] <= 31
    assert f"generation:{gid}" in hits[0]["labels"]

    # The studio appeals; another reviewer overturns: released, and out of the bank again.
    filed = await client.post(
        f"/v1/flags/{got['flag_id']}/appeal", json={"statement": "A private memorial."}, headers=h
    )
    assert filed.status_code == 201, filed.text
    assert (await overturn_appeal(client, reviewer))["appeal_status"] == "overturned"
    assert (await client.get(f"/v1/generations/{gid}", headers=h)).json()["status"] == "released"
    run_jobs(services)
    after = await check_copy()
    assert not [m for m in after["matches"] if m["bank"] == "rejected-outputs"]


async def test_classifier_evidence_alone_holds_an_output_for_a_person_and_never_blocks_it(
    client: httpx.AsyncClient, make_key: KeyMaker, services: Services
) -> None:
    use_certain_text(services)  # 0.99 for every category, for every text
    h = bearer(make_key("studio"))
    reviewer = reviewers(make_key)
    sid = await consented_subject(client, h)
    body = spec(sid, script="The words a cloned voice would say.", caption="Forever with us")
    gid = (await submit(client, h, body)).json()["id"]
    run_jobs(services)
    held = (await client.get(f"/v1/generations/{gid}", headers=h)).json()
    assert (held["status"], held["decision"]) == ("held", "review"), held
    assert not any(x["rule"].endswith(".block") for x in held["reasons"])
    scored: dict[str, set[str]] = {}
    for x in held["reasons"]:
        if x["rule"].startswith("score."):
            scored.setdefault(x["detail"].rsplit("(", 1)[1].rstrip(")"), set()).add(x["rule"])
    review_rules = {f"score.{c}.review" for c in CATEGORY_NAMES}
    # Words OCR reads on the output (the burned-in caption) are scored too, under "ocr".
    assert {k: v for k, v in scored.items() if k != "ocr"} == {
        "prompt": review_rules, "script": review_rules, "caption": review_rules
    }  # fmt: skip
    versions = dict(held["classifier_versions"])
    assert versions.pop("ocr").startswith(("tesseract:", "not_configured"))
    assert versions.pop("symbols").startswith(("symbols-", "not_configured"))  # the symbol bank
    assert versions == {"certain-text": "certain-1", "clip-zero-shot": "not_configured"}

    page = await _review_page(client, make_key, held["flag_id"])
    for source in ("prompt", "script", "caption"):
        assert f'data-source="{source}"' in page  # each text under its name, for the reviewer
    assert '<td class="source">script</td>' in page

    assert await approve_next(client, reviewer) == gid
    released = (await client.get(f"/v1/generations/{gid}", headers=h)).json()
    assert released["status"] == "released"
    out = await client.get(released["output"]["url"], headers=h)
    auditor = bearer(make_key("auditor"))
    report = (await client.post("/v1/verify", files={"file": ("x.jpg", out.content)}, headers=auditor)).json()
    signed = dict(report["assertions"]["vigil.moderation"]["classifier_versions"])
    assert signed.pop("ocr").startswith(("tesseract:", "not_configured"))  # the words on the picture
    assert signed.pop("symbols").startswith(("symbols-", "not_configured"))  # the symbols on it
    assert signed == {"certain-text": "certain-1", "clip-zero-shot": "not_configured"}


async def _review_page(client: httpx.AsyncClient, make_key: KeyMaker, flag_id: str) -> str:
    """The reviewer page of a flag, as a reviewer of the tenant sees it after logging in."""
    form = (await client.get("/review/login")).text
    csrf = re.search(r'name="csrf" value="([^"]+)"', form)
    assert csrf is not None
    login = await client.post("/review/login", data={"token": make_key("reviewer"), "csrf": csrf.group(1)})
    assert login.status_code == 303, login.text
    page = await client.get(f"/review/{flag_id}")
    assert page.status_code == 200, page.text
    return page.text


@pytest.fixture
def screened_settings(settings: Settings, tmp_path: Path) -> Settings:
    return settings.model_copy(update={"policies_dir": screened_policies(tmp_path)})


async def test_where_policy_allows_it_a_clean_output_is_released_without_review(
    screened_settings: Settings, database_url: str, make_key: KeyMaker
) -> None:
    from service.app import create_app

    services = open_services(screened_settings)
    try:
        app = create_app(screened_settings, services=services)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
            h = bearer(make_key("studio"))
            sid = await consented_subject(client, h)
            gid = (await submit(client, h, spec(sid))).json()["id"]
            run_jobs(services)
            got = (await client.get(f"/v1/generations/{gid}", headers=h)).json()
            assert got["status"] == "released", got
            assert got["decision"] in ("allow", "label")
            out = await client.get(got["output"]["url"], headers=h)
            assert out.status_code == 200
            auditor = bearer(make_key("auditor"))
            report = (
                await client.post("/v1/verify", files={"file": ("x.jpg", out.content)}, headers=auditor)
            ).json()
            signed = report["assertions"]["vigil.moderation"]
            assert signed["verdict"] == got["decision"]
            assert signed["classifier_versions"] == got["classifier_versions"]
            assert set(signed["classifier_versions"]) == {
                "text-probe", "lexicon", "clip-zero-shot", "ocr", "symbols"
            }  # fmt: skip
    finally:
        services.close()


async def test_a_propaganda_prompt_is_held_even_where_clean_outputs_go_out_unreviewed(
    screened_settings: Settings, make_key: KeyMaker
) -> None:
    from service.app import create_app

    services = open_services(screened_settings)
    try:
        app = create_app(screened_settings, services=services)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
            h = bearer(make_key("studio"))
            sid = await consented_subject(client, h)
            gid = (await submit(client, h, spec(sid, prompt=PROPAGANDA_PROMPT))).json()["id"]
            run_jobs(services)
            got = (await client.get(f"/v1/generations/{gid}", headers=h)).json()
            assert got["status"] == "held", got
            rules = {x["rule"] for x in got["reasons"]}
            assert any(rule.startswith(("score.", "lexicon.")) for rule in rules), rules
            assert not any(rule.endswith(".block") for rule in rules)
            assert (await client.get(f"/v1/generations/{gid}/output", headers=h)).status_code == 409
    finally:
        services.close()


async def test_idempotency_key_returns_the_same_job_and_refuses_another_body(
    client: httpx.AsyncClient, make_key: KeyMaker, services: Services
) -> None:
    h = bearer(make_key("studio"))
    sid = await consented_subject(client, h)
    first = await submit(client, h, spec(sid), key="order-1042")
    again = await submit(client, h, spec(sid), key="order-1042")
    assert first.status_code == again.status_code == 202
    assert first.json()["id"] == again.json()["id"]
    other = await submit(client, h, spec(sid, prompt="another prompt"), key="order-1042")
    assert other.status_code == 409
    assert other.json()["error"]["code"] == "conflict"
    assert _counts(services) == (1, 1)


@pytest.mark.parametrize(
    ("case", "files"),
    [
        ("truncated_photo.jpg", [photo_bytes(1)[:2000]]),
        ("text_as_photo.jpg", [b"not a photo at all, just text " * 20]),
        ("one_good_one_truncated.jpg", [photo_bytes(1), photo_bytes(2)[:1500]]),
    ],
)
async def test_photos_that_fail_intake_are_refused_before_anything_is_queued(
    client: httpx.AsyncClient, make_key: KeyMaker, services: Services, case: str, files: list[bytes]
) -> None:
    h = bearer(make_key("studio"))
    sid = await consented_subject(client, h)
    r = await submit(client, h, spec(sid), photos=files)
    assert r.status_code in (415, 422), (case, r.text)
    assert _counts(services) == (0, 0)


@pytest.mark.parametrize(
    "bad",
    [
        "not json",
        '{"subjects": [], "purpose": "private_memorial", "audience": "family", '
        '"output": "image", "prompt": "x"}',
        '{"subjects": [{"subject_id": "nope"}], "purpose": "private_memorial", "audience": "family", '
        '"output": "image", "prompt": "x"}',
    ],
)
async def test_malformed_specs_are_422(
    client: httpx.AsyncClient, make_key: KeyMaker, services: Services, bad: str
) -> None:
    h = bearer(make_key("studio"))
    r = await client.post(
        "/v1/generations",
        data={"spec": bad},
        files=[("photos", ("p.jpg", photo_bytes(1), "image/jpeg"))],
        headers=h,
    )
    assert r.status_code == 422, r.text
    assert _counts(services) == (0, 0)


async def test_other_tenants_and_roles_cannot_see_a_generation(
    client: httpx.AsyncClient, make_key: KeyMaker
) -> None:
    h = bearer(make_key("studio"))
    sid = await consented_subject(client, h)
    gid = (await submit(client, h, spec(sid))).json()["id"]
    other = bearer(make_key("studio", tenant="globex"))
    assert (await client.get(f"/v1/generations/{gid}", headers=other)).status_code == 404
    platform = bearer(make_key("platform"))
    assert (await client.get(f"/v1/generations/{gid}", headers=platform)).status_code == 403


async def test_consent_revoked_while_held_stops_the_release(
    client: httpx.AsyncClient, make_key: KeyMaker, services: Services
) -> None:
    h = bearer(make_key("studio"))
    reviewer = reviewers(make_key)
    sid = await consented_subject(client, h)
    gid = (await submit(client, h, spec(sid))).json()["id"]
    run_jobs(services)
    assert (await client.get(f"/v1/generations/{gid}", headers=h)).json()["status"] == "held"
    with services.db.tenant(_tenant(services)) as conn:
        row = conn.execute("SELECT grant_ids[1] FROM generations WHERE id = %s", (gid,)).fetchone()
    assert row is not None
    assert (await client.post(f"/v1/consents/{row[0]}/revoke", headers=h)).status_code == 200
    source, answer = await decide_next(client, reviewer)
    assert source == gid
    # The reviewer is told the approval did not release it, and why.
    assert [(e["target"], e["result"]) for e in answer["effects"]] == [(f"generation:{gid}", "denied")]
    assert "withdrawn" in answer["effects"][0]["detail"]
    got = (await client.get(f"/v1/generations/{gid}", headers=h)).json()
    assert got["status"] == "denied", got
    assert "revoked" in got["reasons"][0]["detail"]
    assert (await client.get(f"/v1/generations/{gid}/output", headers=h)).status_code == 409


async def test_a_revoked_output_is_no_longer_served_and_every_verifier_says_so(
    client: httpx.AsyncClient, make_key: KeyMaker, services: Services, settings: Settings, tmp_path: Path
) -> None:
    """After the widow withdraws consent: the download is 410, the generation reads `revoked`,
    and verify (API, page, CLI) reports the revocation beside `trusted`, for the signed file and
    for a stripped copy recovered by fingerprint. The manifest names the grant by its hash."""
    from tests.vigil_cli import vigil

    h = bearer(make_key("studio"))
    sid = await consented_subject(client, h)
    gid = (await submit(client, h, spec(sid))).json()["id"]
    run_jobs(services)
    await approve_next(client, reviewers(make_key))
    released = (await client.get(f"/v1/generations/{gid}", headers=h)).json()
    assert released["status"] == "released"
    signed = (await client.get(released["output"]["url"], headers=h)).content
    auditor = bearer(make_key("auditor"))
    before = (await client.post("/v1/verify", files={"file": ("o.jpg", signed)}, headers=auditor)).json()
    assert (before["state"], before["consent_status"]) == ("trusted", "active")
    with services.db.tenant(_tenant(services)) as conn:
        row = conn.execute("SELECT grant_ids[1] FROM generations WHERE id = %s", (gid,)).fetchone()
        assert row is not None
        from service.consent import store as consent_store

        grant_hash = consent_store.get_grant(conn, row[0]).record_sha256()
    assert before["assertions"]["vigil.consent"] == {"grant_ids": [str(row[0])], "grant_hashes": [grant_hash]}

    assert (await client.post(f"/v1/consents/{row[0]}/revoke", headers=h)).status_code == 200

    got = (await client.get(f"/v1/generations/{gid}", headers=h)).json()
    assert got["status"] == "revoked"
    assert got["reasons"][0]["rule"] == "consent.revoked"
    gone = await client.get(released["output"]["url"], headers=h)
    assert gone.status_code == 410
    assert gone.json()["error"]["code"] == "gone"

    after = (await client.post("/v1/verify", files={"file": ("o.jpg", signed)}, headers=auditor)).json()
    assert (after["state"], after["consent_status"]) == ("trusted", "revoked")
    stripped = io.BytesIO()
    Image.open(io.BytesIO(signed)).convert("RGB").save(stripped, "JPEG", quality=80)
    copy = (
        await client.post("/v1/verify", files={"file": ("c.jpg", stripped.getvalue())}, headers=auditor)
    ).json()
    assert (copy["recovered_by"], copy["consent_status"]) == ("fingerprint", "revoked")

    page = await client.post(
        "/verify", files={"file": ("o.jpg", signed)}, data={"api_key": auditor["Authorization"][7:]}
    )
    assert page.status_code == 200
    assert 'id="consent-revoked"' in page.text

    path = tmp_path / "revoked.jpg"
    path.write_bytes(signed)
    cli = vigil(settings.data_dir, str(settings.database_url), "verify", str(path))
    assert cli.returncode != 0, cli.stdout
    assert "trusted" in cli.stdout
    assert "CONSENT REVOKED" in cli.stdout
