"""Routing by policy: every category a flow can file a flag under has its severity and SLA in the
shipped ``policies/review.yaml``, and the flags the flows raise carry those names."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from service.auth import Role
from service.policy.categories import CONTENT, FlagCategory
from service.review import policy as review_policy
from service.review import queue
from service.services import Services
from service.vocabulary import Category
from tests.conftest import KeyMaker, bearer
from tests.review.helpers import tenant_id

SHIPPED = review_policy.load()
ROOT = Path(__file__).resolve().parents[2]

# What the shipped policy promises per category: (severity, SLA in hours).
EXPECTED = {
    FlagCategory.MINORS_MILITARISED: (5, 2),
    FlagCategory.EXTREMIST_SYMBOLS: (4, 8),
    FlagCategory.DEHUMANISATION: (4, 8),
    FlagCategory.PROPAGANDA_POSTER: (4, 8),
    FlagCategory.WAR_GLORIFICATION: (3, 24),
    FlagCategory.COMBATANT_MARTYRDOM: (3, 24),
    FlagCategory.CONSENT: (4, 8),
    FlagCategory.HASH_MATCH: (4, 4),
    FlagCategory.PROVENANCE: (3, 24),
    FlagCategory.DISCLOSURE: (2, 48),
    FlagCategory.UNSCREENED: (2, 24),
    FlagCategory.APPEAL: (3, 72),
}

MINORS_CAPTION = (
    "Our kindergarten boys in camouflage uniforms marching with rifles: future defenders of the Motherland!"
)
GLORY_CAPTION = "Watch the enemy column burn, what a beautiful sight, war makes men of boys."


def test_the_vocabulary_is_the_classifiers_taxonomy_plus_the_rule_categories() -> None:
    assert [c.value for c in CONTENT] == [c.value for c in Category]
    assert set(EXPECTED) == set(FlagCategory)


@pytest.mark.parametrize("category", list(FlagCategory), ids=str)
def test_each_category_gets_its_severity_and_sla(services: Services, category: FlagCategory) -> None:
    tid = tenant_id(services)
    with services.db.tenant(tid) as conn:
        flag = queue.create_flag(
            conn, tenant_id=tid, source_kind="check", source_id=f"routing-{category}", category=category,
            reasons=[], context={}, policy=SHIPPED,
        )  # fmt: skip
    severity, hours = EXPECTED[category]
    assert (flag.category, flag.severity) == (category.value, severity)
    assert flag.due_at - flag.created_at == timedelta(hours=hours)


def test_several_categories_file_the_flag_under_the_most_severe() -> None:
    names = [FlagCategory.WAR_GLORIFICATION, FlagCategory.MINORS_MILITARISED, FlagCategory.DISCLOSURE]
    assert SHIPPED.most_severe(names, FlagCategory.UNSCREENED) == FlagCategory.MINORS_MILITARISED
    # Same severity: the shorter SLA wins (a bank match is due in 4 h, consent in 8 h).
    assert SHIPPED.most_severe(["consent", "hash_match"], "unscreened") == "hash_match"
    assert SHIPPED.most_severe([], "unscreened") == "unscreened"


def _lint(review: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "service", "policy", "lint"],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
        env={"PATH": "/usr/bin:/bin", "HOME": str(review.parent), "VIGIL_REVIEW_POLICY": str(review)},
    )  # fmt: skip


def test_policy_lint_fails_on_a_category_that_can_be_emitted_but_is_not_routed(tmp_path: Path) -> None:
    shipped = (ROOT / "policies" / "review.yaml").read_text()
    good = tmp_path / "review.yaml"
    good.write_text(shipped)
    ok = _lint(good)
    assert ok.returncode == 0, ok.stderr
    assert "routes all 12 flag categories" in ok.stdout
    bad = tmp_path / "review-no-minors.yaml"
    bad.write_text("\n".join(line for line in shipped.splitlines() if not line.strip().startswith("minors_")))
    fail = _lint(bad)
    assert fail.returncode == 5
    assert "categories.minors_militarised" in fail.stderr
    assert "missing" in fail.stderr
    old = tmp_path / "review-old-names.yaml"
    old.write_text(shipped.replace("minors_militarised:", "minors:"))
    fail = _lint(old)
    assert fail.returncode == 5
    assert "categories.minors" in fail.stderr
    assert "no flow files flags under this name" in fail.stderr


async def test_a_minors_caption_is_due_in_two_hours_and_sorts_above_glorification(
    client: httpx.AsyncClient, make_key: KeyMaker, services: Services
) -> None:
    """The issue's case end to end: text-only checks on the shipped classifier and policy."""
    platform = make_key(Role.PLATFORM)
    reviewer = make_key(Role.REVIEWER)
    glory = (await client.post("/v1/check", data={"text": GLORY_CAPTION}, headers=bearer(platform))).json()
    minors = (await client.post("/v1/check", data={"text": MINORS_CAPTION}, headers=bearer(platform))).json()
    assert (glory["decision"], minors["decision"]) == ("review", "review")
    flags = (await client.get("/v1/flags", headers=bearer(reviewer))).json()["flags"]
    by_id = {f["id"]: f for f in flags}
    g, m = by_id[glory["flag_id"]], by_id[minors["flag_id"]]
    assert (m["category"], m["severity"]) == ("minors_militarised", 5)
    assert (g["category"], g["severity"]) == ("war_glorification", 3)
    from datetime import datetime

    due = datetime.fromisoformat(m["due_at"]) - datetime.fromisoformat(m["created_at"])
    assert due == timedelta(hours=2)
    assert m["priority"] > g["priority"]
    claimed = (await client.post("/v1/flags/claim", headers=bearer(reviewer))).json()
    assert claimed["id"] == minors["flag_id"]  # the newer flag is taken first: it is more severe
