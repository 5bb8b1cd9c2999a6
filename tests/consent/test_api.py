"""The consent API as a studio sees it: statuses and bodies, including the bad-input cases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests.conftest import KeyMaker, bearer


def _in(days: int) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).isoformat()


HUSBAND = {
    "kind": "human",
    "vital_status": "deceased",
    "name": "Husband",
    "birth_date": "1988-03-02",
    "death_date": "2024-02-01",
    "jurisdiction": "RU",
}


def _consent(subject_id: str, **over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "subject_id": subject_id,
        "grantors": [{"name": "Yelena", "relationship": "spouse", "adult": True}],
        "legal_basis": "RU-CC-152.1",
        "modalities": ["likeness_still", "likeness_animated"],
        "purposes": ["private_memorial"],
        "audiences": ["family"],
        "territories": ["RU"],
        "expires_at": _in(365),
    }
    body.update(over)
    return body


async def _setup(client: httpx.AsyncClient, make_key: KeyMaker) -> tuple[dict[str, str], str]:
    h = bearer(make_key("studio"))
    r = await client.post("/v1/subjects", json=HUSBAND, headers=h)
    assert r.status_code == 201, r.text
    return h, r.json()["id"]


async def test_subject_consent_directive_round_trip(client: httpx.AsyncClient, make_key: KeyMaker) -> None:
    h, sid = await _setup(client, make_key)
    got = await client.get(f"/v1/subjects/{sid}", headers=h)
    assert got.status_code == 200
    assert got.json()["death_date"] == "2024-02-01"

    r = await client.post("/v1/consents", json=_consent(sid), headers=h)
    assert r.status_code == 201, r.text
    consent = r.json()
    assert consent["legal_basis"] == "RU-CC-152.1"
    assert consent["status"] == "active"
    assert (await client.get(f"/v1/consents/{consent['id']}", headers=h)).json()["id"] == consent["id"]

    spec = {
        "subjects": [{"subject_id": sid, "appears_as": "likeness"}],
        "market": "ru",
        "purpose": "private_memorial",
        "audience": "family",
        "output": "video",
        "prompt": "farewell",
    }
    ok = await client.post("/v1/consents/evaluate", json=spec, headers=h)
    assert ok.json()["decision"] == "granted"
    assert ok.json()["reasons"][0]["rule"] == "RU-CC-152.1"

    d = await client.post(
        "/v1/directives", json={"subject_id": sid, "type": "do_not_recreate", "modalities": []}, headers=h
    )
    assert d.status_code == 201, d.text
    assert (await client.get(f"/v1/directives/{d.json()['id']}", headers=h)).status_code == 200
    denied = await client.post("/v1/consents/evaluate", json=spec, headers=h)
    assert denied.json()["decision"] == "denied"
    assert denied.json()["reasons"][0]["rule"] == "directive.do_not_recreate"


async def test_revoke_is_idempotent_and_denies_at_once(client: httpx.AsyncClient, make_key: KeyMaker) -> None:
    h, sid = await _setup(client, make_key)
    cid = (await client.post("/v1/consents", json=_consent(sid), headers=h)).json()["id"]
    first = await client.post(f"/v1/consents/{cid}/revoke", headers=h)
    assert first.status_code == 200
    assert first.json()["newly_revoked"] is True
    assert first.json()["consent"]["status"] == "revoked"
    again = await client.post(f"/v1/consents/{cid}/revoke", headers=h)
    assert again.status_code == 200
    assert again.json()["newly_revoked"] is False
    assert again.json()["consent"]["revoked_at"] == first.json()["consent"]["revoked_at"]
    spec = {
        "subjects": [{"subject_id": sid, "appears_as": "likeness"}],
        "market": "ru",
        "purpose": "private_memorial",
        "audience": "family",
        "output": "image",
    }
    r = await client.post("/v1/consents/evaluate", json=spec, headers=h)
    assert r.json()["decision"] == "denied"
    assert "revoked" in r.json()["reasons"][0]["detail"]


async def test_objection_makes_the_consent_disputed(client: httpx.AsyncClient, make_key: KeyMaker) -> None:
    h, sid = await _setup(client, make_key)
    cid = (await client.post("/v1/consents", json=_consent(sid), headers=h)).json()["id"]
    r = await client.post(
        f"/v1/consents/{cid}/objections",
        json={"name": "Son", "relationship": "child", "adult": True},
        headers=h,
    )
    assert r.status_code == 201, r.text
    assert r.json()["consent"]["status"] == "disputed"
    neighbour = await client.post(
        f"/v1/consents/{cid}/objections",
        json={"name": "N", "relationship": "sibling", "adult": True},
        headers=h,
    )
    assert neighbour.status_code == 422
    assert "RU-CC-152.1" in neighbour.json()["error"]["message"]


async def test_grantor_not_entitled_is_rejected_citing_the_rule(
    client: httpx.AsyncClient, make_key: KeyMaker
) -> None:
    h, sid = await _setup(client, make_key)
    body = _consent(sid, grantors=[{"name": "Brother", "relationship": "sibling", "adult": True}])
    r = await client.post("/v1/consents", json=body, headers=h)
    assert r.status_code == 422
    err = r.json()["error"]
    assert err["code"] == "consent_rejected"
    assert "RU-CC-152.1" in err["message"]
    assert err["details"]["rule"] == "RU-CC-152.1"


async def test_rule_of_another_jurisdiction_is_rejected(
    client: httpx.AsyncClient, make_key: KeyMaker
) -> None:
    h, sid = await _setup(client, make_key)
    r = await client.post("/v1/consents", json=_consent(sid, legal_basis="US-CA-3344.1"), headers=h)
    assert r.status_code == 422
    assert "US-CA-3344.1" in r.json()["error"]["message"]
    assert "does not apply in RU" in r.json()["error"]["message"]


async def test_expiry_beyond_the_cap_is_rejected(client: httpx.AsyncClient, make_key: KeyMaker) -> None:
    h, sid = await _setup(client, make_key)
    r = await client.post("/v1/consents", json=_consent(sid, expires_at=_in(11 * 366)), headers=h)
    assert r.status_code == 422
    assert "cap of 10 years" in r.json()["error"]["message"]


async def test_minor_likeness_cap_is_five_years(client: httpx.AsyncClient, make_key: KeyMaker) -> None:
    h = bearer(make_key("studio"))
    child = {
        "kind": "human",
        "vital_status": "living",
        "name": "C",
        "birth_date": "2017-01-15",
        "jurisdiction": "RU",
    }
    cid = (await client.post("/v1/subjects", json=child, headers=h)).json()["id"]
    body = _consent(
        cid, legal_basis="guardian", grantors=[{"name": "Mother", "relationship": "parent", "adult": True}]
    )
    assert (await client.post("/v1/consents", json=body, headers=h)).status_code == 201
    body["expires_at"] = _in(6 * 366)
    r = await client.post("/v1/consents", json=body, headers=h)
    assert r.status_code == 422
    assert "cap of 5 years" in r.json()["error"]["message"]


async def test_a_minor_as_grantor_is_rejected(client: httpx.AsyncClient, make_key: KeyMaker) -> None:
    h, sid = await _setup(client, make_key)
    body = _consent(sid, grantors=[{"name": "Son", "relationship": "child", "adult": False}])
    r = await client.post("/v1/consents", json=body, headers=h)
    assert r.status_code == 422
    assert "a minor may not grant" in r.json()["error"]["message"]


async def test_unknown_subject_is_404(client: httpx.AsyncClient, make_key: KeyMaker) -> None:
    h = bearer(make_key("studio"))
    missing = "00000000-0000-0000-0000-000000000007"
    assert (await client.get(f"/v1/subjects/{missing}", headers=h)).status_code == 404
    r = await client.post("/v1/consents", json=_consent(missing), headers=h)
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "not_found"
    d = await client.post(
        "/v1/directives", json={"subject_id": missing, "type": "do_not_recreate"}, headers=h
    )
    assert d.status_code == 404


async def test_malformed_dates_are_422(client: httpx.AsyncClient, make_key: KeyMaker) -> None:
    h, sid = await _setup(client, make_key)
    for bad in ({**HUSBAND, "death_date": "2024-02-30"}, {**HUSBAND, "birth_date": "02/03/1988"}):
        r = await client.post("/v1/subjects", json=bad, headers=h)
        assert r.status_code == 422, r.text
    before_birth = {**HUSBAND, "death_date": "1980-01-01"}
    assert (await client.post("/v1/subjects", json=before_birth, headers=h)).status_code == 422
    living_dead = {**HUSBAND, "vital_status": "living"}
    assert (await client.post("/v1/subjects", json=living_dead, headers=h)).status_code == 422
    r = await client.post("/v1/consents", json=_consent(sid, expires_at="next spring"), headers=h)
    assert r.status_code == 422
    past = await client.post("/v1/consents", json=_consent(sid, expires_at=_in(-1)), headers=h)
    assert past.status_code == 422


async def test_another_tenants_records_are_404(client: httpx.AsyncClient, make_key: KeyMaker) -> None:
    h, sid = await _setup(client, make_key)
    cid = (await client.post("/v1/consents", json=_consent(sid), headers=h)).json()["id"]
    other = bearer(make_key("studio", tenant="globex"))
    assert (await client.get(f"/v1/subjects/{sid}", headers=other)).status_code == 404
    assert (await client.get(f"/v1/consents/{cid}", headers=other)).status_code == 404
    assert (await client.post("/v1/consents", json=_consent(sid), headers=other)).status_code == 404
    assert (await client.post(f"/v1/consents/{cid}/revoke", headers=other)).status_code == 404
    still = await client.get(f"/v1/consents/{cid}", headers=h)
    assert still.json()["status"] == "active"


async def test_platform_keys_may_not_use_the_consent_api(
    client: httpx.AsyncClient, make_key: KeyMaker
) -> None:
    r = await client.post("/v1/subjects", json=HUSBAND, headers=bearer(make_key("platform")))
    assert r.status_code == 403


async def test_evidence_upload_is_stored_by_hash_and_cited(
    client: httpx.AsyncClient, make_key: KeyMaker
) -> None:
    h, sid = await _setup(client, make_key)
    doc = b"%PDF-1.4 death certificate scan"
    r = await client.post(
        "/v1/evidence", files={"file": ("cert.pdf", doc)}, data={"kind": "death_certificate"}, headers=h
    )
    assert r.status_code == 201, r.text
    sha = r.json()["sha256"]
    assert len(sha) == 64
    ok = await client.post("/v1/consents", json=_consent(sid, evidence=[sha]), headers=h)
    assert ok.status_code == 201
    assert ok.json()["evidence"] == [sha]
    unknown = await client.post("/v1/consents", json=_consent(sid, evidence=["ab" * 32]), headers=h)
    assert unknown.status_code == 422
