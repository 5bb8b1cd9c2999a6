"""The review pages over HTTP: login, cookies, CSRF, escaping, tenancy and auto-advance."""

from __future__ import annotations

import dataclasses
import re

import httpx

from service.app import create_app
from service.services import Services
from service.settings import Settings
from tests.conftest import KeyMaker
from tests.review.helpers import enqueue

SCRIPT = '<script>alert("x")</script>'


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match, html
    return match.group(1)


async def login(client: httpx.AsyncClient, token: str) -> str:
    """Sign in through the form; return the session's CSRF token."""
    page = await client.get("/review/login")
    r = await client.post("/review/login", data={"token": token, "csrf": _csrf(page.text)})
    assert r.status_code == 303, r.text
    assert r.headers["location"] == "/review"
    return _csrf((await client.get("/review")).text)


async def test_pages_need_a_login(client: httpx.AsyncClient) -> None:
    r = await client.get("/review")
    assert r.status_code == 303
    assert r.headers["location"] == "/review/login"


async def test_login_sets_a_safe_cookie(client: httpx.AsyncClient, make_key: KeyMaker) -> None:
    page = await client.get("/review/login")
    r = await client.post("/review/login", data={"token": make_key("reviewer"), "csrf": _csrf(page.text)})
    cookie = next(
        v for k, v in r.headers.multi_items() if k == "set-cookie" and v.startswith("vigil_review=")
    )
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    assert "Path=/review" in cookie
    assert "Secure" not in cookie  # development
    assert "default-src 'self'" in r.headers["content-security-policy"]


async def test_secure_cookie_outside_development(
    services: Services, settings: Settings, make_key: KeyMaker
) -> None:
    prod = settings.model_copy(update={"env": "production"})
    app = create_app(prod, services=dataclasses.replace(services, settings=prod))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="https://testserver"
    ) as http:
        page = await http.get("/review/login")
        r = await http.post("/review/login", data={"token": make_key("reviewer"), "csrf": _csrf(page.text)})
    cookies = [v for k, v in r.headers.multi_items() if k == "set-cookie"]
    assert any(c.startswith("vigil_review=") and "Secure" in c for c in cookies)


async def test_bad_logins(client: httpx.AsyncClient, make_key: KeyMaker) -> None:
    page = await client.get("/review/login")
    csrf = _csrf(page.text)
    assert (await client.post("/review/login", data={"token": "vgl_nope_x", "csrf": csrf})).status_code == 401
    r = await client.post("/review/login", data={"token": make_key("studio"), "csrf": csrf})
    assert r.status_code == 401
    assert "not a reviewer key" in r.text
    # Without the login form's CSRF token: 403.
    r = await client.post("/review/login", data={"token": make_key("reviewer"), "csrf": "forged"})
    assert r.status_code == 403


async def test_every_post_needs_csrf(
    client: httpx.AsyncClient, services: Services, make_key: KeyMaker
) -> None:
    flag = enqueue(services)
    csrf = await login(client, make_key("reviewer"))
    assert (await client.post("/review/claim", data={})).status_code == 403
    assert (await client.post("/review/claim", data={"csrf": "wrong"})).status_code == 403
    r = await client.post("/review/claim", data={"csrf": csrf})
    assert r.headers["location"] == f"/review/{flag.id}"
    body = {"decision": "approve", "rationale": "fine"}
    assert (await client.post(f"/review/{flag.id}/decision", data=body)).status_code == 403
    assert (await client.post("/review/prefs", data={"media_mode": "revealed"})).status_code == 403
    r = await client.post("/review/prefs", data={"media_mode": "revealed"}, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 204
    assert (await client.post(f"/review/{flag.id}/renew", data={})).status_code == 403
    assert (await client.post(f"/review/{flag.id}/release", data={})).status_code == 403
    assert (await client.post("/review/logout", data={})).status_code == 403
    # Still undecided: none of the forged posts did anything.
    with services.db.system() as conn:
        assert conn.execute("SELECT count(*) FROM review_decisions").fetchone() == (0,)


async def test_captions_and_file_names_are_escaped(
    client: httpx.AsyncClient, services: Services, make_key: KeyMaker
) -> None:
    flag = enqueue(
        services,
        context={
            "caption": f"Farewell {SCRIPT}",
            "file_name": f'"><img src=x onerror=alert(1)>{SCRIPT}.jpg',
            "consent": {"status": "active", "note": SCRIPT},
        },
    )
    await login(client, make_key("reviewer"))
    html = (await client.get(f"/review/{flag.id}")).text
    assert SCRIPT not in html
    assert "<img src=x" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html


async def test_each_text_and_score_is_shown_under_its_source_escaped(
    client: httpx.AsyncClient, services: Services, make_key: KeyMaker
) -> None:
    flag = enqueue(
        services,
        context={
            "caption": "Forever a hero",
            "texts": [
                {"source": "prompt", "text": "Forever a hero"},
                {"source": "script", "text": f"He rises to heaven {SCRIPT}"},
            ],
            "scores": [
                {"category": "combatant_martyrdom", "score": 0.81, "threshold": 0.5, "source": "script"},
                {"category": "war_glorification", "score": 0.12, "threshold": 0.5, "source": "prompt"},
            ],
        },
    )
    await login(client, make_key("reviewer"))
    html = (await client.get(f"/review/{flag.id}")).text
    # Each text under the heading a person reads, never the prompt called a caption.
    assert re.search(r'<h3 class="text-source" data-source="script">Voice script</h3>\s*<blockquote', html)
    assert re.search(r'<h3 class="text-source" data-source="prompt">Generation prompt</h3>', html)
    assert ">Caption</h3>" not in html
    assert "He rises to heaven &lt;script&gt;" in html
    assert SCRIPT not in html
    assert '<td class="source">script</td>' in html
    assert '<td class="source">prompt</td>' in html
    # A score at or over its threshold is drawn as such; one far below is not.
    assert '<td class="score over">' in html
    assert '<td class="score under">' in html
    # No media: no blur preference, a plain note instead.
    assert 'id="no-media"' in html
    assert "Media starts" not in html
    # Consent: not applicable where no grant is behind the item, said in words.
    assert "not applicable" in html


async def test_the_words_the_lexicon_knows_are_marked(
    client: httpx.AsyncClient, services: Services, make_key: KeyMaker
) -> None:
    flag = enqueue(
        services, context={"texts": [{"source": "caption", "text": "Вечная слава героям СВО! <b>"}]}
    )
    await login(client, make_key("reviewer"))
    html = (await client.get(f"/review/{flag.id}")).text
    assert re.search(r"<mark title=\"[a-z ]+\">[^<]*СВО</mark>", html), html
    assert "&lt;b&gt;" in html


async def test_other_tenants_items_are_404(
    client: httpx.AsyncClient, services: Services, make_key: KeyMaker
) -> None:
    theirs = enqueue(services, tenant="globex", context={"caption": "theirs"})
    await login(client, make_key("reviewer", tenant="acme"))
    r = await client.get(f"/review/{theirs.id}")
    assert r.status_code == 404
    assert "theirs" not in r.text
    assert str(theirs.id) not in (await client.get("/review")).text


async def test_decision_advances_to_the_next_item(
    client: httpx.AsyncClient, services: Services, make_key: KeyMaker
) -> None:
    first = enqueue(services, category="minors_militarised")
    second = enqueue(services, category="disclosure")
    csrf = await login(client, make_key("reviewer"))
    r = await client.post("/review/claim", data={"csrf": csrf})
    assert r.headers["location"] == f"/review/{first.id}"
    # Claiming again resumes the held item rather than hoarding a second one.
    r = await client.post("/review/claim", data={"csrf": csrf})
    assert r.headers["location"] == f"/review/{first.id}"
    page = await client.get(f"/review/{first.id}")
    assert 'id="decide"' in page.text
    body = {
        "decision": "reject",
        "rationale": "Glorifies the invasion.",
        "policy_citation": "P-4.2",
        "csrf": csrf,
    }
    r = await client.post(f"/review/{first.id}/decision", data=body)
    assert r.headers["location"] == f"/review/{second.id}?notice=decided"
    again = await client.post(f"/review/{first.id}/decision", data=body)
    assert again.headers["location"] == f"/review/{first.id}?notice=conflict"
    r = await client.post(f"/review/{second.id}/decision", data={**body, "decision": "approve"})
    assert r.headers["location"] == "/review?notice=done"
    queue_page = (await client.get("/review?notice=done")).text
    assert str(first.id) not in queue_page
    assert "The queue is empty" in queue_page


async def test_media_is_served_only_for_its_item_and_tenant(
    client: httpx.AsyncClient, services: Services, make_key: KeyMaker
) -> None:
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    sha = services.blobs.put_bytes(png)
    other = services.blobs.put_bytes(b"not part of any item")
    mine = enqueue(services, context={"media": [{"sha256": sha, "mime": "image/png"}]})
    theirs = enqueue(services, tenant="globex", context={"media": [{"sha256": sha, "mime": "image/png"}]})
    assert (await client.get(f"/review/media/{mine.id}/{sha}")).status_code == 303  # not signed in
    await login(client, make_key("reviewer"))
    r = await client.get(f"/review/media/{mine.id}/{sha}")
    assert r.status_code == 200
    assert r.headers["content-type"] == "image/png"
    assert r.headers["x-content-type-options"] == "nosniff"
    assert (await client.get(f"/review/media/{mine.id}/{other}")).status_code == 404
    assert (await client.get(f"/review/media/{theirs.id}/{sha}")).status_code == 404
