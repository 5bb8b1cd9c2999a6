"""A reviewer's reject of a checked upload blocks that picture for the same platform tenant
(its own ``review-rejected`` bank), until an appeal overturns the rejection."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from PIL import Image

from service.auth import Role
from tests.check.conftest import WAR_CAPTION, photo
from tests.conftest import KeyMaker, bearer
from tests.generation.helpers import approve_next, overturn_appeal


async def _check(client: httpx.AsyncClient, token: str, path: Path, **form: str) -> dict[str, Any]:
    files = {"file": (path.name, path.read_bytes(), "image/jpeg")}
    r = await client.post("/v1/check", data=form, files=files, headers=bearer(token))
    assert r.status_code == 200, r.text
    return dict(r.json())


def _rejected_hits(verdict: dict[str, Any]) -> list[dict[str, Any]]:
    return [m for m in verdict["matches"] if m["bank"] == "review-rejected"]


async def test_a_rejected_upload_is_blocked_for_its_tenant_until_an_appeal_overturns_it(
    client: httpx.AsyncClient, make_key: KeyMaker, tmp_path: Path
) -> None:
    upload = photo(tmp_path / "upload.jpg", 21)
    platform = make_key(Role.PLATFORM, tenant="acme")
    first = await _check(client, platform, upload, text=WAR_CAPTION)
    assert first["decision"] == "review"
    review_url = f"/v1/checks/{first['check_id']}/review"
    pending = (await client.get(review_url, headers=bearer(platform))).json()
    assert pending["flag_id"] == first["flag_id"]
    assert (pending["status"], pending["outcome"], pending["appeal_status"]) == ("open", None, None)
    assert pending["statement_of_reasons"] is None  # nothing decided by a person yet
    reviewers = [bearer(make_key(Role.REVIEWER, tenant="acme")) for _ in range(3)]
    assert await approve_next(client, reviewers, decision="reject") == first["check_id"]
    decided = (await client.get(review_url, headers=bearer(platform))).json()
    assert (decided["status"], decided["outcome"]) == ("decided", "reject")
    assert decided["decided_at"] is not None
    # The statement to file for the removal: a person decided it; detection was automated.
    sor = decided["statement_of_reasons"]
    assert (sor["automated_detection"], sor["automated_decision"]) == (
        "Yes",
        "AUTOMATED_DECISION_NOT_AUTOMATED",
    )
    assert sor["decision_visibility"] == ["DECISION_VISIBILITY_CONTENT_DISABLED"]
    assert sor["category"] == first["statement_of_reasons"]["category"]
    assert sor["decision_facts"].startswith("A qualified reviewer rejected the content")

    copy = tmp_path / "copy.jpg"
    Image.open(upload).save(copy, "JPEG", quality=70)  # re-encoded, and sent without the caption
    again = await _check(client, platform, copy)
    assert again["decision"] == "block"
    [hit] = _rejected_hits(again)
    assert hit["distance"] <= 31
    assert f"check:{first['check_id']}" in hit["labels"]
    elsewhere = await _check(client, make_key(Role.PLATFORM, tenant="other"), copy)
    assert not _rejected_hits(elsewhere)  # another tenant's bank, not a shared list

    filed = await client.post(
        f"/v1/flags/{first['flag_id']}/appeal",
        json={"statement": "A family memorial."},
        headers=bearer(platform),
    )
    assert filed.status_code == 201, filed.text
    assert (await overturn_appeal(client, reviewers))["appeal_status"] == "overturned"
    after = await _check(client, platform, copy)
    assert not _rejected_hits(after)
    assert after["decision"] != "block"
    overturned = (await client.get(review_url, headers=bearer(platform))).json()
    assert (overturned["outcome"], overturned["appeal_status"]) == ("approve", "overturned")
    assert overturned["statement_of_reasons"] is None  # approved on appeal: nothing restricted


async def test_only_the_checking_tenant_sees_a_review_and_only_review_verdicts_have_one(
    client: httpx.AsyncClient, make_key: KeyMaker, tmp_path: Path
) -> None:
    platform = make_key(Role.PLATFORM, tenant="acme")
    reviewed = await _check(client, platform, photo(tmp_path / "a.jpg", 22), text=WAR_CAPTION)
    assert reviewed["decision"] == "review"
    plain = await _check(client, platform, photo(tmp_path / "b.jpg", 23))
    assert plain["decision"] != "review"
    url = "/v1/checks/{}/review"
    assert (await client.get(url.format(reviewed["check_id"]), headers=bearer(platform))).status_code == 200
    missing = await client.get(url.format(plain["check_id"]), headers=bearer(platform))
    assert missing.status_code == 404
    assert "only review verdicts" in missing.json()["error"]["message"]
    other = bearer(make_key(Role.PLATFORM, tenant="other"))
    assert (await client.get(url.format(reviewed["check_id"]), headers=other)).status_code == 404
    studio = bearer(make_key(Role.STUDIO, tenant="acme"))
    assert (await client.get(url.format(reviewed["check_id"]), headers=studio)).status_code == 403
    assert (await client.get(url.format("not-a-uuid"), headers=bearer(platform))).status_code == 422


async def test_a_same_named_bank_of_another_kind_refuses_the_reject_and_records_nothing(
    client: httpx.AsyncClient, make_key: KeyMaker, tmp_path: Path
) -> None:
    admin = bearer(make_key(Role.ADMIN, tenant="acme"))
    made = await client.post(
        "/v1/banks", json={"name": "review-rejected", "kind": "allow", "hash_type": "pdq"}, headers=admin
    )
    assert made.status_code in (200, 201), made.text
    platform = make_key(Role.PLATFORM, tenant="acme")
    first = await _check(client, platform, photo(tmp_path / "a.jpg", 24), text=WAR_CAPTION)
    reviewer = bearer(make_key(Role.REVIEWER, tenant="acme"))
    claimed = await client.post("/v1/flags/claim", headers=reviewer)
    assert claimed.json()["id"] == first["flag_id"]
    decision = {"decision": "reject", "rationale": "propaganda"}
    r = await client.post(f"/v1/flags/{first['flag_id']}/decision", json=decision, headers=reviewer)
    if r.status_code == 200 and not r.json()["final"]:  # sampled for QA: a second reviewer settles it
        second = bearer(make_key(Role.REVIEWER, tenant="acme"))
        assert (await client.post("/v1/flags/claim", headers=second)).json()["id"] == first["flag_id"]
        r = await client.post(f"/v1/flags/{first['flag_id']}/decision", json=decision, headers=second)
    assert r.status_code == 409, r.text
    assert "Rename or delete that bank" in r.json()["error"]["message"]
    review = (await client.get(f"/v1/checks/{first['check_id']}/review", headers=bearer(platform))).json()
    assert (review["status"], review["outcome"]) == ("open", None)  # the decision rolled back
