"""Values of the policy stage: the signals it reads and the Verdict it returns (no I/O).

A Verdict is a value that carries its reasons; it has no truthiness. Tests and callers compare
``verdict.decision is Decision.REVIEW``, never ``if verdict``.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from service.vocabulary import ConsentStatus, Reason, SignalState


class Decision(enum.StrEnum):
    """Ordered by precedence: BLOCK > REVIEW > LABEL > ALLOW."""

    ALLOW = "allow"
    LABEL = "label"
    REVIEW = "review"
    BLOCK = "block"

    @property
    def rank(self) -> int:
        return _RANK[self]

    def __bool__(self) -> bool:  # a decision is not a yes/no: compare it
        raise TypeError("compare a Decision with 'is', it has no truth value")


_RANK = {Decision.ALLOW: 0, Decision.LABEL: 1, Decision.REVIEW: 2, Decision.BLOCK: 3}


class Flow(enum.StrEnum):
    CHECK = "check"  # a platform's upload
    GENERATION = "generation"  # an output Vigil made


class TextSource(enum.StrEnum):
    """Where a screened text came from; scores and reasons name it instead of a position."""

    PROMPT = "prompt"  # a generation's prompt
    SCRIPT = "script"  # a generation's voice script (what the cloned voice says)
    CAPTION = "caption"  # a generation's caption, or the caption sent with a check
    TRANSCRIPT = "transcript"  # the transcript a platform sends with audio or video
    OCR = "ocr"  # text read from the picture


@dataclass(frozen=True, slots=True)
class ProvenanceSignal:
    state: str  # trusted | valid | invalid | absent
    ai_generated: bool
    recovered_by: str | None = None  # "fingerprint" when found in the manifest repository
    digital_source_type: str | None = None
    asset_id: str | None = None
    summary: Mapping[str, Any] = field(default_factory=dict)  # the report summary for the Verdict


@dataclass(frozen=True, slots=True)
class MatchSignal:
    bank: str
    kind: str  # block | allow
    distance: int
    hash_type: str  # pdq | phash
    labels: tuple[str, ...] = ()
    item: str = "0"  # the frame or item the match is about (allow matches suppress block ones per item)


@dataclass(frozen=True, slots=True)
class ScoreSignal:
    source: str  # the signal: image_model | text_model | ocr
    category: str
    score: float  # calibrated, [0, 1]
    evidence: str = ""  # e.g. "frame 12 at 11.0 s"
    origin: str = ""  # the input it read: a TextSource value for text; image | video for media


@dataclass(frozen=True, slots=True)
class SourceScores:
    """The scores one input got from one signal: the caption from text_model, the video from
    image_model, and so on (a verdict's ``scores`` keeps only each category's highest)."""

    signal: str  # image_model | text_model | ocr
    source: str  # prompt | script | caption | transcript | ocr | image | video
    scores: Mapping[str, float]


@dataclass(frozen=True, slots=True)
class LexiconSignal:
    term: str  # a lexicon entry id, never the matched text itself
    category: str
    blocks_alone: bool = False
    origin: str = ""  # the text it was found in: a TextSource value


@dataclass(frozen=True, slots=True)
class SymbolSignal:
    """A symbol of the symbol bank found in the picture (or a video frame)."""

    symbol: str  # the bank entry's id, e.g. "z_marking"
    label: str
    category: str
    score: float  # the matcher's agreement, [0, 1]
    box: tuple[int, int, int, int]  # x, y, width, height in the picture's pixels
    origin: str = "image"  # image, or video with ``t``
    t: float | None = None


@dataclass(frozen=True, slots=True)
class LowQuality:
    """A picture or frame too flat or too small to fingerprint (PDQ quality under 50): it was not
    matched against the hash banks, and the verdict says so."""

    item: str  # "0" for a picture, the frame index for a video
    quality: int
    t: float | None = None  # a video frame's time in seconds


@dataclass(frozen=True, slots=True)
class Signals:
    """Everything the check or generation flow learned about one piece of content."""

    flow: Flow
    market: str = "default"
    content_kinds: tuple[str, ...] = ()  # image | video | audio | text
    provenance: ProvenanceSignal | None = None
    consent_status: ConsentStatus = ConsentStatus.UNKNOWN
    matches: tuple[MatchSignal, ...] = ()
    scores: tuple[ScoreSignal, ...] = ()
    lexicon: tuple[LexiconSignal, ...] = ()
    states: Mapping[str, SignalState] = field(default_factory=dict)  # signal name -> state
    classifier_versions: Mapping[str, str] = field(default_factory=dict)  # classifier -> version or state
    symbols: tuple[SymbolSignal, ...] = ()
    low_quality: tuple[LowQuality, ...] = ()  # frames the hash banks could not be asked about
    frames: int = 0  # frames fingerprinted (a picture: 1)


@dataclass(frozen=True, slots=True)
class RequiredLabel:
    label: str  # "ai_generated"
    rule: str


@dataclass(frozen=True, slots=True)
class StatementOfReasons:
    """The fields of an EU DSA Transparency Database statement, valid enum values only."""

    decision_visibility: tuple[str, ...]
    decision_visibility_other: str | None
    decision_ground: str
    legal_ground: str | None  # illegal_content_legal_ground, when the ground is illegal content
    illegal_content_explanation: str | None
    incompatible_content_ground: str | None
    incompatible_content_explanation: str | None
    decision_ground_reference_url: str | None
    category: str
    category_specification: tuple[str, ...]
    content_type: tuple[str, ...]
    automated_detection: str  # "Yes" | "No"
    automated_decision: str
    source_type: str
    decision_facts: str
    territorial_scope: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Verdict:
    decision: Decision
    reasons: tuple[Reason, ...]
    required_labels: tuple[RequiredLabel, ...]
    scores: Mapping[str, float]
    matches: tuple[MatchSignal, ...]
    consent_status: ConsentStatus
    provenance: ProvenanceSignal | None
    missing_signals: tuple[str, ...]
    policy_version: str
    statement_of_reasons: StatementOfReasons | None
    category: str | None = None  # the category that drove the decision, if any (policy/categories.py)
    categories: tuple[str, ...] = ()  # every category that reached the decision, ``category`` first
    # Each classifier that screened the content -> its version ("not_configured" / "unavailable"
    # for one that could not), as recorded in the signed vigil.moderation assertion.
    classifier_versions: Mapping[str, str] = field(default_factory=dict)
    scores_by_source: tuple[SourceScores, ...] = ()  # every input's scores, named by its source

    def __bool__(self) -> bool:
        raise TypeError("a Verdict has no truth value: look at verdict.decision")


def verdict_to_dict(verdict: Verdict) -> dict[str, Any]:
    """The Verdict as its public JSON shape (docs/check.md; used by the API, the CLI and audit summaries)."""
    from dataclasses import asdict

    prov = verdict.provenance
    sor = verdict.statement_of_reasons
    return {
        "decision": verdict.decision.value,
        "required_labels": [asdict(label) for label in verdict.required_labels],
        "reasons": [r.as_dict() for r in verdict.reasons],
        "provenance": None
        if prov is None
        else {
            **dict(prov.summary),
            "state": prov.state,
            "ai_generated": prov.ai_generated,
            "recovered_by": prov.recovered_by,
            "digital_source_type": prov.digital_source_type,
        },
        "consent_status": verdict.consent_status.value,
        "matches": [
            {
                "bank": m.bank,
                "distance": m.distance,
                "hash_type": m.hash_type,
                "kind": m.kind,
                "labels": list(m.labels),
            }
            for m in verdict.matches
        ],
        "scores": dict(verdict.scores),
        "scores_by_source": [
            {"signal": s.signal, "source": s.source, "scores": dict(s.scores)}
            for s in verdict.scores_by_source
        ],
        "classifier_versions": dict(verdict.classifier_versions),
        "missing_signals": list(verdict.missing_signals),
        "policy_version": verdict.policy_version,
        "statement_of_reasons": None if sor is None else statement_to_dict(sor),
    }


def statement_to_dict(sor: StatementOfReasons) -> dict[str, Any]:
    """A statement of reasons as JSON values (the Transparency Database field names)."""
    from dataclasses import asdict

    return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(sor).items()}
