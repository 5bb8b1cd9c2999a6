"""Guessing is throttled (429 with Retry-After, per client and per key prefix, the login page too)
and a busy process sheds checks it cannot start in time (503 with Retry-After), never queueing
them without bound."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx

from service.app import create_app
from service.auth import Role
from service.auth import store as auth_store
from service.auth.throttle import Limits, Throttle, prefix_of
from service.composition import open_services
from service.services import Services
from service.settings import Settings
from tests.conftest import bearer


@asynccontextmanager
async def _app(settings: Settings, **update: Any) -> AsyncIterator[tuple[httpx.AsyncClient, Services]]:
    tuned = settings.model_copy(update=update)
    services = open_services(tuned)
    try:
        app = create_app(tuned, services=services)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
            yield http, services
    finally:
        services.close()


def _key(services: Services, role: Role = Role.PLATFORM) -> str:
    with services.db.system() as conn:
        return auth_store.create_key(conn, tenant_name="acme", role=role).token


def test_the_window_slides_and_forgets() -> None:
    now = [0.0]
    throttle = Throttle(Limits(per_client=3, per_prefix=100, window_s=60), clock=lambda: now[0])
    for _ in range(3):
        assert throttle.retry_after("1.2.3.4", None) is None
        throttle.failed("1.2.3.4", None)
    wait = throttle.retry_after("1.2.3.4", None)
    assert wait is not None
    assert 59 <= wait <= 60
    assert throttle.retry_after("5.6.7.8", None) is None  # another client is not affected
    now[0] = 61.0
    assert throttle.retry_after("1.2.3.4", None) is None
    assert prefix_of("vgl_0123abcd_secret") == "vgl_0123abcd"
    assert prefix_of("not-a-key") is None


async def test_wrong_keys_from_one_client_get_429_with_retry_after(settings: Settings) -> None:
    async with _app(settings, auth_failures_per_client=5) as (http, services):
        good = _key(services)
        for i in range(5):
            r = await http.get("/v1/whoami", headers=bearer(f"vgl_{i:08x}_wrong"))
            assert r.status_code == 401
        r = await http.get("/v1/whoami", headers=bearer("vgl_ffffffff_wrong"))
        assert r.status_code == 429
        assert int(r.headers["retry-after"]) >= 1
        assert r.json()["error"]["code"] == "too_many_requests"
        # While throttled even a right key waits: the caller is throttled, not the key.
        assert (await http.get("/v1/whoami", headers=bearer(good))).status_code == 429
        metrics = (await http.get("/metrics")).text
        assert re.search(r"^vigil_auth_throttled_total [1-9]", metrics, re.M)
        assert re.search(r"^vigil_auth_failures_total 5\.0", metrics, re.M)


async def test_guessing_the_secret_of_a_known_prefix_is_throttled(settings: Settings) -> None:
    async with _app(settings, auth_failures_per_client=1000, auth_failures_per_prefix=3) as (http, services):
        good = _key(services)
        prefix = prefix_of(good)
        assert prefix is not None
        for _ in range(3):
            assert (await http.get("/v1/whoami", headers=bearer(f"{prefix}_guess"))).status_code == 401
        assert (await http.get("/v1/whoami", headers=bearer(f"{prefix}_guess"))).status_code == 429
        other = _key(services)  # another key's prefix is untouched
        assert (await http.get("/v1/whoami", headers=bearer(other))).status_code == 200


async def test_the_login_page_is_throttled_too(settings: Settings) -> None:
    async with _app(settings, auth_failures_per_client=2) as (http, _):
        form = (await http.get("/review/login")).text
        match = re.search(r'name="csrf" value="([^"]+)"', form)
        assert match is not None
        statuses = []
        for _ in range(3):
            r = await http.post("/review/login", data={"token": "vgl_00000000_nope", "csrf": match.group(1)})
            statuses.append(r.status_code)
        assert statuses == [401, 401, 429]
        assert "Too many failed sign-ins" in r.text
        assert int(r.headers["retry-after"]) >= 1


async def test_a_check_that_cannot_start_in_time_is_shed_with_503(settings: Settings) -> None:
    async with _app(settings, check_concurrency=1, check_wait_s=0.2) as (http, services):
        token = _key(services)
        with services.check_slots:  # the one slot is taken, as by a long check in flight
            r = await http.post("/v1/check", data={"text": "hello"}, headers=bearer(token))
        assert r.status_code == 503
        assert r.json()["error"]["code"] == "overloaded"
        assert int(r.headers["retry-after"]) >= 1
        assert "busy" in r.json()["error"]["message"]
        # Free again: the next one is answered.
        assert (
            await http.post("/v1/check", data={"text": "hello"}, headers=bearer(token))
        ).status_code == 200
        metrics = (await http.get("/metrics")).text
        assert re.search(r"^vigil_checks_shed_total 1\.0", metrics, re.M)
