"""What an operator's dashboard reads from ``/metrics`` about checks and the work waiting."""

from __future__ import annotations

import httpx

from service.auth import Role
from service.services import Services
from tests.api.test_metrics import sample
from tests.check.conftest import WAR_CAPTION
from tests.conftest import KeyMaker, bearer


async def test_checks_by_decision_and_the_backlogs_waiting_on_reviewers(
    client: httpx.AsyncClient, make_key: KeyMaker, services: Services
) -> None:
    platform = bearer(make_key(Role.PLATFORM))
    for text in (WAR_CAPTION, "Grandmother's garden in spring, the roses she planted."):
        assert (await client.post("/v1/check", data={"text": text}, headers=platform)).status_code == 200

    text = (await client.get("/metrics")).text
    assert sample(text, 'vigil_checks_total{decision="review"}') == 1
    assert sample(text, 'vigil_checks_total{decision="allow"}') == 1
    assert sample(text, "vigil_database_up") == 1
    assert sample(text, 'vigil_review_flags{state="waiting"}') == 1  # the review verdict's flag
    assert sample(text, 'vigil_review_flags{state="breached"}') == 0
    assert sample(text, 'vigil_jobs{state="dead"}') == 0
    assert sample(text, 'vigil_webhook_deliveries{status="failed"}') == 0


async def test_a_database_that_is_down_shows_as_down_and_the_scrape_still_answers(
    client: httpx.AsyncClient, services: Services
) -> None:
    services.db.pool.close()
    scraped = await client.get("/metrics")
    assert scraped.status_code == 200
    assert sample(scraped.text, "vigil_database_up") == 0
    assert "vigil_http_requests_total" in scraped.text
