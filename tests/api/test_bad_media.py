"""The bad-input table for uploads: each refusal in the one error shape, and nothing written."""

from __future__ import annotations

import httpx
import pytest

from service.app import create_app
from service.composition import open_services
from service.services import Services
from tests.conftest import bearer
from tests.media import helpers


def leftovers(services: Services) -> list[str]:
    tmp = services.settings.tmp_dir
    return [p.name for p in tmp.iterdir()] + list(services.blobs)


async def inspect(client, token, name, data, mime="application/octet-stream"):
    return await client.post("/v1/media/inspect", headers=bearer(token), files={"file": (name, data, mime)})


@pytest.mark.parametrize(
    ("case", "data", "status", "code", "needle"),
    [
        ("truncated.jpg", helpers.jpeg_bytes()[:3000], 422, "media_rejected", "truncated"),
        ("garbage.jpg", b"\x13\x37" * 4000, 415, "unsupported_media_type", "unknown"),
        ("report.jpg", b"%PDF-1.7\n" + b"0" * 100, 415, "unsupported_media_type", "pdf"),
        ("bomb.png", helpers.png_bomb(), 422, "media_rejected", "50000×50000"),
        ("polyglot.jpg", helpers.jpeg_bytes() + helpers.zip_bytes(), 422, "media_rejected", "polyglot"),
        ("empty.png", b"", 422, "media_rejected", "empty"),
        (
            "broken.mp4",
            b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00" + b"\x17" * 5000,
            422,
            "media_rejected",
            "cannot be decoded",
        ),
        ("broken.mp3", b"ID3\x04\x00\x00\x00\x00\x00\x00" + b"\x13" * 3000, 422, "media_rejected", "mp3"),
    ],
)
async def test_hostile_uploads_are_refused_and_leave_nothing(
    client, make_key, services, case, data, status, code, needle
):
    token = make_key("platform")
    r = await inspect(client, token, case, data, "image/jpeg")
    assert r.status_code == status, r.text
    assert r.json()["error"]["code"] == code
    assert needle in r.json()["error"]["message"]
    # No server path (upload spool, data dir) in what the client is told.
    assert str(services.settings.data_dir) not in r.text
    assert "/tmp" not in r.text
    assert ".upload" not in r.text
    assert leftovers(services) == []
    assert (await client.get("/healthz")).status_code == 200  # still serving


async def test_a_good_photo_is_described(client, make_key, services):
    r = await inspect(client, make_key("studio"), "IMG_0001.jpg", helpers.jpeg_bytes(), "text/plain")
    assert r.status_code == 200
    body = r.json()
    assert (body["type"], body["width"], body["height"]) == ("jpeg", 640, 480)
    assert leftovers(services) == []


async def test_upload_over_the_limit_is_413(settings, make_key):
    small = settings.model_copy(update={"max_upload_bytes": 50_000})
    services = open_services(small)
    try:
        token = _key(services)
        app = create_app(small, services=services)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
            big = helpers.jpeg_bytes(helpers.photo(1600, 1200), quality=95)
            assert len(big) > 50_000
            r = await inspect(http, token, "big.jpg", big, "image/jpeg")
            assert r.status_code == 413
            assert r.json()["error"]["code"] == "payload_too_large"

            body = (
                b'--b0undary\r\nContent-Disposition: form-data; name="file"; filename="big.jpg"\r\n'
                b"Content-Type: image/jpeg\r\n\r\n" + big + b"\r\n--b0undary--\r\n"
            )

            async def chunks():  # no Content-Length: the limit must hold on the bytes received
                for i in range(0, len(body), 8192):
                    yield body[i : i + 8192]

            r = await http.post(
                "/v1/media/inspect",
                headers={**bearer(token), "content-type": "multipart/form-data; boundary=b0undary"},
                content=chunks(),
            )
            assert r.status_code == 413
        assert leftovers(services) == []
    finally:
        services.close()


def _key(services: Services) -> str:
    from service.auth import Role, store

    with services.db.system() as conn:
        return store.create_key(conn, tenant_name="acme", role=Role.PLATFORM).token


async def test_json_over_its_limit_is_413(client, make_key):
    r = await client.post(
        "/v1/keys",
        content=b'{"role": "admin", "label": "' + b"x" * 2_000_000 + b'"}',
        headers={**bearer(make_key("admin")), "content-type": "application/json"},
    )
    assert r.status_code == 413
