"""The flag API: claim, leases, decisions, appeals, effects, tenancy and the bad-input cases."""

from __future__ import annotations

from datetime import timedelta
from uuid import uuid4

import httpx
import pytest

from service.audit import Event, EventName, append
from service.audit.log import integrate_all
from service.db import Conn
from service.errors import Unavailable
from service.review.effects import Effects, Settled
from service.services import Services
from tests.conftest import KeyMaker, bearer
from tests.review.helpers import enqueue

DECIDE = {
    "decision": "approve",
    "rationale": "Memorial imagery, no glorifying symbols.",
    "policy_citation": "P-4.2",
}


async def test_claim_returns_most_urgent_then_204(
    client: httpx.AsyncClient, services: Services, make_key: KeyMaker
) -> None:
    low = enqueue(services, category="disclosure")
    high = enqueue(services, category="minors_militarised")
    token = make_key("reviewer")
    listed = (await client.get("/v1/flags", headers=bearer(token))).json()["flags"]
    assert [f["id"] for f in listed] == [str(high.id), str(low.id)]
    first = listed[0]
    assert first["source"] == {"kind": "generation", "id": high.source_id}
    assert first["reasons"][0]["rule"] == "propaganda.symbols"
    assert first["priority"] >= 5.0
    assert first["due_at"]

    r1 = await client.post("/v1/flags/claim", headers=bearer(token))
    r2 = await client.post("/v1/flags/claim", headers=bearer(token))
    r3 = await client.post("/v1/flags/claim", headers=bearer(token))
    assert (r1.status_code, r2.status_code, r3.status_code) == (200, 200, 204)
    assert [r1.json()["id"], r2.json()["id"]] == [str(high.id), str(low.id)]
    assert r1.json()["leased_by_you"] is True


async def test_a_reviewer_claims_the_flag_they_opened_and_is_told_why_not(
    client: httpx.AsyncClient, services: Services, make_key: KeyMaker
) -> None:
    enqueue(services, category="minors_militarised")  # more urgent, but not the one opened
    opened = enqueue(
        services, category="disclosure", context={"texts": [{"source": "caption", "text": "hi"}]}
    )
    alice, bob = make_key("reviewer"), make_key("reviewer")
    r = await client.post(f"/v1/flags/{opened.id}/claim", headers=bearer(alice))
    assert r.status_code == 200, r.text
    assert (r.json()["id"], r.json()["leased_by_you"]) == (str(opened.id), True)
    assert r.json()["context"]["texts"] == [
        {"source": "caption", "heading": "Caption", "text": "hi", "highlights": []}
    ]
    assert r.json()["context"]["consent"]["status"] == "not_applicable"
    again = await client.post(f"/v1/flags/{opened.id}/claim", headers=bearer(alice))  # idempotent
    assert again.status_code == 200
    taken = await client.post(f"/v1/flags/{opened.id}/claim", headers=bearer(bob))
    assert taken.status_code == 409
    assert "Another reviewer holds" in taken.json()["error"]["message"]
    r = await client.post(f"/v1/flags/{opened.id}/decision", json=DECIDE, headers=bearer(alice))
    assert r.status_code == 200
    decided = await client.post(f"/v1/flags/{opened.id}/claim", headers=bearer(bob))
    assert decided.status_code == 409
    assert "already decided" in decided.json()["error"]["message"]
    assert (await client.post(f"/v1/flags/{uuid4()}/claim", headers=bearer(bob))).status_code == 404


async def test_decide_requires_the_lease_and_only_once(
    client: httpx.AsyncClient, services: Services, make_key: KeyMaker
) -> None:
    flag = enqueue(services, category="war_glorification")
    alice, bob = make_key("reviewer"), make_key("reviewer")
    # Not claimed by anyone: 409.
    r = await client.post(f"/v1/flags/{flag.id}/decision", json=DECIDE, headers=bearer(alice))
    assert r.status_code == 409
    assert (await client.post("/v1/flags/claim", headers=bearer(alice))).json()["id"] == str(flag.id)
    # Held by alice: bob gets 409, and nothing to claim.
    r = await client.post(f"/v1/flags/{flag.id}/decision", json=DECIDE, headers=bearer(bob))
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "conflict"
    assert (await client.post("/v1/flags/claim", headers=bearer(bob))).status_code == 204
    ok = await client.post(f"/v1/flags/{flag.id}/decision", json=DECIDE, headers=bearer(alice))
    assert ok.status_code == 200, ok.text
    assert ok.json()["final"] is True
    assert ok.json()["outcome"] == "approve"
    again = await client.post(f"/v1/flags/{flag.id}/decision", json=DECIDE, headers=bearer(alice))
    assert again.status_code == 409
    listed = (await client.get("/v1/flags", headers=bearer(alice))).json()["flags"]
    assert listed == []
    decided = (await client.get("/v1/flags?status=decided", headers=bearer(alice))).json()["flags"]
    assert [f["outcome"] for f in decided] == ["approve"]


@pytest.mark.parametrize(
    "body",
    [
        {"decision": "approve"},
        {"decision": "approve", "rationale": ""},
        {"decision": "maybe", "rationale": "x"},
        {"decision": "reject", "rationale": "x", "policy_citation": "x" * 201},
    ],
)
async def test_malformed_decisions_are_422(
    client: httpx.AsyncClient, services: Services, make_key: KeyMaker, body: dict[str, str]
) -> None:
    flag = enqueue(services)
    token = make_key("reviewer")
    await client.post("/v1/flags/claim", headers=bearer(token))
    r = await client.post(f"/v1/flags/{flag.id}/decision", json=body, headers=bearer(token))
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "malformed_request"


async def test_other_tenants_flags_are_invisible(
    client: httpx.AsyncClient, services: Services, make_key: KeyMaker
) -> None:
    theirs = enqueue(services, tenant="globex")
    mine = make_key("reviewer", tenant="acme")
    assert (await client.get("/v1/flags", headers=bearer(mine))).json()["flags"] == []
    assert (await client.get(f"/v1/flags/{theirs.id}", headers=bearer(mine))).status_code == 404
    assert (await client.post("/v1/flags/claim", headers=bearer(mine))).status_code == 204
    r = await client.post(f"/v1/flags/{theirs.id}/decision", json=DECIDE, headers=bearer(mine))
    assert r.status_code == 404
    r = await client.post(
        f"/v1/flags/{theirs.id}/appeal", json={"statement": "x"}, headers=bearer(make_key("studio"))
    )
    assert r.status_code == 404


async def test_roles(client: httpx.AsyncClient, make_key: KeyMaker) -> None:
    assert (await client.get("/v1/flags")).status_code == 401
    assert (await client.get("/v1/flags", headers=bearer(make_key("studio")))).status_code == 403
    assert (await client.post("/v1/flags/claim", headers=bearer(make_key("platform")))).status_code == 403


async def test_lease_expiry_returns_flag_to_queue_and_renew_release(
    client: httpx.AsyncClient, services: Services, make_key: KeyMaker
) -> None:
    flag = enqueue(services)
    alice, bob = make_key("reviewer"), make_key("reviewer")
    await client.post("/v1/flags/claim", headers=bearer(alice))
    assert (await client.post(f"/v1/flags/{flag.id}/renew", headers=bearer(alice))).status_code == 200
    assert (await client.post(f"/v1/flags/{flag.id}/renew", headers=bearer(bob))).status_code == 409
    # Let alice's lease lapse: the flag is bob's to claim, and alice may no longer decide.
    with services.db.system() as conn:
        conn.execute("UPDATE review_flags SET lease_expires_at = now() - interval '1 second'")
    assert (await client.post("/v1/flags/claim", headers=bearer(bob))).json()["id"] == str(flag.id)
    r = await client.post(f"/v1/flags/{flag.id}/decision", json=DECIDE, headers=bearer(alice))
    assert r.status_code == 409
    assert (await client.post(f"/v1/flags/{flag.id}/release", headers=bearer(bob))).status_code == 204
    assert (await client.post("/v1/flags/claim", headers=bearer(alice))).json()["id"] == str(flag.id)


async def test_effects_run_once_in_the_decision_transaction(
    client: httpx.AsyncClient, services: Services, make_key: KeyMaker
) -> None:
    seen: list[tuple[str, str]] = []

    def release(conn: Conn, settled: Settled) -> None:
        # A real write in the caller's transaction: the generation stage appends its own event.
        append(conn, Event(EventName.GENERATION_RELEASED, settled.flag.source_id, settled.flag.tenant_id))
        seen.append((settled.flag.source_id, settled.outcome.value))

    def withhold(conn: Conn, settled: Settled) -> None:
        raise Unavailable("the withhold store is down")

    services.review_effects = Effects()  # only this test's handlers (not the generation flow's)
    services.review_effects.register("generation", "approve", release)
    services.review_effects.register("generation", "reject", withhold)
    a = enqueue(services, category="war_glorification")
    b = enqueue(services, category="war_glorification")
    token = make_key("reviewer")
    await client.post("/v1/flags/claim", headers=bearer(token))
    await client.post("/v1/flags/claim", headers=bearer(token))
    r = await client.post(f"/v1/flags/{a.id}/decision", json=DECIDE, headers=bearer(token))
    assert r.json()["effects_run"] == 1
    assert seen == [(a.source_id, "approve")]
    # A failing effect rolls the decision back: still held, still undecided, no event.
    r = await client.post(
        f"/v1/flags/{b.id}/decision", json={**DECIDE, "decision": "reject"}, headers=bearer(token)
    )
    assert r.status_code == 503
    with services.db.system() as conn:
        integrate_all(conn)  # the queued log events are in the tree
        rows = conn.execute("SELECT count(*) FROM review_decisions WHERE flag_id = %s", (b.id,)).fetchone()
        released = conn.execute(
            "SELECT count(*) FROM audit_entries WHERE event = 'generation.released'"
        ).fetchone()
        decided = conn.execute("SELECT count(*) FROM audit_entries WHERE event = 'flag.decided'").fetchone()
    assert rows == (0,)
    assert released == (1,)
    assert decided == (1,)
    assert (await client.get(f"/v1/flags/{b.id}", headers=bearer(token))).json()["status"] == "open"


async def test_escalate_and_needs_context(
    client: httpx.AsyncClient, services: Services, make_key: KeyMaker
) -> None:
    flag = enqueue(services, category="disclosure")
    token = make_key("reviewer")
    before = (await client.post("/v1/flags/claim", headers=bearer(token))).json()["priority"]
    r = await client.post(
        f"/v1/flags/{flag.id}/decision", json={**DECIDE, "decision": "escalate"}, headers=bearer(token)
    )
    assert r.json()["flag_status"] == "escalated"
    assert r.json()["final"] is False
    # The escalating reviewer steps aside; the next reviewer sees it at twice the priority.
    assert (await client.post("/v1/flags/claim", headers=bearer(token))).status_code == 204
    senior = make_key("reviewer")
    again = (await client.post("/v1/flags/claim", headers=bearer(senior))).json()
    assert again["status"] == "escalated"
    assert again["priority"] >= 2 * before
    r = await client.post(
        f"/v1/flags/{flag.id}/decision", json={**DECIDE, "decision": "needs_context"}, headers=bearer(senior)
    )
    assert r.json()["flag_status"] == "needs_context"
    assert (await client.post("/v1/flags/claim", headers=bearer(senior))).status_code == 204


async def test_appeal_by_a_different_reviewer_overturns(
    client: httpx.AsyncClient, services: Services, make_key: KeyMaker
) -> None:
    outcomes: list[tuple[str, bool]] = []
    services.review_effects.register(
        "generation", "approve", lambda conn, s: outcomes.append((s.outcome.value, s.overturned))
    )
    flag = enqueue(services, category="war_glorification")
    alice, bob, studio = make_key("reviewer"), make_key("reviewer"), make_key("studio")
    early = await client.post(
        f"/v1/flags/{flag.id}/appeal", json={"statement": "too early"}, headers=bearer(studio)
    )
    assert early.status_code == 409
    await client.post("/v1/flags/claim", headers=bearer(alice))
    reject = {**DECIDE, "decision": "reject"}
    assert (
        await client.post(f"/v1/flags/{flag.id}/decision", json=reject, headers=bearer(alice))
    ).status_code == 200
    assert (
        await client.post(f"/v1/flags/{flag.id}/appeal", json={"statement": "x"}, headers=bearer(alice))
    ).status_code == 403
    filed = await client.post(
        f"/v1/flags/{flag.id}/appeal", json={"statement": "It is a memorial."}, headers=bearer(studio)
    )
    assert filed.status_code == 201, filed.text
    body = filed.json()
    assert body["status"] == "open"
    from datetime import datetime

    window = datetime.fromisoformat(body["open_until"]) - datetime.fromisoformat(body["filed_at"])
    assert window >= timedelta(days=182)
    dup = await client.post(
        f"/v1/flags/{flag.id}/appeal", json={"statement": "again"}, headers=bearer(studio)
    )
    assert dup.status_code == 409
    # Alice decided the original, so the appeal is not hers to take.
    assert (await client.post("/v1/flags/claim", headers=bearer(alice))).status_code == 204
    appeal_flag = (await client.post("/v1/flags/claim", headers=bearer(bob))).json()
    assert appeal_flag["source"] == {"kind": "appeal", "id": str(flag.id)}
    r = await client.post(f"/v1/flags/{appeal_flag['id']}/decision", json=DECIDE, headers=bearer(bob))
    assert r.json()["appeal_status"] == "overturned"
    assert outcomes == [("approve", True)]
    original = (await client.get(f"/v1/flags/{flag.id}", headers=bearer(bob))).json()
    assert original["outcome"] == "approve"
    with services.db.system() as conn:
        integrate_all(conn)  # the queued log events are in the tree
        rows = conn.execute("SELECT event FROM audit_entries WHERE event NOT LIKE 'key.%%' ORDER BY idx")
        events = [r[0] for r in rows.fetchall()]
    assert events == [
        "flag.created", "flag.decided", "flag.created", "appeal.filed", "flag.decided", "appeal.decided",
    ]  # fmt: skip


async def test_needs_context_returns_to_the_queue_with_more_context(
    client: httpx.AsyncClient, services: Services, make_key: KeyMaker
) -> None:
    from service.review import queue

    flag = enqueue(services, context={"caption": "first"})
    token = make_key("reviewer")
    await client.post("/v1/flags/claim", headers=bearer(token))
    body = {**DECIDE, "decision": "needs_context"}
    assert (
        await client.post(f"/v1/flags/{flag.id}/decision", json=body, headers=bearer(token))
    ).status_code == 200
    assert (await client.post("/v1/flags/claim", headers=bearer(token))).status_code == 204
    with services.db.tenant(flag.tenant_id) as conn:
        updated = queue.add_context(conn, flag_id=flag.id, context={"consent": {"status": "active"}})
    assert updated.status == "open"
    assert updated.context == {"caption": "first", "consent": {"status": "active"}}
    assert (await client.post("/v1/flags/claim", headers=bearer(token))).json()["id"] == str(flag.id)
