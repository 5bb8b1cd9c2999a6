"""Values of the classify stage: categories, signal states, scores and evidence (no I/O).

A ``Scores`` value is never truthy or falsy: callers must read ``state`` and the per-category
numbers, so a model that could not run is never mistaken for clean content.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from service.vocabulary import Category, SignalState


class Contrast(enum.StrEnum):
    """Look-alike content that must score low: prompted as negatives, measured as FP slices."""

    PRIVATE_MEMORIAL = "private_memorial"
    NEWS = "news"
    HISTORY = "history"
    ANTI_WAR = "anti_war"
    FICTION = "fiction"
    VETERANS_CIVILIAN = "veterans_civilian"
    PET_MEMORIAL = "pet_memorial"
    TREND_CRITICISM = "trend_criticism"  # journalism and criticism of AI farewell videos
    FAMILY = "family"  # everyday family captions, some in uniform


class Modality(enum.StrEnum):
    TEXT = "text"
    IMAGE = "image"


CATEGORIES: tuple[Category, ...] = tuple(Category)


@dataclass(frozen=True, slots=True)
class ScoreEvidence:
    """Where a score came from: the frame (video) or the lexicon entry (text)."""

    category: Category
    score: float
    frame_index: int | None = None
    t: float | None = None
    term_id: str | None = None


@dataclass(frozen=True, slots=True)
class LexiconHit:
    """A slogan or symbol found in text. ``review`` marks a hit that routes to a human (a
    one-sided term outside any contrast context); the others only add their capped score."""

    term_id: str
    category: Category
    lang: str
    both_sides: bool
    review: bool


def _frozen(scores: Mapping[Category, float]) -> Mapping[Category, float]:
    return MappingProxyType(dict(scores))


@dataclass(frozen=True, slots=True)
class Scores:
    """One classifier's answer for one input (a text, an image or a whole video)."""

    classifier: str
    version: str
    state: SignalState
    scores: Mapping[Category, float] = field(default_factory=dict)
    evidence: tuple[ScoreEvidence, ...] = ()
    hits: tuple[LexiconHit, ...] = ()
    detail: str = ""
    topk_mean: Mapping[Category, float] = field(default_factory=dict)  # video: mean of the k best frames

    def __post_init__(self) -> None:
        for category, value in self.scores.items():
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"score {category}={value} is outside [0, 1]")
        if self.state is not SignalState.OK and self.scores:
            raise ValueError("only an ok result carries scores")
        object.__setattr__(self, "scores", _frozen(self.scores))
        object.__setattr__(self, "topk_mean", _frozen(self.topk_mean))

    def __bool__(self) -> bool:
        raise TypeError("Scores has no truth value: read .state and .scores")

    @property
    def review(self) -> bool:
        """A lexicon hit asked for a human look (a lexicon hit never blocks alone)."""
        return any(hit.review for hit in self.hits)

    def top(self) -> tuple[Category, float] | None:
        if not self.scores:
            return None
        category = max(self.scores, key=lambda c: self.scores[c])
        return category, self.scores[category]

    @classmethod
    def not_configured(cls, classifier: str, detail: str) -> Scores:
        return cls(classifier=classifier, version="", state=SignalState.NOT_CONFIGURED, detail=detail)

    @classmethod
    def unavailable(cls, classifier: str, version: str, detail: str) -> Scores:
        return cls(classifier=classifier, version=version, state=SignalState.UNAVAILABLE, detail=detail)


# The names the pipelines use; one value type serves all three inputs.
TextScores = Scores
ImageScores = Scores
VideoScores = Scores
