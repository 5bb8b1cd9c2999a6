"""The precedence table of README "Policy precedence": one test per row."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.policy import dsa
from service.policy.evaluate import evaluate
from service.policy.load import load_policies
from service.policy.model import (
    ConsentStatus,
    Decision,
    Flow,
    LexiconHit,
    MatchSignal,
    ProvenanceSignal,
    ScoreSignal,
    Signals,
    SignalState,
)

POLICIES = load_policies(Path(__file__).resolve().parents[2] / "policies")
OK = {"image_model": SignalState.OK, "text_model": SignalState.OK}
AI = ProvenanceSignal(state="trusted", ai_generated=True, digital_source_type="trainedAlgorithmicMedia")


def check(**kw) -> Signals:
    return Signals(flow=Flow.CHECK, content_kinds=("image",), states=kw.pop("states", OK), **kw)


ROWS = [
    # (row, signals, expected decision, a rule that must be among the reasons)
    ("1 nothing found -> allow", check(), Decision.ALLOW, None),
    ("2 AI-generated -> label", check(provenance=AI), Decision.LABEL, "provenance.ai_generated"),
    (
        "3 score in the review band -> review",
        check(scores=(ScoreSignal("image_model", "war_glorification", 0.6),)),
        Decision.REVIEW,
        "score.war_glorification.review",
    ),
    (
        "4 score over block_at -> block",
        check(scores=(ScoreSignal("image_model", "war_glorification", 0.95),)),
        Decision.BLOCK,
        "score.war_glorification.block",
    ),
    (
        "5 block beats review beats label",
        check(
            provenance=AI,
            scores=(ScoreSignal("text_model", "dehumanisation", 0.5),),
            matches=(MatchSignal("propaganda", "block", 12, "pdq"),),
        ),
        Decision.BLOCK,
        "match.block_bank",
    ),
    (
        "6 allow bank suppresses a block-bank match on the same item (specific beats general)",
        check(
            matches=(
                MatchSignal("propaganda", "block", 20, "pdq", item="3"),
                MatchSignal("templates", "allow", 2, "pdq", item="3"),
            )
        ),
        Decision.ALLOW,
        "match.block_bank.suppressed",
    ),
    (
        "7 an allow match elsewhere does not suppress",
        check(
            matches=(
                MatchSignal("propaganda", "block", 20, "pdq", item="3"),
                MatchSignal("templates", "allow", 2, "pdq", item="5"),
            )
        ),
        Decision.BLOCK,
        "match.block_bank",
    ),
    (
        "8 revoked consent -> block, even with an allow-bank match",
        check(
            provenance=AI,
            consent_status=ConsentStatus.REVOKED,
            matches=(MatchSignal("templates", "allow", 0, "pdq"),),
        ),
        Decision.BLOCK,
        "consent.revoked",
    ),
    (
        "9 invalid manifest -> review",
        check(provenance=ProvenanceSignal("invalid", False)),
        Decision.REVIEW,
        "provenance.invalid",
    ),
    (
        "10 unavailable model -> review, never allow",
        check(states={"image_model": SignalState.UNAVAILABLE}),
        Decision.REVIEW,
        "signal.image_model.unavailable",
    ),
    (
        "11 image model not configured, platform check -> decided on the rest",
        check(states={"image_model": SignalState.NOT_CONFIGURED}),
        Decision.ALLOW,
        "signal.image_model.not_configured",
    ),
    (
        "12 image model not configured, generation output -> review",
        Signals(
            flow=Flow.GENERATION, content_kinds=("image",), states={"image_model": SignalState.NOT_CONFIGURED}
        ),
        Decision.REVIEW,
        "signal.image_model.not_configured",
    ),
    (
        "13 a lexicon hit alone -> review, never block",
        check(lexicon=(LexiconHit("slogan-heroes-dont-die", "combatant_martyrdom"),)),
        Decision.REVIEW,
        "lexicon.slogan-heroes-dont-die",
    ),
    (
        "14 martyrdom scores never block on a score alone",
        check(scores=(ScoreSignal("image_model", "combatant_martyrdom", 0.99),)),
        Decision.REVIEW,
        "score.combatant_martyrdom.review",
    ),
]


@pytest.mark.parametrize(("row", "signals", "expected", "rule"), ROWS, ids=[r[0] for r in ROWS])
def test_precedence_row(row, signals, expected, rule):
    verdict = evaluate(POLICIES.for_market("default"), signals)
    assert verdict.decision is expected, [r.rule for r in verdict.reasons]
    if rule is not None:
        assert rule in {r.rule for r in verdict.reasons}
    assert verdict.policy_version == POLICIES.version


def test_15_market_overlay_thresholds_beat_the_default():
    signals = check(scores=(ScoreSignal("image_model", "minors_militarised", 0.82),))
    assert evaluate(POLICIES.for_market("default"), signals).decision is Decision.REVIEW
    assert evaluate(POLICIES.for_market("cn"), signals).decision is Decision.BLOCK


def test_16_ai_generated_content_keeps_its_label_requirement_when_blocked():
    signals = check(provenance=AI, matches=(MatchSignal("revoked-outputs", "block", 0, "pdq"),))
    verdict = evaluate(POLICIES.for_market("default"), signals)
    assert verdict.decision is Decision.BLOCK
    assert [label.label for label in verdict.required_labels] == ["ai_generated"]


def test_missing_signals_are_named_in_the_verdict():
    verdict = evaluate(
        POLICIES.for_market("default"), check(states={"image_model": SignalState.NOT_CONFIGURED})
    )
    assert verdict.missing_signals == ("image_model",)


def test_a_verdict_has_no_truth_value():
    verdict = evaluate(POLICIES.for_market("default"), check())
    with pytest.raises(TypeError):
        bool(verdict)
    with pytest.raises(TypeError):
        bool(verdict.decision)


@pytest.mark.parametrize("market", ["default", "eu", "cn", "us-ca"])
def test_statements_of_reasons_use_only_valid_dsa_values(market):
    signals = Signals(
        flow=Flow.CHECK,
        content_kinds=("image", "text"),
        provenance=AI,
        states=OK,
        scores=(ScoreSignal("text_model", "war_glorification", 0.7),),
    )
    verdict = evaluate(POLICIES.for_market(market), signals)
    sor = verdict.statement_of_reasons
    assert sor is not None
    assert set(sor.decision_visibility) <= dsa.DECISION_VISIBILITY
    assert sor.decision_ground in dsa.DECISION_GROUND
    assert sor.category == "STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY"
    assert set(sor.category_specification) <= dsa.KEYWORDS
    assert set(sor.content_type) == {
        "CONTENT_TYPE_IMAGE",
        "CONTENT_TYPE_TEXT",
        "CONTENT_TYPE_SYNTHETIC_MEDIA",
    }
    assert sor.automated_detection == "Yes"
    assert sor.automated_decision == "AUTOMATED_DECISION_PARTIALLY"  # a person decides a review
    assert sor.incompatible_content_ground
    assert len(sor.decision_facts) <= 5000
    assert set(sor.territorial_scope) <= dsa.TERRITORY
    if market == "eu":
        assert len(sor.territorial_scope) == 27


def test_allow_has_no_statement_and_label_is_fully_automated():
    assert evaluate(POLICIES.for_market("default"), check()).statement_of_reasons is None
    labelled = evaluate(POLICIES.for_market("default"), check(provenance=AI)).statement_of_reasons
    assert labelled is not None
    assert labelled.decision_visibility == ("DECISION_VISIBILITY_CONTENT_LABELLED",)
    assert labelled.automated_decision == "AUTOMATED_DECISION_FULLY"
