"""The operator's pages in a real browser (Debian's Chromium, Playwright): the policy in force and
a refused reload, review statistics, a bank created, an import refused with every bad line
listed, then imported, exported, and a quarantined entry released. Screenshots in
``test-artifacts/operate/``."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from service.match import banks as bank_ops
from service.match import store as match_store
from service.services import Services
from service.settings import Settings
from tests.conftest import KeyMaker
from tests.review.conftest import POLICY as REVIEW_POLICY
from tests.review.helpers import enqueue, tenant_id
from tests.review.test_browser import CHROMIUM, server  # noqa: F401  (the fixture)

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "operate"
GOOD = "signal_type,signal,labels\n" + "".join(f"pdq,{i:064x},known_propaganda\n" for i in range(1, 4))
BAD = "signal_type,signal,labels\n" + "".join(
    f"pdq,{'zz' if i % 2 else f'{i:064x}'},x\n" for i in range(1, 8)
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.tool("chromium"),
]


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    """The review tests' instance, with a copy of the policy files this test may break."""
    policies = tmp_path / "policies"
    shutil.copytree(ROOT / "policies", policies)
    review = tmp_path / "review.yaml"
    review.write_text(REVIEW_POLICY)
    return Settings(
        data_dir=tmp_path / "data", database_url=database_url, log_json=False, db_pool_min=1,
        review_policy=review, policies_dir=policies,
    )  # fmt: skip


def _sign_in(page: object, base: str, token: str) -> None:
    page.goto(f"{base}/review/login")  # type: ignore[attr-defined]
    page.fill("#token", token)  # type: ignore[attr-defined]
    page.click("button[type=submit]")  # type: ignore[attr-defined]
    page.wait_for_url(f"{base}/review")  # type: ignore[attr-defined]


def test_operator_walk(
    server: str,  # noqa: F811
    settings: Settings,
    services: Services,
    make_key: KeyMaker,
    tmp_path: Path,
) -> None:
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    enqueue(services, category="minors_militarised")
    enqueue(services, category="war_glorification")
    admin = make_key("admin")
    reviewer = make_key("reviewer")
    good, bad = tmp_path / "good.csv", tmp_path / "bad.csv"
    good.write_text(GOOD)
    bad.write_text(BAD)
    errors: list[str] = []

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            page = browser.new_page(viewport={"width": 1360, "height": 900})
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on(
                "response",
                lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 500 else None,
            )

            # A reviewer key does not open the operator's pages.
            _sign_in(page, server, reviewer)
            page.goto(f"{server}/review/operate")
            expect(page.locator("main")).to_contain_text("sign in with an admin key")
            page.context.clear_cookies()

            _sign_in(page, server, admin)
            page.goto(f"{server}/review/operate")
            expect(page.locator("#policy-version")).to_have_text(services.policy.current.version)
            expect(page.locator("#stats")).to_contain_text("minors militarised")
            expect(page.locator("#counts")).to_contain_text("2")
            page.screenshot(path=str(ARTIFACTS / "0-overview.png"), full_page=True)

            # A reload that finds a broken file is refused, says why, and the old version stays.
            broken = settings.policy_root / "default.yaml"
            original = broken.read_text()
            try:
                broken.write_text(original + "\nnot: [valid\n")
                page.click("#policy form button[type=submit]")
                expect(page.locator(".notice.bad")).to_contain_text("refused")
                expect(page.locator("#policy-error")).to_be_visible()
                expect(page.locator("#policy-version")).to_have_text(services.policy.current.version)
                page.screenshot(path=str(ARTIFACTS / "1-reload-refused.png"), full_page=True)
            finally:
                broken.write_text(original)
            page.click("#policy form button[type=submit]")
            expect(page.locator(".notice.ok")).to_contain_text("read again")

            # Create a bank; import a file with bad lines: every one listed, nothing imported.
            page.fill('#new-bank input[name="name"]', "known-propaganda")
            page.select_option('#new-bank select[name="kind"]', "block")
            page.select_option('#new-bank select[name="hash_type"]', "pdq")
            page.click("#new-bank button[type=submit]")
            expect(page).to_have_url(re.compile(r".*/review/operate/banks/known-propaganda\?notice=created"))
            page.set_input_files('#import input[type="file"]', str(bad))
            page.click("#import button[type=submit]")
            expect(page.locator("#import-error ol.errors li")).to_have_count(4)  # lines 2, 4, 6, 8
            expect(page.locator("#bank-size")).to_have_text("0")
            page.screenshot(path=str(ARTIFACTS / "2-import-refused.png"), full_page=True)
            page.set_input_files('#import input[type="file"]', str(good))
            page.click("#import button[type=submit]")
            expect(page.locator("#imported")).to_contain_text("3 new entries")
            expect(page.locator("#bank-size")).to_have_text("3")
            with page.expect_download() as download:
                page.click("text=Export CSV")
            assert download.value.suggested_filename == "known-propaganda.csv"
            assert Path(download.value.path()).read_text().count("known_propaganda") == 3

            # A quarantined entry is listed and released from the page.
            tid = tenant_id(services)
            with services.db.tenant(tid) as conn:
                bank = bank_ops.get_bank(conn, tenant_id=tid, name="known-propaganda")
                first = match_store.bank_signals(conn, bank)[0]
                match_store.quarantine(conn, [first.id])
            page.reload()
            expect(page.locator("#quarantine tbody tr")).to_have_count(1)
            page.screenshot(path=str(ARTIFACTS / "3-bank.png"), full_page=True)
            page.click("#quarantine button[type=submit]")
            expect(page.locator(".notice.ok")).to_contain_text("released")
            expect(page.locator("#quarantine tbody tr")).to_have_count(0)
        finally:
            browser.close()
    assert errors == []
