"""The reviewer's walk in a real browser: Debian's Chromium driven by Playwright, against the real
app served by uvicorn on a loopback port. Screenshots land in ``test-artifacts/review/``."""

from __future__ import annotations

import io
import re
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from PIL import Image, ImageDraw

from service.app import create_app
from service.services import Services
from service.settings import Settings
from tests.conftest import KeyMaker
from tests.review.helpers import enqueue

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "review"
SCRIPT = '<script>alert("x")</script>'

pytestmark = [
    pytest.mark.browser,
    pytest.mark.tool("chromium"),
]


@pytest.fixture
def server(settings: Settings, services: Services) -> Iterator[str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = uvicorn.Config(
        create_app(settings, services=services),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="off",
    )
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not srv.started and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        srv.should_exit = True
        thread.join(timeout=10)


def _picture(seed: int) -> bytes:
    """A small, recognisable colour picture (so blur and grayscale are visible in screenshots)."""
    image = Image.new("RGB", (640, 400), (40 + seed * 60, 90, 160))
    draw = ImageDraw.Draw(image)
    for i in range(8):
        draw.rectangle((40 + i * 70, 60 + (i % 3) * 40, 90 + i * 70, 330), fill=(220, 40 + i * 25, 60))
    draw.ellipse((420, 40, 600, 220), fill=(250, 210, 60))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def _context(services: Services, seed: int) -> dict[str, object]:
    media = services.blobs.put_bytes(_picture(seed))
    frame = services.blobs.put_bytes(_picture(seed + 1))
    return {
        "texts": [
            {"source": "prompt", "text": f"Farewell video: he climbs a staircase to heaven {SCRIPT}"},
            {"source": "caption", "text": "Forever a hero. Вечная слава героям СВО!"},
        ],
        "media": [{"sha256": media, "mime": "image/png", "role": "output"}],
        "scores": [
            {"category": "propaganda_poster", "score": 0.81, "threshold": 0.7,
             "evidence": [{"frame_sha256": frame, "timestamp_s": 3.2, "score": 0.88}]},
            {"category": "war_glorification", "score": 0.64, "threshold": 0.6, "evidence": []},
        ],
        "matches": [{"bank": "known-propaganda", "distance": 18, "hash_type": "pdq",
                     "labels": ["propaganda"]}],
        "symbols": [{"symbol_id": "z_marking", "label": "Z marking", "category": "war_glorification",
                     "score": 0.97, "box": [412, 96, 180, 210], "timestamp_s": 3.2,
                     "frame_sha256": frame}],
        "consent": {"applicable": True, "status": "active", "grant_ids": []},
        "provenance": {"state": "trusted", "ai_generated": True, "signer": "Vigil Test CA",
                       "digital_source_type": "http://cv.iptc.org/newscodes/digitalsourcetype/"
                                              "trainedAlgorithmicMediaWithAVeryLongSuffixThatMustWrap",
                       "recovered_by": None},
    }  # fmt: skip


def test_reviewer_walk(server: str, services: Services, make_key: KeyMaker) -> None:
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    urgent = enqueue(services, category="minors_militarised", context=_context(services, 1))
    second = enqueue(services, category="propaganda_poster", context=_context(services, 2))
    third = enqueue(
        services,
        category="disclosure",
        context={"texts": [{"source": "caption", "text": "Grandfather's birthday"}]},
    )
    token = make_key("reviewer")
    errors: list[str] = []

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            page = browser.new_page(viewport={"width": 1360, "height": 900})
            page.on(
                "console",
                lambda m: (
                    errors.append(m.text)
                    if m.type == "error" and not m.text.startswith("Failed to load resource")
                    else None
                ),
            )
            page.on(
                "response",
                lambda r: (
                    errors.append(f"{r.status} {r.url}")
                    if r.status >= 400 and not r.url.endswith("/favicon.ico")
                    else None
                ),
            )
            page.on("pageerror", lambda e: errors.append(str(e)))

            # 1. Log in with the API key.
            page.goto(f"{server}/review")
            expect(page).to_have_url(f"{server}/review/login")
            page.screenshot(path=str(ARTIFACTS / "0-login.png"))
            page.fill("#token", token)
            page.click("button[type=submit]")
            expect(page).to_have_url(f"{server}/review")
            expect(page.locator("#queue tbody tr")).to_have_count(3)
            page.screenshot(path=str(ARTIFACTS / "1-queue.png"), full_page=True)

            # 2. Claim the most urgent item (Enter on the queue page).
            page.keyboard.press("Enter")
            expect(page).to_have_url(f"{server}/review/{urgent.id}")
            shield = page.locator(".shield").first
            image = shield.locator("img")
            expect(image).to_have_js_property("complete", True)
            assert "blur" in image.evaluate("el => getComputedStyle(el).filter")
            assert "grayscale" in image.evaluate("el => getComputedStyle(el).filter")
            prompt = page.locator('blockquote.caption[data-source="prompt"]')
            expect(prompt).to_contain_text(SCRIPT)  # shown as text, not run
            expect(page.locator('h3.text-source[data-source="prompt"]')).to_have_text("Generation prompt")
            expect(page.locator('blockquote.caption[data-source="caption"] mark').first).to_be_visible()
            expect(page.locator("td.score.over")).to_have_count(2)  # 0.81 ≥ 0.7 and 0.64 ≥ 0.6
            symbols = page.locator("#symbols")
            expect(symbols).to_contain_text("Z marking")
            expect(symbols).to_contain_text("at 3.2 s · box 412,96 · 180×210 px")
            expect(symbols.locator("img.shield-thumb")).to_be_visible()
            # Long values wrap inside their panel instead of running out of it.
            for panel in page.locator(".side .panel").all():
                assert panel.evaluate("el => el.scrollWidth <= el.clientWidth + 1"), panel.inner_text()[:80]
            page.screenshot(path=str(ARTIFACTS / "2-item-shielded.png"), full_page=True)

            # 3. Reveal with the keyboard, then hide and reveal again by clicking.
            page.keyboard.press("v")
            expect(shield).to_have_class("shield revealed")
            page.wait_for_function("el => getComputedStyle(el).filter === 'none'", arg=image.element_handle())
            page.screenshot(path=str(ARTIFACTS / "3-item-revealed.png"), full_page=True)
            shield.click()
            expect(shield).to_have_class("shield")
            shield.click()
            expect(shield).to_have_class("shield revealed")

            # The reviewer's own default for media is kept across pages (saved through htmx).
            with page.expect_response(lambda r: r.url.endswith("/review/prefs") and r.status == 204):
                page.select_option("#media_mode", "grayscale")
            page.reload()
            expect(page.locator("#stage")).to_have_class("stage mode-grayscale")
            assert "blur" not in image.evaluate("el => getComputedStyle(el).filter")
            page.select_option("#media_mode", "shielded")

            # 4. Decide with the keyboard: r picks reject and asks for the rationale; a ready-made
            # rationale and a policy citation from the review policy; Enter submits.
            page.keyboard.press("r")
            expect(page.locator("#rationale")).to_be_focused()
            page.locator("details.canned summary").click()
            page.locator(".canned-pick", has_text="Children shown armed").click()
            expect(page.locator("#rationale")).to_have_value("Children shown armed or as future soldiers.")
            expect(page.locator("#policy_citation option").nth(1)).to_contain_text("VP-5")  # minors first
            page.select_option("#policy_citation", "VP-5")
            page.screenshot(path=str(ARTIFACTS / "3b-item-deciding.png"), full_page=True)
            page.locator("#rationale").focus()
            page.keyboard.type(" Uniform and heaven staircase.")
            page.keyboard.press("Enter")

            # 5. Auto-advance to the next item.
            expect(page).to_have_url(f"{server}/review/{second.id}?notice=decided")
            expect(page.locator(".notice")).to_contain_text("Decision recorded")
            page.screenshot(path=str(ARTIFACTS / "4-next-item.png"), full_page=True)

            # 6. Back to the queue: the decided item is gone from it.
            page.keyboard.press("q")
            expect(page).to_have_url(f"{server}/review")
            expect(page.locator("#queue tbody tr")).to_have_count(2)
            assert str(urgent.id) not in page.content()
            page.screenshot(path=str(ARTIFACTS / "5-queue-after.png"), full_page=True)

            # 7. Filters: one category; then open an item from the list and claim that one.
            page.select_option('select[name="category"]', "disclosure")
            expect(page).to_have_url(re.compile(r".*category=disclosure.*"))
            expect(page.locator("#queue tbody tr")).to_have_count(1)
            page.locator("#queue tbody tr").first.click()
            expect(page).to_have_url(f"{server}/review/{third.id}")
            expect(page.locator("#no-media")).to_be_visible()
            page.keyboard.press("c")
            expect(page).to_have_url(f"{server}/review/{third.id}?notice=claimed")
            expect(page.locator("#decide")).to_be_visible()
            page.screenshot(path=str(ARTIFACTS / "6-claimed-from-list.png"), full_page=True)

            # 8. The decided history.
            page.goto(f"{server}/review?view=decided")
            expect(page.locator("#queue tbody tr")).to_have_count(1)
            expect(page.locator("#queue tbody tr").first).to_contain_text("reject")
            page.screenshot(path=str(ARTIFACTS / "7-decided.png"), full_page=True)
        finally:
            browser.close()

    assert errors == []
    with services.db.system() as conn:
        row = conn.execute("SELECT status, outcome FROM review_flags WHERE id = %s", (urgent.id,)).fetchone()
    assert row == ("decided", "reject")
    with services.db.system() as conn:
        cited = conn.execute(
            "SELECT policy_citation FROM review_decisions WHERE flag_id = %s", (urgent.id,)
        ).fetchone()
    assert cited == ("VP-5",)
