"""Webhooks: a platform's endpoint is told, signed, when a review of its check is decided; a
failing endpoint is retried and the delivery record says what happened."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from service.auth import Role
from service.composition import job_registry
from service.errors import MalformedRequest
from service.jobs import Backoff, Worker
from service.notify import EVENTS
from service.notify import deliver as http
from service.services import Services
from service.settings import Settings
from tests.check.conftest import WAR_CAPTION, photo
from tests.conftest import KeyMaker, bearer
from tests.generation.helpers import approve_next, overturn_appeal
from tests.loopback import serving
from tests.receiver import Endpoint, verify_signature


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # The test endpoint listens on loopback, which production webhooks may not call.
    return settings.model_copy(update={"webhook_allow_private": True})


@pytest.fixture
def endpoint() -> Iterator[tuple[Endpoint, str]]:
    receiver = Endpoint([])
    with serving(post=receiver) as base:
        yield receiver, f"{base}/vigil-hook?source=vigil"


def run_jobs(services: Services) -> int:
    worker = Worker(
        db=services.db,
        registry=job_registry(services.settings),
        services=services,
        backoff=Backoff(base_s=0.05, max_s=0.1),
    )
    return worker.run_pending()


async def _review_verdict(client: httpx.AsyncClient, headers: dict[str, str], path: Path) -> dict[str, Any]:
    files = {"file": (path.name, path.read_bytes(), "image/jpeg")}
    r = await client.post("/v1/check", data={"text": WAR_CAPTION}, files=files, headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["decision"] == "review"
    return dict(r.json())


async def decided_with_webhook(
    client: httpx.AsyncClient, make_key: KeyMaker, url: str, upload: Path
) -> tuple[dict[str, str], dict[str, Any]]:
    """A platform with a webhook at ``url`` whose checked upload a reviewer has just approved."""
    platform = bearer(make_key(Role.PLATFORM, tenant="acme"))
    hook = (await client.post("/v1/webhooks", json={"url": url}, headers=platform)).json()
    await _review_verdict(client, platform, upload)
    await approve_next(client, [bearer(make_key(Role.REVIEWER, tenant="acme")) for _ in range(3)])
    return platform, hook


async def test_a_decided_review_is_delivered_signed_and_again_after_an_overturn(
    client: httpx.AsyncClient,
    make_key: KeyMaker,
    services: Services,
    endpoint: tuple[Endpoint, str],
    tmp_path: Path,
) -> None:
    receiver, url = endpoint
    platform = bearer(make_key(Role.PLATFORM, tenant="acme"))
    created = await client.post("/v1/webhooks", json={"url": url}, headers=platform)
    assert created.status_code == 201, created.text
    hook = created.json()
    assert hook["events"] == list(EVENTS)
    assert hook["secret"].startswith("whsec_")
    listed = (await client.get("/v1/webhooks", headers=platform)).json()["webhooks"]
    assert [h["id"] for h in listed] == [hook["id"]]
    assert "secret" not in listed[0]  # shown once

    verdict = await _review_verdict(
        client, bearer(make_key(Role.PLATFORM, tenant="acme")), photo(tmp_path / "a.jpg", 31)
    )
    assert run_jobs(services) == 0  # nothing to tell until a reviewer decides
    reviewers = [bearer(make_key(Role.REVIEWER, tenant="acme")) for _ in range(3)]
    assert await approve_next(client, reviewers, decision="reject") == verdict["check_id"]
    assert run_jobs(services) >= 1

    [(headers, body)] = receiver.received
    verify_signature(hook["secret"], headers, body)
    sent = json.loads(body)
    assert headers["vigil-event"] == sent["event"] == "check.review.decided"
    assert headers["vigil-delivery"] == sent["id"]
    review = (await client.get(f"/v1/checks/{verdict['check_id']}/review", headers=platform)).json()
    assert sent["data"] == {
        **review,
        "decided_at": sent["data"]["decided_at"],
        "due_at": sent["data"]["due_at"],
    }
    assert (sent["data"]["outcome"], sent["data"]["status"]) == ("reject", "decided")

    appeal = await client.post(
        f"/v1/flags/{verdict['flag_id']}/appeal", json={"statement": "A family memorial."}, headers=platform
    )
    assert appeal.status_code == 201, appeal.text
    await overturn_appeal(client, reviewers)
    run_jobs(services)
    assert len(receiver.received) == 2
    again = json.loads(receiver.received[1][1])
    assert (again["data"]["outcome"], again["data"]["appeal_status"]) == ("approve", "overturned")
    assert again["id"] != sent["id"]

    deliveries = (await client.get(f"/v1/webhooks/{hook['id']}/deliveries", headers=platform)).json()
    assert [(d["status"], d["attempts"], d["response_code"]) for d in deliveries["deliveries"]] == [
        ("delivered", 1, 200),
        ("delivered", 1, 200),
    ]


async def test_a_failing_endpoint_is_retried_with_the_same_delivery_id(
    client: httpx.AsyncClient,
    make_key: KeyMaker,
    services: Services,
    endpoint: tuple[Endpoint, str],
    tmp_path: Path,
) -> None:
    receiver, url = endpoint
    receiver.statuses = [503, 500]
    platform, hook = await decided_with_webhook(client, make_key, url, photo(tmp_path / "b.jpg", 32))

    run_jobs(services)
    history = f"/v1/webhooks/{hook['id']}/deliveries"
    [first] = (await client.get(history, headers=platform)).json()["deliveries"]
    assert (first["status"], first["attempts"], first["response_code"]) == ("pending", 1, 503)
    assert first["last_error"].startswith("HTTP 503")

    deadline = time.monotonic() + 10
    while len(receiver.received) < 3 and time.monotonic() < deadline:
        time.sleep(0.1)  # past the backoff
        run_jobs(services)
    [done] = (await client.get(history, headers=platform)).json()["deliveries"]
    assert (done["status"], done["attempts"], done["response_code"]) == ("delivered", 3, 200)
    ids = {headers["vigil-delivery"] for headers, _ in receiver.received}
    assert ids == {done["id"]}  # one delivery, three tries: the receiver can drop repeats


async def test_a_removed_webhook_is_not_called_and_its_pending_delivery_is_cancelled(
    client: httpx.AsyncClient,
    make_key: KeyMaker,
    services: Services,
    endpoint: tuple[Endpoint, str],
    tmp_path: Path,
) -> None:
    receiver, url = endpoint
    platform, hook = await decided_with_webhook(client, make_key, url, photo(tmp_path / "c.jpg", 33))
    removed = await client.delete(f"/v1/webhooks/{hook['id']}", headers=platform)
    assert removed.status_code == 200
    assert removed.json()["revoked_at"] is not None
    run_jobs(services)
    assert receiver.received == []
    [cancelled] = (await client.get(f"/v1/webhooks/{hook['id']}/deliveries", headers=platform)).json()[
        "deliveries"
    ]
    assert cancelled["status"] == "cancelled"
    assert (await client.get("/v1/webhooks", headers=platform)).json() == {"webhooks": []}


async def test_webhooks_are_the_tenants_own_and_platform_or_admin_only(
    client: httpx.AsyncClient, make_key: KeyMaker, endpoint: tuple[Endpoint, str]
) -> None:
    _, url = endpoint
    acme = bearer(make_key(Role.PLATFORM, tenant="acme"))
    hook = (await client.post("/v1/webhooks", json={"url": url}, headers=acme)).json()
    other = bearer(make_key(Role.PLATFORM, tenant="other"))
    assert (await client.get("/v1/webhooks", headers=other)).json() == {"webhooks": []}
    assert (await client.delete(f"/v1/webhooks/{hook['id']}", headers=other)).status_code == 404
    assert (await client.get(f"/v1/webhooks/{hook['id']}/deliveries", headers=other)).status_code == 404
    reviewer = bearer(make_key(Role.REVIEWER, tenant="acme"))
    assert (await client.get("/v1/webhooks", headers=reviewer)).status_code == 403
    bad = await client.post("/v1/webhooks", json={"url": url, "events": ["everything"]}, headers=acme)
    assert bad.status_code == 422


@pytest.mark.parametrize(
    ("url", "needle"),
    [
        ("http://93.184.216.34/hook", "https://"),
        ("https://user:pw@93.184.216.34/hook", "credentials"),
        ("https://127.0.0.1/hook", "not a public address"),
        ("https://localhost:8443/hook", "not a public address"),
        ("https://10.1.2.3/hook", "not a public address"),
        ("https://169.254.169.254/latest/meta-data", "not a public address"),
        ("https://[::1]/hook", "not a public address"),
        ("https://[::ffff:192.168.0.1]/hook", "not a public address"),
        ("https://[64:ff9b::a00:1]/hook", "not a public address"),  # NAT64 to 10.0.0.1
        ("https://[2002:7f00:1::1]/hook", "not a public address"),  # 6to4 from 127.0.0.1
        ("https://[::7f00:1]/hook", "not a public address"),  # IPv4-compatible 127.0.0.1
        ("https:///hook", "no host"),
    ],
)
def test_a_webhook_may_call_public_https_addresses_only(url: str, needle: str) -> None:
    with pytest.raises(MalformedRequest, match=needle):
        http.check_url(url, allow_private=False)


def test_public_addresses_of_both_families_are_allowed() -> None:
    for url in (
        "https://93.184.216.34/hook",
        "https://[2606:4700:4700::1111]/hook",
        "https://[64:ff9b::808:808]/",
    ):
        http.check_url(url, allow_private=False)


def test_an_endpoint_that_answers_a_byte_at_a_time_is_cut_off_at_the_timeout() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]

        def drip() -> None:
            conn, _ = listener.accept()
            with conn, contextlib.suppress(OSError):
                conn.recv(65536)
                for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 100:
                    conn.sendall(bytes([byte]))
                    time.sleep(0.2)  # each byte well within the read timeout

        threading.Thread(target=drip, daemon=True).start()
        started = time.monotonic()
        with pytest.raises(http.Unreachable, match="no answer within 1 s"):
            http.post(
                f"http://127.0.0.1:{port}/hook",
                b"{}",
                secret="whsec_x",
                event="webhook.ping",
                delivery_id="d",
                timeout_s=1.0,
                allow_private=True,
            )
        assert time.monotonic() - started < 2.5


def test_a_public_address_is_pinned_with_the_urls_own_host_and_tls_name() -> None:
    where = http.target("https://93.184.216.34:8443/hook?x=1", allow_private=False)
    assert (where.url, where.host_header, where.server_name) == (
        "https://93.184.216.34:8443/hook?x=1",
        "93.184.216.34:8443",
        "93.184.216.34",
    )


async def test_production_refuses_a_loopback_webhook_over_http(
    client: httpx.AsyncClient, make_key: KeyMaker, services: Services
) -> None:
    services.settings = services.settings.model_copy(update={"webhook_allow_private": False})
    r = await client.post(
        "/v1/webhooks", json={"url": "https://127.0.0.1:9/hook"}, headers=bearer(make_key(Role.PLATFORM))
    )
    assert r.status_code == 422
    assert "not a public address" in r.json()["error"]["message"]


async def test_a_ping_tries_one_endpoint_out_and_a_removed_one_cannot_be_pinged(
    client: httpx.AsyncClient, make_key: KeyMaker, services: Services, endpoint: tuple[Endpoint, str]
) -> None:
    receiver, url = endpoint
    platform = bearer(make_key(Role.PLATFORM, tenant="acme"))
    hook = (await client.post("/v1/webhooks", json={"url": url}, headers=platform)).json()
    other = (await client.post("/v1/webhooks", json={"url": url + "&second"}, headers=platform)).json()
    pinged = await client.post(f"/v1/webhooks/{hook['id']}/ping", headers=platform)
    assert pinged.status_code == 202, pinged.text
    again = await client.post(f"/v1/webhooks/{hook['id']}/ping", headers=platform)
    assert again.status_code == 409  # one pending ping at a time
    run_jobs(services)
    [(headers, body)] = receiver.received  # the pinged endpoint only
    verify_signature(hook["secret"], headers, body)
    assert json.loads(body)["event"] == headers["vigil-event"] == "webhook.ping"
    assert json.loads(body)["data"] == {"webhook_id": hook["id"]}
    [done] = (await client.get(f"/v1/webhooks/{hook['id']}/deliveries", headers=platform)).json()[
        "deliveries"
    ]
    assert (done["id"], done["status"]) == (pinged.json()["delivery_id"], "delivered")

    await client.delete(f"/v1/webhooks/{other['id']}", headers=platform)
    assert (await client.post(f"/v1/webhooks/{other['id']}/ping", headers=platform)).status_code == 409


async def test_a_delivery_the_url_rules_no_longer_allow_fails_at_once_without_a_call(
    client: httpx.AsyncClient, make_key: KeyMaker, services: Services, endpoint: tuple[Endpoint, str]
) -> None:
    receiver, url = endpoint
    platform = bearer(make_key(Role.PLATFORM, tenant="acme"))
    hook = (await client.post("/v1/webhooks", json={"url": url}, headers=platform)).json()
    assert (await client.post(f"/v1/webhooks/{hook['id']}/ping", headers=platform)).status_code == 202
    # As in production, where this http:// loopback endpoint may not be called (the rules are
    # applied again at every delivery, as when a public name now resolves to an internal address).
    services.settings = services.settings.model_copy(update={"webhook_allow_private": False})
    run_jobs(services)
    assert receiver.received == []
    [failed] = (await client.get(f"/v1/webhooks/{hook['id']}/deliveries", headers=platform)).json()[
        "deliveries"
    ]
    assert (failed["status"], failed["attempts"]) == ("failed", 1)
    assert "must start with https://" in failed["last_error"]
