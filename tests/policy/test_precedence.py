"""The precedence table of docs/policy.md, "Policy precedence",: one test per row."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from service.policy import dsa
from service.policy.evaluate import evaluate
from service.policy.load import CATEGORIES, PolicySet, load_policies
from service.policy.model import (
    Decision,
    Flow,
    LexiconSignal,
    MatchSignal,
    ProvenanceSignal,
    ScoreSignal,
    Signals,
    verdict_to_dict,
)
from service.policy.sor import reviewed
from service.vocabulary import ConsentStatus, SignalState

SHIPPED = Path(__file__).resolve().parents[2] / "policies"
POLICIES = load_policies(SHIPPED)
OK = {"image_model": SignalState.OK, "text_model": SignalState.OK}
AI = ProvenanceSignal(state="trusted", ai_generated=True, digital_source_type="trainedAlgorithmicMedia")


def check(**kw) -> Signals:
    kinds = kw.pop("content_kinds", ("image",))
    return Signals(flow=Flow.CHECK, content_kinds=kinds, states=kw.pop("states", OK), **kw)


ROWS = [
    # (row, signals, expected decision, a rule that must be among the reasons)
    ("1 nothing found -> allow", check(), Decision.ALLOW, None),
    ("2 AI-generated -> label", check(provenance=AI), Decision.LABEL, "provenance.ai_generated"),
    (
        "3 score in the review band -> review",
        check(scores=(ScoreSignal("image_model", "war_glorification", 0.8),)),
        Decision.REVIEW,
        "score.war_glorification.review",
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
        "17a speech not heard (audio, video with sound), platform check -> decided on the rest",
        check(content_kinds=("audio",), states={"speech": SignalState.NOT_CONFIGURED}),
        Decision.ALLOW,
        "signal.speech.not_configured",
    ),
    (
        "17b speech not heard, generation output with a voice track -> review",
        Signals(
            flow=Flow.GENERATION, content_kinds=("video",), states={"speech": SignalState.NOT_CONFIGURED}
        ),
        Decision.REVIEW,
        "signal.speech.not_configured",
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
        check(lexicon=(LexiconSignal("slogan-heroes-dont-die", "combatant_martyrdom"),)),
        Decision.REVIEW,
        "lexicon.slogan-heroes-dont-die",
    ),
    (
        "14 shipped policy: a score alone never blocks, however high (every category: test_14_...)",
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


def _operator_policies(tmp_path: Path, category: str, block_at: float) -> PolicySet:
    """The shipped policies with a block threshold an operator set on purpose for ``category``."""
    root = tmp_path / "policies"
    shutil.copytree(SHIPPED, root, ignore=shutil.ignore_patterns("classify", "lexicon", "consent"))
    default = root / "default.yaml"
    text = default.read_text()
    start = text.index(f"  {category}:\n")
    at = text.index("block_at: null", start)
    default.write_text(text[:at] + f"block_at: {block_at}" + text[at + len("block_at: null") :])
    return load_policies(root)


def test_4_an_operator_set_block_at_blocks_a_score_at_or_above_it(tmp_path: Path) -> None:
    operator = _operator_policies(tmp_path, "war_glorification", 0.92).for_market("default")
    at = evaluate(operator, check(scores=(ScoreSignal("image_model", "war_glorification", 0.92),)))
    assert at.decision is Decision.BLOCK
    assert "score.war_glorification.block" in {r.rule for r in at.reasons}
    below = evaluate(operator, check(scores=(ScoreSignal("image_model", "war_glorification", 0.91),)))
    assert below.decision is Decision.REVIEW
    sor = at.statement_of_reasons
    assert sor is not None
    assert (sor.automated_detection, sor.automated_decision) == ("Yes", "AUTOMATED_DECISION_FULLY")
    assert sor.decision_visibility == ("DECISION_VISIBILITY_CONTENT_DISABLED",)


@pytest.mark.parametrize("market", ["default", "eu", "cn", "us-ca"])
@pytest.mark.parametrize("category", CATEGORIES)
def test_14_shipped_policy_classifier_evidence_alone_never_blocks(market: str, category: str) -> None:
    for signal in ("image_model", "text_model", "ocr"):
        verdict = evaluate(POLICIES.for_market(market), check(scores=(ScoreSignal(signal, category, 1.0),)))
        assert verdict.decision is Decision.REVIEW, (market, category, signal)
        assert f"score.{category}.review" in {r.rule for r in verdict.reasons}


def test_15_market_overlay_thresholds_beat_the_default():
    signals = check(scores=(ScoreSignal("image_model", "minors_militarised", 0.74),))
    assert evaluate(POLICIES.for_market("default"), signals).decision is Decision.ALLOW  # review_at 0.80
    assert evaluate(POLICIES.for_market("cn"), signals).decision is Decision.REVIEW  # review_at 0.70


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
        scores=(ScoreSignal("text_model", "war_glorification", 0.9),),
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


def test_17_speech_missing_from_a_check_is_named_in_missing_signals():
    verdict = evaluate(
        POLICIES.for_market("default"),
        check(content_kinds=("audio",), states={"speech": SignalState.NOT_CONFIGURED}),
    )
    assert verdict.missing_signals == ("speech",)


def test_words_read_off_a_picture_reach_a_person_at_the_ocr_signals_own_review_point():
    """Misreads pull a slogan's scores down, so the shipped policy reviews words read off a picture
    at a lower score than typed text; each reason states the threshold it was held to."""
    policy = POLICIES.for_market("default")
    typed_at = policy.categories["war_glorification"].review_at
    read_at = policy.review_at("war_glorification", "ocr")
    assert read_at is not None
    assert read_at < typed_at
    assert policy.review_at("war_glorification", "text_model") == typed_at
    between = round((read_at + typed_at) / 2, 2)
    read = evaluate(policy, check(scores=(ScoreSignal("ocr", "war_glorification", between, origin="ocr"),)))
    assert read.decision is Decision.REVIEW
    details = {r.rule: r.detail for r in read.reasons}
    assert details["score.war_glorification.review"] == f"{between:.2f} ≥ {read_at:.2f} (ocr)"
    typed = evaluate(policy, check(scores=(ScoreSignal("text_model", "war_glorification", between),)))
    assert typed.decision is Decision.ALLOW
    below = evaluate(policy, check(scores=(ScoreSignal("ocr", "war_glorification", read_at - 0.01),)))
    assert below.decision is Decision.ALLOW


def test_reasons_and_scores_name_the_text_they_came_from():
    signals = Signals(
        flow=Flow.GENERATION,
        content_kinds=("image", "text"),
        states=OK,
        scores=(
            ScoreSignal("text_model", "war_glorification", 0.2, origin="prompt"),
            ScoreSignal("text_model", "war_glorification", 0.8, origin="script"),
            ScoreSignal("image_model", "war_glorification", 0.1, origin="image"),
        ),
        lexicon=(LexiconSignal("slogan-heroes-dont-die", "combatant_martyrdom", origin="caption"),),
        classifier_versions={"text-probe": "enc+probes-abc", "lexicon": "lexicon-def"},
    )
    verdict = evaluate(POLICIES.for_market("default"), signals)
    assert verdict.decision is Decision.REVIEW
    details = {r.rule: r.detail for r in verdict.reasons}
    assert details["score.war_glorification.review"] == "0.80 ≥ 0.80 (script)"
    assert details["lexicon.slogan-heroes-dont-die"] == "category combatant_martyrdom (caption)"
    assert "text 0" not in " ".join(details.values())
    by_source = {(s.signal, s.source): dict(s.scores) for s in verdict.scores_by_source}
    assert by_source == {
        ("text_model", "prompt"): {"war_glorification": 0.2},
        ("text_model", "script"): {"war_glorification": 0.8},
        ("image_model", "image"): {"war_glorification": 0.1},
    }
    assert verdict.scores == {"war_glorification": 0.8}
    assert verdict.classifier_versions == {"text-probe": "enc+probes-abc", "lexicon": "lexicon-def"}
    data = verdict_to_dict(verdict)
    assert data["scores_by_source"][1] == {
        "signal": "text_model",
        "source": "script",
        "scores": {"war_glorification": 0.8},
    }
    assert data["classifier_versions"] == {"text-probe": "enc+probes-abc", "lexicon": "lexicon-def"}


@pytest.mark.parametrize("market", ["default", "eu", "cn", "us-ca"])
def test_a_label_statement_says_the_content_is_labelled_as_ai_generated(market):
    """A consented, signed, AI-labelled memorial: labelled, not restricted for propaganda."""
    policy = POLICIES.for_market(market)
    verdict = evaluate(policy, check(provenance=AI))
    assert verdict.decision is Decision.LABEL
    sor = verdict.statement_of_reasons
    assert sor is not None
    assert sor.decision_visibility == ("DECISION_VISIBILITY_CONTENT_LABELLED",)
    assert sor.decision_ground == "DECISION_GROUND_INCOMPATIBLE_CONTENT"
    assert sor.incompatible_content_ground == policy.grounds.label_ground
    assert sor.incompatible_content_explanation == policy.grounds.label_explanation
    said = f"{sor.incompatible_content_ground} {sor.incompatible_content_explanation}".lower()
    assert "propaganda" not in said
    assert "label" in said
    assert sor.category == "STATEMENT_CATEGORY_OTHER_VIOLATION_TC"
    assert sor.category not in {c.dsa_category for c in policy.categories.values()}
    assert sor.category_specification == ()
    assert "CONTENT_TYPE_SYNTHETIC_MEDIA" in sor.content_type
    assert (sor.automated_detection, sor.automated_decision) == ("Yes", "AUTOMATED_DECISION_FULLY")


def test_a_blocked_ai_output_keeps_the_policy_ground_not_the_label_one():
    verdict = evaluate(
        POLICIES.for_market("default"),
        check(provenance=AI, matches=(MatchSignal("propaganda", "block", 3, "pdq"),)),
    )
    sor = verdict.statement_of_reasons
    assert sor is not None
    assert (
        sor.incompatible_content_ground == POLICIES.for_market("default").grounds.incompatible_content_ground
    )
    assert (sor.automated_detection, sor.automated_decision) == ("Yes", "AUTOMATED_DECISION_FULLY")


def test_a_review_sent_only_by_a_missing_signal_was_not_detected_automatically():
    verdict = evaluate(
        POLICIES.for_market("default"),
        Signals(
            flow=Flow.GENERATION, content_kinds=("image",), states={"image_model": SignalState.NOT_CONFIGURED}
        ),
    )
    sor = verdict.statement_of_reasons
    assert sor is not None
    assert (sor.automated_detection, sor.automated_decision) == ("No", "AUTOMATED_DECISION_PARTIALLY")


def test_a_reviewers_reject_is_stated_as_not_automated():
    policy = POLICIES.for_market("eu")
    verdict = evaluate(
        policy, check(scores=(ScoreSignal("text_model", "war_glorification", 0.8, origin="caption"),))
    )
    held = verdict.statement_of_reasons
    assert held is not None
    assert (held.automated_detection, held.automated_decision) == ("Yes", "AUTOMATED_DECISION_PARTIALLY")
    rejected = reviewed(policy, held)
    assert rejected.automated_decision == "AUTOMATED_DECISION_NOT_AUTOMATED"
    assert rejected.automated_detection == "Yes"
    assert rejected.decision_visibility == ("DECISION_VISIBILITY_CONTENT_DISABLED",)
    assert rejected.category == held.category == "STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY"
    assert rejected.decision_facts.startswith("A qualified reviewer rejected the content")
    assert "(caption)" in rejected.decision_facts
