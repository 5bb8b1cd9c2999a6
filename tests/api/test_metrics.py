"""``GET /metrics``: what a Prometheus scrape of one process shows (``--workers``: see tests/cli)."""

from __future__ import annotations

import httpx


def sample(text: str, series: str) -> float | None:
    found = [line.rsplit(" ", 1)[1] for line in text.splitlines() if line.startswith(series + " ")]
    return float(found[0]) if found else None


async def test_requests_are_counted_by_route_and_status(client: httpx.AsyncClient) -> None:
    for _ in range(2):
        assert (await client.get("/healthz")).status_code == 200
    assert (await client.post("/v1/check")).status_code == 401
    assert (await client.get("/v1/checks/not-a-uuid/review")).status_code == 401

    scraped = await client.get("/metrics")
    assert scraped.status_code == 200
    assert scraped.headers["content-type"].startswith("text/plain")
    text = scraped.text
    assert sample(text, 'vigil_http_requests_total{method="GET",route="/healthz",status="200"}') == 2
    assert sample(text, 'vigil_http_requests_total{method="POST",route="/v1/check",status="401"}') == 1
    # routes are labelled by template, never by the id in the path
    assert 'route="/v1/checks/{check_id}/review"' in text
    assert "not-a-uuid" not in text
    assert sample(text, 'vigil_http_request_seconds_count{method="GET",route="/healthz"}') == 2
