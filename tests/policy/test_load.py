"""Policy files are parsed or refused with file, key path and problem; reloads keep the last good."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from service.policy.holder import PolicyHolder
from service.policy.load import PolicyError, load_policies

SHIPPED = Path(__file__).resolve().parents[2] / "policies"


@pytest.fixture
def policy_dir(tmp_path) -> Path:
    root = tmp_path / "policies"
    root.mkdir()
    shutil.copy(SHIPPED / "default.yaml", root / "default.yaml")
    shutil.copytree(SHIPPED / "overlays", root / "overlays")
    return root


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


@pytest.mark.parametrize(
    ("old", "new", "file", "key", "problem"),
    [
        (
            "  war_glorification:\n",
            "  war_glorificaton:\n",
            "default.yaml",
            "categories.war_glorificaton",
            "unknown category",
        ),
        (
            "  war_glorification:\n    review_at: 0.80\n    block_at: null",
            "  war_glorification:\n    review_at: 0.95\n    block_at: 0.92",
            "default.yaml",
            "categories.war_glorification.block_at",
            "review band",
        ),
        (
            "  extremist_symbols:\n    review_at: 0.80",
            "  extremist_symbols:\n    review_at: 1.4",
            "default.yaml",
            "categories.extremist_symbols.review_at",
            "between 0 and 1",
        ),
        (
            "lexicon_hit: review",
            "lexicon_hit: block",
            "default.yaml",
            "rules.lexicon_hit",
            "never blocks alone",
        ),
        (
            "  image_model:\n    when_unavailable: review",
            "  image_model:\n    when_unavailable: allow",
            "default.yaml",
            "signals.image_model.when_unavailable",
            "expected one of review, block",
        ),
        (
            "  hash_banks:\n    when_unavailable: review",
            "  hash_banks:\n    review_at: 0.5\n    when_unavailable: review",
            "default.yaml",
            "signals.hash_banks.review_at",
            "only a scoring signal",
        ),
        (
            "    review_at: 0.70\n    when_unavailable: review",
            "    review_at: high\n    when_unavailable: review",
            "default.yaml",
            "signals.ocr.review_at",
            "between 0 and 1",
        ),
        (
            "STATEMENT_CATEGORY_PROTECTION_OF_MINORS",
            "STATEMENT_CATEGORY_CHILDREN",
            "default.yaml",
            "categories.minors_militarised.dsa_category",
            "not a valid DSA value",
        ),
    ],
)
def test_a_bad_policy_file_names_file_key_and_problem(policy_dir, old, new, file, key, problem):
    edit(policy_dir / "default.yaml", old, new)
    with pytest.raises(PolicyError) as caught:
        load_policies(policy_dir)
    assert (caught.value.file, caught.value.key) == (file, key)
    assert problem in caught.value.problem


def test_an_overlay_error_names_the_overlay(policy_dir):
    (policy_dir / "overlays" / "cn.yaml").write_text(
        "market: cn\ncategories:\n  minors_militarised:\n    review_at: x\n"
    )
    with pytest.raises(PolicyError) as caught:
        load_policies(policy_dir)
    assert caught.value.file == "overlays/cn.yaml"
    assert caught.value.key == "categories.minors_militarised.review_at"


def test_the_version_is_a_hash_of_the_normalised_policy(policy_dir):
    before = load_policies(policy_dir).version
    path = policy_dir / "default.yaml"
    path.write_text("# a new comment changes nothing\n" + path.read_text())
    assert load_policies(policy_dir).version == before
    edit(path, "review_at: 0.80", "review_at: 0.81")
    assert load_policies(policy_dir).version != before


def test_a_reload_with_an_invalid_file_keeps_the_last_good_policy(policy_dir):
    holder = PolicyHolder(root=policy_dir)
    good = holder.current.version
    edit(policy_dir / "default.yaml", "rules:", "rulez:")
    with pytest.raises(PolicyError):
        holder.reload()
    assert holder.current.version == good
    assert "rulez" in (holder.last_error or "")
    assert "last reload failed" in holder.status().detail


def test_the_shipped_policy_never_blocks_on_a_score_in_any_market():
    shipped = load_policies(SHIPPED)
    for market, policy in shipped.policies.items():
        assert {name: c.block_at for name, c in policy.categories.items()} == dict.fromkeys(
            policy.categories
        ), market


def test_an_operator_may_still_set_a_numeric_block_at(policy_dir):
    edit(
        policy_dir / "default.yaml",
        "  war_glorification:\n    review_at: 0.80\n    block_at: null",
        "  war_glorification:\n    review_at: 0.80\n    block_at: 0.92",
    )
    loaded = load_policies(policy_dir)
    assert loaded.for_market("default").categories["war_glorification"].block_at == 0.92
    assert loaded.for_market("eu").categories["war_glorification"].block_at == 0.92  # overlays inherit it
    assert loaded.for_market("default").categories["dehumanisation"].block_at is None


def test_speech_is_a_signal_of_the_shipped_policy():
    from service.policy.model import Decision, Flow

    speech = load_policies(SHIPPED).for_market("default").signals["speech"]
    assert speech.when_not_configured == {Flow.CHECK: None, Flow.GENERATION: Decision.REVIEW}
    assert speech.when_unavailable is Decision.REVIEW


def test_label_grounds_are_optional_and_default_to_the_disclosure_rule(policy_dir):
    from service.policy.load import DEFAULT_LABEL_EXPLANATION, DEFAULT_LABEL_GROUND

    path = policy_dir / "default.yaml"
    lines = [line for line in path.read_text().splitlines() if not line.startswith("  label_")]
    path.write_text("\n".join([*lines, "  label_category: STATEMENT_CATEGORY_OTHER_VIOLATION_TC", ""]))
    for overlay in (policy_dir / "overlays").glob("*.yaml"):
        overlay.write_text(
            "\n".join(line for line in overlay.read_text().splitlines() if "label_ground" not in line) + "\n"
        )
    grounds = load_policies(policy_dir).for_market("default").grounds
    assert (grounds.label_ground, grounds.label_explanation) == (
        DEFAULT_LABEL_GROUND,
        DEFAULT_LABEL_EXPLANATION,
    )


def _symbol_verdict(policies, market: str, symbol: str = "ss_runes"):
    from service.policy.evaluate import evaluate
    from service.policy.model import Flow, Signals, SymbolSignal

    hit = SymbolSignal(symbol, "SS double sig rune", "extremist_symbols", 0.93, (10, 20, 80, 60))
    return evaluate(policies.for_market(market), Signals(flow=Flow.CHECK, market=market, symbols=(hit,)))


def test_a_symbol_hit_goes_to_review_and_a_market_may_block_or_allow_one_symbol(policy_dir):
    """A symbol found reviews everywhere by default; a market that bans a symbol outright blocks
    it, one where it is lawful (or a memorial) lets it through: per market, per symbol."""
    shipped = load_policies(policy_dir)
    verdict = _symbol_verdict(shipped, "eu")
    assert verdict.decision.value == "review"
    [reason] = [r for r in verdict.reasons if r.rule == "symbol.ss_runes"]
    assert reason.source == "symbols"
    assert "SS double sig rune (0.93)" in reason.detail
    assert "box 10,20 80×60" in reason.detail
    assert verdict.category == "extremist_symbols"
    edit(policy_dir / "overlays" / "eu.yaml", "market: eu\n", "market: eu\nsymbols: {ss_runes: block}\n")
    edit(policy_dir / "overlays" / "cn.yaml", "market: cn\n", "market: cn\nsymbols: {ss_runes: allow}\n")
    operator = load_policies(policy_dir)
    assert _symbol_verdict(operator, "eu").decision.value == "block"
    assert _symbol_verdict(operator, "cn").decision.value == "allow"
    assert _symbol_verdict(operator, "eu", "z_marking").decision.value == "review"  # only that symbol


def test_a_symbol_hit_never_blocks_by_default_rule(policy_dir):
    edit(policy_dir / "default.yaml", "  symbol_hit: review", "  symbol_hit: block")
    with pytest.raises(PolicyError) as err:
        load_policies(policy_dir)
    assert err.value.key == "rules.symbol_hit"
    assert "block one symbol on purpose" in err.value.problem


def test_an_older_policy_without_symbol_rules_still_loads(policy_dir):
    edit(policy_dir / "default.yaml", "  symbol_hit: review", "")
    policies = load_policies(policy_dir)
    assert policies.for_market("default").symbol_decision("z_marking").value == "review"
