"""Screening results as policy signals: what the classifiers and hash banks found, in the
vocabulary of ``service.policy`` (signal names ``text_model``, ``lexicon``, ``image_model``,
``hash_banks`` as in ``policies/default.yaml``). A signal that could not run is ``unavailable``,
never clean (STYLE §3).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from uuid import UUID

from service.classify.model import Scores
from service.classify.model import SignalState as ClassifyState
from service.errors import VigilError
from service.match.matching import match_media
from service.media import MediaInfo
from service.policy.model import LexiconHit, MatchSignal, ScoreSignal, SignalState

if TYPE_CHECKING:
    from service.services import Services

log = logging.getLogger(__name__)


@dataclass
class Screening:
    """Signals gathered across the screening steps (text first, then media)."""

    scores: list[ScoreSignal] = field(default_factory=list)
    lexicon: list[LexiconHit] = field(default_factory=list)
    matches: list[MatchSignal] = field(default_factory=list)
    states: dict[str, SignalState] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)  # classifier -> version (for the manifest)

    def audit_fields(self) -> dict[str, str | int | dict[str, str]]:
        return {
            "states": {name: state.value for name, state in sorted(self.states.items())},
            "scores": len(self.scores),
            "lexicon_hits": len(self.lexicon),
            "matches": len(self.matches),
        }


def _state(state: ClassifyState) -> SignalState:
    return SignalState(state.value)


def _add_scores(screening: Screening, signal: str, result: Scores, evidence: str = "") -> None:
    state = _state(result.state)
    # The worst state of a signal wins: one text that could not be read makes the signal unavailable.
    previous = screening.states.get(signal)
    if previous is None or previous is SignalState.OK:
        screening.states[signal] = state
    if result.version:
        screening.versions[result.classifier] = result.version
    for category, score in result.scores.items():
        screening.scores.append(ScoreSignal(signal, str(category), float(score), evidence))


def screen_text(services: Services, texts: Sequence[str]) -> Screening:
    """Step 2: the prompt, script and caption through the text classifier and its lexicon."""
    screening = Screening()
    try:
        results = services.classifiers.classify_text([t for t in texts if t.strip()])
    except VigilError as exc:
        log.warning("text screening unavailable: %s", exc.code)
        screening.states["text_model"] = SignalState.UNAVAILABLE
        screening.states["lexicon"] = SignalState.UNAVAILABLE
        return screening
    for index, result in enumerate(results):
        _add_scores(screening, "text_model", result, evidence=f"text {index}")
        screening.states.setdefault("lexicon", _state(result.state))
        for hit in result.hits:
            screening.lexicon.append(LexiconHit(term=hit.term_id, category=str(hit.category)))
    return screening


def screen_media(services: Services, screening: Screening, info: MediaInfo, *, tenant_id: UUID) -> None:
    """Step 4: the still or sampled frames through the image classifier; fingerprints against banks."""
    try:
        result = services.classifiers.classify_video(info, limits=services.limits)
        _add_scores(screening, "image_model", result)
    except VigilError as exc:
        log.warning("image screening unavailable: %s", exc.code)
        screening.states["image_model"] = SignalState.UNAVAILABLE
    try:
        with services.db.system() as conn:
            report = match_media(
                conn, services.match_index, tenant_id=tenant_id, info=info, limits=services.limits
            )
    except VigilError as exc:
        log.warning("hash bank screening unavailable: %s", exc.code)
        screening.states["hash_banks"] = SignalState.UNAVAILABLE
        return
    screening.states["hash_banks"] = SignalState.OK
    for m in report.matches:
        screening.matches.append(
            MatchSignal(
                bank=m.bank,
                kind=m.kind.value,
                distance=m.distance,
                hash_type=m.hash_type.value,
                labels=tuple(m.labels),
                item=str(m.frame),
            )
        )
