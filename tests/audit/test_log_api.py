"""The log over HTTP, checked by the independent verifier with only the public key."""

from __future__ import annotations

import base64

import pytest

from service.auth import Role
from tests.audit import rfc9162
from tests.audit.helpers import fill, log_key
from tests.conftest import bearer

SIZE = 40


@pytest.fixture
def auditor(make_key):
    return bearer(make_key(Role.AUDITOR))


async def _entries(client, headers, start, end):
    r = await client.get("/v1/log/entries", params={"start": start, "end": end}, headers=headers)
    assert r.status_code == 200
    return [base64.b64decode(e["data"]) for e in r.json()["entries"]]


async def test_checkpoints_and_proofs_verify_for_every_size(client, services, auditor):
    fill(services, SIZE - 1)  # plus the auditor key's own key.created entry
    origin, public_key = await log_key(client, auditor["Authorization"].split()[1])
    entries = await _entries(client, auditor, 0, 10_000)
    assert len(entries) == SIZE
    roots = {}
    for size in range(0, SIZE + 1):
        r = await client.get("/v1/log/checkpoint", params={"size": size}, headers=auditor)
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/plain")
        got_size, roots[size] = rfc9162.open_checkpoint(r.text, origin, public_key)
        assert got_size == size
        assert roots[size] == rfc9162.mth(entries[:size])
    for size in range(1, SIZE + 1):
        for index in range(size):
            r = await client.get(
                "/v1/log/proof/inclusion", params={"index": index, "size": size}, headers=auditor
            )
            body = r.json()
            assert (body["index"], body["size"]) == (index, size)
            proof = [base64.b64decode(h) for h in body["hashes"]]
            assert rfc9162.verify_inclusion(index, size, entries[index], proof, roots[size])
        for first in range(0, size + 1):
            r = await client.get(
                "/v1/log/proof/consistency", params={"first": first, "second": size}, headers=auditor
            )
            body = r.json()
            assert (body["first"], body["second"]) == (first, size)
            proof = [base64.b64decode(h) for h in body["hashes"]]
            assert rfc9162.verify_consistency(first, size, roots[first], roots[size], proof)


async def test_the_current_checkpoint_covers_the_whole_tree(client, services, auditor):
    fill(services, 9)
    origin, public_key = await log_key(client, auditor["Authorization"].split()[1])
    r = await client.get("/v1/log/checkpoint", headers=auditor)
    assert rfc9162.open_checkpoint(r.text, origin, public_key)[0] == 10
    fill(services, 3)
    r2 = await client.get("/v1/log/checkpoint", headers=auditor)
    assert rfc9162.open_checkpoint(r2.text, origin, public_key)[0] == 13
    again = await client.get("/v1/log/checkpoint", params={"size": 10}, headers=auditor)
    assert again.text == r.text  # one note per size


@pytest.mark.parametrize(
    ("path", "params", "valid"),
    [
        ("/v1/log/proof/inclusion", {"index": 5, "size": 5}, "0..4"),
        ("/v1/log/proof/inclusion", {"index": -1, "size": 5}, "0..4"),
        ("/v1/log/proof/inclusion", {"index": 0, "size": 6}, "0..5"),
        ("/v1/log/proof/consistency", {"first": 3, "second": 2}, "0..2"),
        ("/v1/log/proof/consistency", {"first": 1, "second": 9}, "0..5"),
        ("/v1/log/checkpoint", {"size": 6}, "0..5"),
        ("/v1/log/entries", {"start": 5, "end": 9}, "0..4"),
        ("/v1/log/entries", {"start": 3, "end": 3}, "0..4"),
    ],
)
async def test_out_of_range_is_400_with_the_valid_range(client, services, auditor, path, params, valid):
    fill(services, 4)  # 5 entries with the key's
    r = await client.get(path, params=params, headers=auditor)
    assert r.status_code == 400
    error = r.json()["error"]
    assert error["code"] == "out_of_range"
    assert valid in error["message"]


async def test_entries_past_the_end_are_clipped(client, services, auditor):
    fill(services, 4)
    r = await client.get("/v1/log/entries", params={"start": 3, "end": 1000}, headers=auditor)
    assert [e["index"] for e in r.json()["entries"]] == [3, 4]


async def test_the_log_needs_a_key(client):
    r = await client.get("/v1/log/checkpoint")
    assert r.status_code == 401


async def test_key_creation_and_revocation_are_logged(client, make_key, auditor):
    admin = bearer(make_key(Role.ADMIN))
    r = await client.post("/v1/keys", json={"role": "studio", "label": "ci"}, headers=admin)
    prefix = r.json()["prefix"]
    r = await client.post(f"/v1/keys/{prefix}/revoke", headers=admin)
    assert r.status_code == 200
    await client.post(f"/v1/keys/{prefix}/revoke", headers=admin)  # again: no new entry
    entries = await _entries(client, auditor, 0, 100)
    events = [e for e in entries if prefix.encode() in e]
    assert [b'"event":"key.created"' in events[0], b'"event":"key.revoked"' in events[1]] == [True, True]
    assert len(events) == 2
    assert b"label" not in events[0]
