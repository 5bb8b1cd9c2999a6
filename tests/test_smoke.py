from tests.conftest import bearer


async def test_healthz_and_readyz(client):
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["components"]["database"]["state"] == "ok"


async def test_whoami(client, make_key):
    token = make_key("platform", tenant="acme")
    r = await client.get("/v1/whoami", headers=bearer(token))
    assert r.status_code == 200
    assert r.json()["role"] == "platform"
    assert r.json()["tenant"] == "acme"
