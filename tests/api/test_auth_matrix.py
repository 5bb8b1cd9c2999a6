"""Who may call what: the role × tenant matrix, in the one error shape."""

from __future__ import annotations

import pytest

from service.auth import Role
from tests.conftest import bearer


def assert_error(response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    assert body["error"]["status"] == status
    assert body["error"]["code"] == code
    assert body["error"]["message"]


async def test_missing_token_is_401(client):
    r = await client.get("/v1/whoami")
    assert_error(r, 401, "unauthenticated")
    assert r.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize("header", ["Bearer vgl_00000000_nope", "Basic dXNlcjpwYXNz", "Bearer ", "vgl_x"])
async def test_unknown_or_malformed_token_is_401(client, header):
    assert_error(await client.get("/v1/whoami", headers={"Authorization": header}), 401, "unauthenticated")


async def test_revoked_key_is_refused_on_the_next_request(client, make_key):
    admin = make_key("admin", tenant="acme")
    platform = make_key("platform", tenant="acme")
    assert (await client.get("/v1/whoami", headers=bearer(platform))).status_code == 200
    prefix = "_".join(platform.split("_")[:2])
    r = await client.post(f"/v1/keys/{prefix}/revoke", headers=bearer(admin))
    assert r.status_code == 200
    assert r.json()["revoked_at"] is not None
    assert_error(await client.get("/v1/whoami", headers=bearer(platform)), 401, "unauthenticated")


@pytest.mark.parametrize("role", list(Role))
async def test_every_role_may_ask_who_it_is(client, make_key, role):
    r = await client.get("/v1/whoami", headers=bearer(make_key(role)))
    assert r.status_code == 200
    assert r.json()["role"] == role.value


@pytest.mark.parametrize("role", [r for r in Role if r is not Role.ADMIN])
async def test_key_management_is_admin_only(client, make_key, role):
    token = make_key(role)
    assert_error(await client.get("/v1/keys", headers=bearer(token)), 403, "forbidden")
    r = await client.post("/v1/keys", json={"role": "admin"}, headers=bearer(token))
    assert_error(r, 403, "forbidden")


async def test_admin_creates_a_key_in_its_own_tenant_only(client, make_key):
    admin = make_key("admin", tenant="acme")
    r = await client.post(
        "/v1/keys", json={"role": "reviewer", "label": "night shift"}, headers=bearer(admin)
    )
    assert r.status_code == 201
    token = r.json()["token"]
    me = (await client.get("/v1/whoami", headers=bearer(token))).json()
    assert (me["tenant"], me["role"]) == ("acme", "reviewer")
    listed = (await client.get("/v1/keys", headers=bearer(admin))).json()["keys"]
    assert all("token" not in k for k in listed)
    assert r.json()["prefix"] in {k["prefix"] for k in listed}


async def test_another_tenants_records_are_not_found(client, make_key):
    admin_a = make_key("admin", tenant="acme")
    other = make_key("platform", tenant="globex")
    other_prefix = "_".join(other.split("_")[:2])
    listed = (await client.get("/v1/keys", headers=bearer(admin_a))).json()["keys"]
    assert other_prefix not in {k["prefix"] for k in listed}
    assert_error(
        await client.post(f"/v1/keys/{other_prefix}/revoke", headers=bearer(admin_a)), 404, "not_found"
    )
    assert (await client.get("/v1/whoami", headers=bearer(other))).status_code == 200


async def test_malformed_json_is_422_in_the_one_shape(client, make_key):
    admin = make_key("admin")
    r = await client.post(
        "/v1/keys",
        content=b'{"role": "admin",',
        headers={**bearer(admin), "content-type": "application/json"},
    )
    assert_error(r, 422, "malformed_request")
    r = await client.post("/v1/keys", json={"role": "emperor"}, headers=bearer(admin))
    assert_error(r, 422, "malformed_request")
    assert "role" in r.json()["error"]["message"]


async def test_unknown_route_is_404_in_the_one_shape(client):
    assert_error(await client.get("/v1/nowhere"), 404, "not_found")
