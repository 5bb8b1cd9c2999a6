"""Double review: a sampled flag needs two independent verdicts; kappa per category at /v1/review/stats."""

from __future__ import annotations

import httpx
import pytest

from service.services import Services
from tests.conftest import KeyMaker, bearer
from tests.review.helpers import enqueue


async def _decide(client: httpx.AsyncClient, token: str, decision: str) -> dict[str, object]:
    claimed = await client.post("/v1/flags/claim", headers=bearer(token))
    assert claimed.status_code == 200, claimed.text
    flag_id = claimed.json()["id"]
    r = await client.post(
        f"/v1/flags/{flag_id}/decision", json={"decision": decision, "rationale": "qa"}, headers=bearer(token)
    )
    assert r.status_code == 200, r.text
    return dict(r.json())


async def test_double_review_needs_a_second_reviewer(
    client: httpx.AsyncClient, services: Services, make_key: KeyMaker
) -> None:
    effects: list[str] = []
    services.review_effects.register("check", "reject", lambda conn, s: effects.append(str(s.flag.id)))
    flag = enqueue(services, category="provenance", source_kind="check")
    assert flag.double_review is True
    alice, bob, carol = make_key("reviewer"), make_key("reviewer"), make_key("reviewer")
    first = await _decide(client, alice, "reject")
    assert first["final"] is False
    assert effects == []
    # Alice may not be the second reviewer.
    assert (await client.post("/v1/flags/claim", headers=bearer(alice))).status_code == 204
    second = await _decide(client, bob, "approve")  # disagreement → escalated to a third reviewer
    assert (second["final"], second["flag_status"]) == (False, "escalated")
    assert (await client.post("/v1/flags/claim", headers=bearer(bob))).status_code == 204
    third = await _decide(client, carol, "reject")
    assert third["final"] is True
    assert effects == [str(flag.id)]


@pytest.mark.slow
async def test_kappa_per_category_on_the_sample(
    client: httpx.AsyncClient, services: Services, make_key: KeyMaker
) -> None:
    alice, bob = make_key("reviewer"), make_key("reviewer")
    # Not sampled: never part of the agreement figures.
    enqueue(services, category="war_glorification")
    await _decide(client, alice, "approve")
    # 10 sampled flags: first reviewer alice, second bob. Agree on 7 (4 reject, 3 approve), differ on 3.
    plan = [("reject", "reject")] * 4 + [("approve", "approve")] * 3 + [("reject", "approve")] * 2
    plan += [("approve", "reject")]
    for _ in plan:
        enqueue(services, category="provenance")
    for first, _second in plan:
        await _decide(client, alice, first)
    for _first, second in plan:
        await _decide(client, bob, second)
    stats = (await client.get("/v1/review/stats", headers=bearer(alice))).json()
    assert [a["category"] for a in stats["agreement"]] == ["provenance"]
    qa = stats["agreement"][0]
    assert qa["pairs"] == 10
    assert qa["observed_agreement"] == pytest.approx(0.7)
    # p_e = 0.6·0.5 + 0.4·0.5 = 0.5 → κ = (0.7 − 0.5) / 0.5 = 0.4
    assert qa["kappa"] == pytest.approx(0.4)
    assert stats["queue"]["escalated"] == 3
