"""Values without I/O: priority and its index order, SLA state, policy parsing, Cohen's kappa."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import uuid4

import pytest

from service.errors import ConfigError
from service.review import policy as review_policy
from service.review.model import cohens_kappa

POLICY = review_policy.load()
OK_DEFAULT = "  default: {severity: 2, sla_hours: 1, double_review: 0}\n"


def test_bundled_policy_loads() -> None:
    assert POLICY.category("minors_militarised").severity == 5
    assert POLICY.category("no-such-category") is POLICY.categories["default"]
    assert all(1 <= c.severity <= 5 and 0 <= c.double_review <= 1 for c in POLICY.categories.values())


def test_rank_order_equals_priority_order_at_any_time() -> None:
    """The stored rank (created − D·log2(severity·2^esc)) sorts flags as priority does, at every moment."""
    base = datetime(2026, 1, 1, tzinfo=UTC)
    flags = [
        (sev, esc, base + timedelta(hours=h)) for sev in (1, 2, 3, 5) for esc in (0, 1) for h in (0, 7, 30)
    ]
    by_rank = sorted(flags, key=lambda f: f[2] - POLICY.rank_offset(f[0], f[1]))
    for later in (timedelta(hours=31), timedelta(days=3), timedelta(days=40)):
        now = base + later
        by_priority = sorted(flags, key=lambda f: -POLICY.priority(f[0], f[1], now - f[2]))
        assert [POLICY.priority(f[0], f[1], now - f[2]) for f in by_rank] == pytest.approx(
            [POLICY.priority(f[0], f[1], now - f[2]) for f in by_priority]
        )


def test_priority_doubles_per_period() -> None:
    d = POLICY.age_doubling
    assert POLICY.priority(3, 0, timedelta(0)) == 3
    assert POLICY.priority(3, 0, d) == 6
    assert POLICY.priority(3, 1, 2 * d) == 24


def test_sample_is_deterministic_and_near_its_rate() -> None:
    ids = [uuid4() for _ in range(4000)]
    share = sum(POLICY.sampled("minors_militarised", i) for i in ids) / len(ids)
    assert abs(share - POLICY.category("minors_militarised").double_review) < 0.03
    assert [POLICY.sampled("minors_militarised", i) for i in ids[:50]] == [
        POLICY.sampled("minors_militarised", i) for i in ids[:50]
    ]


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("age_doubling_hours: 12\ncategories: {}\n", "categories"),
        (
            "age_doubling_hours: 12\ncategories:\n  x: {severity: 2, sla_hours: 1, double_review: 0}\n",
            "default",
        ),
        (
            "age_doubling_hours: 12\ncategories:\n  default: {severity: 6, sla_hours: 1, double_review: 0}\n",
            "severity",
        ),
        (
            "age_doubling_hours: 12\ncategories:\n  default: {severity: 2, sla_hours: 1, double_review: 2}\n",
            "double_review",
        ),
        ("age_doubling_hours: 12\ncategories:\n  default: {severity: 2, sla_hours: 1}\n", "default"),
        (
            "age_doubling_hours: 0\ncategories:\n  default: {severity: 2, sla_hours: 1, double_review: 0}\n",
            "age_doubling",
        ),
        ("categories: [\n", "YAML"),
        (
            "age_doubling_hours: 1\nextra: 1\ncategories:\n" + OK_DEFAULT,
            "extra",
        ),
    ],
)
def test_bad_policies_name_file_and_key(tmp_path: Path, text: str, where: str) -> None:
    path = tmp_path / "review.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        review_policy.load(path)
    assert str(path) in err.value.message
    assert where in err.value.message


def test_kappa_matches_the_textbook_example() -> None:
    # 50 items: both yes 20, A yes/B no 5, A no/B yes 10, both no 15 → p_o 0.7, p_e 0.5, κ 0.4.
    pairs = [("reject", "reject")] * 20 + [("reject", "approve")] * 5 + [("approve", "reject")] * 10
    pairs += [("approve", "approve")] * 15
    agreement = cohens_kappa("propaganda", pairs)
    assert agreement.pairs == 50
    assert agreement.observed == pytest.approx(0.7)
    assert agreement.kappa is not None
    assert math.isclose(agreement.kappa, 0.4)


def test_kappa_undefined_without_pairs_or_variation() -> None:
    assert cohens_kappa("x", []).kappa is None
    assert cohens_kappa("x", [("approve", "approve")] * 3).kappa is None
