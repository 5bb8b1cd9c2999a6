"""POST /v1/check around the scenarios: markets, roles, text-only checks, the review queue, the
audit entry, bad input, the OpenAPI contract and the policy reload."""

from __future__ import annotations

import base64
import re
import shutil
from pathlib import Path
from typing import Any

import httpx

from service.auth import Role
from service.services import Services
from tests.check.conftest import WAR_CAPTION, photo, video, wav
from tests.conftest import KeyMaker, bearer


async def _post(
    client: httpx.AsyncClient, token: str, *, path: Path | None = None, **form: str
) -> httpx.Response:
    files = {"file": (path.name, path.read_bytes(), "image/jpeg")} if path else None
    return await client.post("/v1/check", data=form, files=files, headers=bearer(token))


async def test_an_unknown_market_is_422_listing_the_markets(
    client: httpx.AsyncClient, make_key: KeyMaker
) -> None:
    r = await _post(client, make_key(Role.PLATFORM), text="hello", market="mars")
    assert r.status_code == 422
    error = r.json()["error"]
    assert error["code"] == "unknown_profile"
    assert error["details"]["markets"] == ["cn", "default", "eu", "us-ca"]
    assert "cn, default, eu, us-ca" in error["message"]


async def test_only_platform_and_admin_keys_may_check(client: httpx.AsyncClient, make_key: KeyMaker) -> None:
    for role in (Role.STUDIO, Role.REVIEWER, Role.AUDITOR):
        r = await _post(client, make_key(role), text="hello")
        assert r.status_code == 403, role
        assert r.json()["error"]["code"] == "forbidden"
    assert (await _post(client, make_key(Role.ADMIN), text="hello")).status_code == 200
    assert (await client.post("/v1/check", data={"text": "hello"})).status_code == 401


async def test_a_text_only_check_has_no_provenance_and_is_decided_on_the_text(
    client: httpx.AsyncClient, make_key: KeyMaker
) -> None:
    r = await _post(client, make_key(Role.PLATFORM), text="Happy birthday, grandma! We miss you.")
    assert r.status_code == 200, r.text
    verdict = r.json()
    assert verdict["decision"] == "allow"
    assert (verdict["provenance"], verdict["matches"], verdict["consent_status"]) == (None, [], "unknown")
    assert verdict["scores"]["war_glorification"] < 0.5
    war = (await _post(client, make_key(Role.PLATFORM), text=WAR_CAPTION)).json()
    assert war["decision"] == "review"
    assert war["statement_of_reasons"]["content_type"] == ["CONTENT_TYPE_TEXT"]


async def test_nothing_to_check_and_bad_files_are_refused(
    client: httpx.AsyncClient, make_key: KeyMaker, tmp_path: Path
) -> None:
    token = make_key(Role.PLATFORM)
    empty = await _post(client, token, text="   ")
    assert (empty.status_code, empty.json()["error"]["code"]) == (422, "malformed_request")
    assert (await client.post("/v1/check", headers=bearer(token))).status_code == 422
    fake = tmp_path / "not_an_image.jpg"
    fake.write_bytes(b"PK\x03\x04 this is an archive")
    r = await _post(client, token, path=fake)
    assert r.status_code == 415
    truncated = tmp_path / "truncated_photo.jpg"
    truncated.write_bytes(photo(tmp_path / "whole.jpg", 3).read_bytes()[:3000])
    assert (await _post(client, token, path=truncated)).status_code == 422


async def test_review_verdicts_queue_a_flag_for_the_callers_tenant_only(
    client: httpx.AsyncClient, make_key: KeyMaker, tmp_path: Path
) -> None:
    upload = photo(tmp_path / "ordinary_photo_war_caption.jpg", 11)
    r = await _post(client, make_key(Role.PLATFORM, tenant="acme"), path=upload, text=WAR_CAPTION)
    verdict = r.json()
    assert verdict["decision"] == "review"
    reviewer = make_key(Role.REVIEWER, tenant="acme")
    acme = bearer(reviewer)
    flags = (await client.get("/v1/flags", headers=acme)).json()["flags"]
    assert [f["id"] for f in flags] == [verdict["flag_id"]]
    [flag] = flags
    assert flag["source"] == {"kind": "check", "id": verdict["check_id"]}
    assert {r["rule"] for r in flag["reasons"]} == {r["rule"] for r in verdict["reasons"]}
    other = bearer(make_key(Role.REVIEWER, tenant="other"))
    assert (await client.get("/v1/flags", headers=other)).json()["flags"] == []
    # The platform can fetch the past verdict again, exactly as answered; no other tenant can.
    platform = bearer(make_key(Role.PLATFORM, tenant="acme"))
    past = (await client.get(f"/v1/checks/{verdict['check_id']}", headers=platform)).json()
    assert {k: v for k, v in past.items() if k not in ("checked_at", "market")} == verdict
    assert past["market"] == "default"
    theirs = bearer(make_key(Role.PLATFORM, tenant="other"))
    assert (await client.get(f"/v1/checks/{verdict['check_id']}", headers=theirs)).status_code == 404
    assert WAR_CAPTION not in str(past)  # the caption is not kept with the verdict

    # The reviewer page has what it needs: the caption, and the upload from the blob store.
    assert (await client.post("/v1/flags/claim", headers=acme)).status_code == 200
    form = (await client.get("/review/login")).text
    csrf = re.search(r'name="csrf" value="([^"]+)"', form)
    assert csrf is not None
    login = await client.post("/review/login", data={"token": reviewer, "csrf": csrf.group(1)})
    assert login.status_code == 303, login.text
    page = await client.get(f"/review/{verdict['flag_id']}")
    assert page.status_code == 200, page.text
    assert "Heroes never die" in page.text
    data = upload.read_bytes()
    media = await client.get(f"/review/media/{verdict['flag_id']}/{_sha256(data)}")
    assert (media.status_code, media.content) == (200, data)


def _sha256(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()


async def _log_entries(client: httpx.AsyncClient, token: str) -> list[bytes]:
    headers = bearer(token)
    checkpoint = (await client.get("/v1/log/checkpoint", headers=headers)).text
    size = int(checkpoint.splitlines()[1])
    r = await client.get("/v1/log/entries", params={"start": 0, "end": size}, headers=headers)
    return [base64.b64decode(e["data"]) for e in r.json()["entries"]]


async def test_every_check_is_audited_without_its_caption(
    client: httpx.AsyncClient, make_key: KeyMaker, tmp_path: Path
) -> None:
    token = make_key(Role.PLATFORM)
    upload = photo(tmp_path / "ordinary_photo.jpg", 12)
    verdict = (await _post(client, token, path=upload, text=WAR_CAPTION)).json()
    allowed = (await _post(client, token, text="Our dog at the beach")).json()
    entries = await _log_entries(client, token)
    decided = [e for e in entries if b"check.decided" in e]
    assert len(decided) == 2
    joined = b"\n".join(entries)
    assert verdict["check_id"].encode() in joined
    assert allowed["check_id"].encode() in joined
    assert _sha256(upload.read_bytes()).encode() in decided[0]
    assert _sha256(WAR_CAPTION.encode()).encode() in decided[0]
    assert verdict["policy_version"].encode() in decided[0]
    for words in (b"Heroes", b"heaven", b"dog", b"beach"):
        assert words not in joined


async def test_the_openapi_schema_types_the_verdict(client: httpx.AsyncClient) -> None:
    schema: dict[str, Any] = (await client.get("/openapi.json")).json()
    op = schema["paths"]["/v1/check"]["post"]
    ref = op["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    verdict = schema["components"]["schemas"][ref.rsplit("/", 1)[1]]
    assert set(verdict["required"]) >= {
        "decision",
        "required_labels",
        "reasons",
        "provenance",
        "consent_status",
        "matches",
        "scores",
        "policy_version",
        "statement_of_reasons",
    }
    assert verdict["properties"]["decision"]["enum"] == ["allow", "label", "review", "block"]
    sor = schema["components"]["schemas"]["StatementOfReasonsOut"]["properties"]
    assert sor["automated_detection"]["enum"] == ["Yes", "No"]


async def test_a_reload_with_an_invalid_file_keeps_the_last_good_policy(
    client: httpx.AsyncClient, services: Services, make_key: KeyMaker, tmp_path: Path
) -> None:
    root = tmp_path / "policies"
    shutil.copytree(services.policy.root, root)
    services.policy.root = root
    admin = bearer(make_key(Role.ADMIN))
    platform = make_key(Role.PLATFORM)
    good = (await client.get("/v1/policy", headers=admin)).json()
    assert good["last_error"] is None

    default = root / "default.yaml"
    default.write_text(default.read_text().replace("review_at: 0.80", "review_at: 1.50", 1))
    r = await client.post("/v1/policy/reload", headers=admin)
    assert r.status_code == 422
    error = r.json()["error"]
    assert error["code"] == "policy_rejected"
    assert "default.yaml" in error["message"]
    assert "categories.war_glorification.review_at" in error["message"]
    assert error["details"]["kept_version"] == good["version"]
    still = (await client.get("/v1/policy", headers=admin)).json()
    assert still["version"] == good["version"]
    assert "review_at" in still["last_error"]
    verdict = (await _post(client, platform, text=WAR_CAPTION)).json()
    assert (verdict["decision"], verdict["policy_version"]) == ("review", good["version"])
    ready = (await client.get("/readyz")).json()  # serving the last good policy: degraded, said so
    assert ready["components"]["policy"]["state"] == "ok"
    assert "last reload failed" in ready["components"]["policy"]["detail"]

    # A valid change takes effect at once and every verdict names the new version.
    text = default.read_text().replace("review_at: 1.50", "review_at: 0.90", 1)
    martyrdom = "  combatant_martyrdom:\n"
    head, tail = text.split(martyrdom, 1)
    default.write_text(head + martyrdom + tail.replace("review_at: 0.80", "review_at: 1.00", 1))
    reloaded = await client.post("/v1/policy/reload", headers=admin)
    assert reloaded.status_code == 200
    new = reloaded.json()
    assert new["version"] != good["version"]
    assert new["last_error"] is None
    verdict = (await _post(client, platform, text=WAR_CAPTION)).json()
    assert verdict["policy_version"] == new["version"]
    assert "score.combatant_martyrdom.review" not in {r["rule"] for r in verdict["reasons"]}
    assert (await client.post("/v1/policy/reload", headers=bearer(platform))).status_code == 403


async def test_videos_and_audio_are_checked_too(
    client: httpx.AsyncClient, make_key: KeyMaker, tmp_path: Path
) -> None:
    token = make_key(Role.PLATFORM)
    clip = video(tmp_path / "ordinary_clip.mp4", 80)
    r = await client.post(
        "/v1/check", files={"file": (clip.name, clip.read_bytes(), "video/mp4")}, headers=bearer(token)
    )
    assert r.status_code == 200, r.text
    assert (r.json()["decision"], r.json()["provenance"]["state"]) == ("allow", "absent")
    tone = wav(tmp_path / "ordinary_tone.wav")
    r = await client.post(
        "/v1/check",
        data={"text": WAR_CAPTION},  # the transcript of the audio
        files={"file": (tone.name, tone.read_bytes(), "audio/wav")},
        headers=bearer(token),
    )
    assert r.status_code == 200, r.text
    verdict = r.json()
    assert verdict["decision"] == "review"
    assert verdict["statement_of_reasons"]["content_type"] == ["CONTENT_TYPE_AUDIO", "CONTENT_TYPE_TEXT"]
