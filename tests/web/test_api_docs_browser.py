"""``/docs`` in a real browser with no network: Swagger UI from Vigil's own files renders every
operation and offers the Authorize button for an API key. Screenshot in ``test-artifacts/docs/``."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.review.test_browser import CHROMIUM, server  # noqa: F401  (the fixture)

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "docs"
pytestmark = [pytest.mark.browser, pytest.mark.tool("chromium")]


def test_the_api_reference_renders_offline(server: str) -> None:  # noqa: F811
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    outside: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            page = browser.new_page(viewport={"width": 1360, "height": 900})
            page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(server) else None)
            page.goto(f"{server}/docs")
            expect(page.locator(".opblock").first).to_be_visible(timeout=15_000)
            assert page.locator(".opblock").count() > 40
            expect(page.locator("button.authorize")).to_be_visible()
            expect(page.get_by_text("/v1/check", exact=True).first).to_be_visible()
            page.screenshot(path=str(ARTIFACTS / "docs.png"))
        finally:
            browser.close()
    assert outside == []  # nothing fetched from anywhere but Vigil
