"""/v1/banks: create, import (CSV, JSON, multipart; all or nothing), export; admin only; per tenant."""

from __future__ import annotations

import json

import httpx

from service.auth import Role
from tests.conftest import KeyMaker, bearer

PDQ_A = "f" * 32 + "0" * 32
PDQ_B = "0f" * 32
CSV = f"signal_type,signal,labels\npdq,{PDQ_A},propaganda\npdq,{PDQ_B},poster\n"


async def _create(
    client: httpx.AsyncClient, token: str, name: str = "posters", **extra: object
) -> httpx.Response:
    body = {"name": name, "kind": "block", "hash_type": "pdq", **extra}
    return await client.post("/v1/banks", json=body, headers=bearer(token))


async def test_an_admin_creates_imports_and_exports_a_bank(
    client: httpx.AsyncClient, make_key: KeyMaker
) -> None:
    admin = bearer(make_key(Role.ADMIN))
    created = await _create(client, make_key(Role.ADMIN))
    assert created.status_code == 201
    assert created.json() | {"id": None, "created_at": None} == {
        "id": None,
        "created_at": None,
        "name": "posters",
        "kind": "block",
        "hash_type": "pdq",
        "threshold": 31,
        "system": False,
        "signals": 0,
        "quarantined": 0,
    }
    imported = await client.post(
        "/v1/banks/posters/import", content=CSV, headers=admin | {"content-type": "text/csv"}
    )
    assert imported.status_code == 200
    assert (imported.json()["lines"], imported.json()["added"], imported.json()["bank"]["signals"]) == (
        2,
        2,
        0 + 2,
    )
    exported = await client.get("/v1/banks/posters/export", headers=admin)
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("text/csv")
    assert exported.text == CSV
    as_json = await client.get("/v1/banks/posters/export", params={"format": "json"}, headers=admin)
    assert json.loads(as_json.text) == [
        {"signal_type": "pdq", "signal": PDQ_A, "labels": ["propaganda"]},
        {"signal_type": "pdq", "signal": PDQ_B, "labels": ["poster"]},
    ]
    listed = await client.get("/v1/banks", headers=admin)
    assert [b["name"] for b in listed.json()["banks"]] == ["posters"]


async def test_json_and_multipart_imports(client: httpx.AsyncClient, make_key: KeyMaker) -> None:
    token = make_key(Role.ADMIN)
    await _create(client, token, "hashes", hash_type="phash", threshold=10)
    body = [{"signal_type": "phash", "signal": "00ff00ff00ff00ff", "labels": ["a"]}]
    r = await client.post("/v1/banks/hashes/import", json=body, headers=bearer(token))
    assert r.status_code == 200
    assert r.json()["bank"]["threshold"] == 10
    csv_file = "signal_type,signal,labels\nphash,00ff00ff00ff00ff,b\nphash,ffffffffffffffff,\n"
    r = await client.post(
        "/v1/banks/hashes/import", files={"file": ("list.csv", csv_file, "text/csv")}, headers=bearer(token)
    )
    assert r.status_code == 200
    assert (r.json()["lines"], r.json()["added"], r.json()["bank"]["signals"]) == (2, 1, 2)
    exported = await client.get("/v1/banks/hashes/export", headers=bearer(token))
    assert "phash,00ff00ff00ff00ff,a b" in exported.text  # a repeated hash merges its labels


async def test_a_file_with_bad_lines_is_refused_whole_with_line_numbers(
    client: httpx.AsyncClient, make_key: KeyMaker
) -> None:
    token = make_key(Role.ADMIN)
    await _create(client, token)
    bad = CSV + f"pdq,{PDQ_A[:-1]},short\nphash,{PDQ_A},wrong-type\n"
    r = await client.post(
        "/v1/banks/posters/import", content=bad, headers=bearer(token) | {"content-type": "text/csv"}
    )
    assert r.status_code == 422
    error = r.json()["error"]
    assert error["code"] == "bad_bank_file"
    assert [e["line"] for e in error["details"]["errors"]] == [4, 5]
    assert "nothing was imported" in error["message"]
    exported = await client.get("/v1/banks/posters/export", headers=bearer(token))
    assert exported.text == "signal_type,signal,labels\n"


async def test_bad_bank_requests(client: httpx.AsyncClient, make_key: KeyMaker) -> None:
    token = make_key(Role.ADMIN)
    assert (await _create(client, token)).status_code == 201
    assert (await _create(client, token)).status_code == 409
    assert (await _create(client, token, "too-far", threshold=65)).status_code == 422
    assert (await _create(client, token, "Bad Name")).status_code == 422
    wrong_kind = await client.post(
        "/v1/banks", json={"name": "x", "kind": "maybe", "hash_type": "pdq"}, headers=bearer(token)
    )
    assert wrong_kind.status_code == 422
    missing = await client.get("/v1/banks/nope/export", headers=bearer(token))
    assert missing.status_code == 404


async def test_banks_are_for_admins_and_private_to_their_tenant(
    client: httpx.AsyncClient, make_key: KeyMaker
) -> None:
    token = make_key(Role.ADMIN)
    await _create(client, token)
    platform = await _create(client, make_key(Role.PLATFORM))
    assert platform.status_code == 403
    other = bearer(make_key(Role.ADMIN, tenant="other"))
    assert (await client.get("/v1/banks/posters/export", headers=other)).status_code == 404
    r = await client.post(
        "/v1/banks/posters/import", content=CSV, headers=other | {"content-type": "text/csv"}
    )
    assert r.status_code == 404
    assert (await client.get("/v1/banks", headers=other)).json() == {"banks": []}
    assert (
        await _create(client, make_key(Role.ADMIN, tenant="other"))
    ).status_code == 201  # same name, own bank
