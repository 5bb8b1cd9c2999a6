"""The words every stage shares, one definition each and no I/O (as ``errors.py`` is for errors).

A value crosses from one stage to the next as it is: a classifier's ``SignalState`` is the one the
policy reads, a consent ``Reason`` is the one a verdict and a generation record carry. Decisions
stay with the stage that makes them, each named for it: ``policy.model.Decision`` (allow, label,
review, block: the product's decision), ``review.model.ReviewDecision`` (a reviewer's) and
``consent.model.ConsentOutcome`` (granted, denied, needs review).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


class MediaKind(enum.StrEnum):
    IMAGE = "image"
    VIDEO = "video"
    AUDIO = "audio"
    DOCUMENT = "document"  # PDF, SVG: provenance is read, nothing in them is decoded or screened


class OutputKind(enum.StrEnum):
    """What a generation makes."""

    IMAGE = "image"
    VIDEO = "video"

    @property
    def media_kind(self) -> MediaKind:
        return MediaKind.IMAGE if self is OutputKind.IMAGE else MediaKind.VIDEO


IPTC = "http://cv.iptc.org/newscodes/digitalsourcetype/"


class SourceType(enum.StrEnum):
    """IPTC digital source types (https://cv.iptc.org/newscodes/digitalsourcetype/): what a
    generator declares and a C2PA manifest's ``digitalSourceType`` carries."""

    # Fully made by a model trained on sampled content.
    TRAINED_ALGORITHMIC_MEDIA = IPTC + "trainedAlgorithmicMedia"
    # Real photos (or other captures) combined with elements a trained model made.
    COMPOSITE_WITH_TRAINED_ALGORITHMIC_MEDIA = IPTC + "compositeWithTrainedAlgorithmicMedia"
    # "Composite including synthetic elements": captures mixed with elements made by software
    # that is not a trained model. The compositor's honest type: real photos, a drawn sky, text.
    COMPOSITE_SYNTHETIC = IPTC + "compositeSynthetic"
    # Made by an algorithm that is not a trained model.
    ALGORITHMIC_MEDIA = IPTC + "algorithmicMedia"

    @property
    def trained_model(self) -> bool:
        """True when a trained (generative AI) model made some of the content."""
        return self in (
            SourceType.TRAINED_ALGORITHMIC_MEDIA,
            SourceType.COMPOSITE_WITH_TRAINED_ALGORITHMIC_MEDIA,
        )


# Every source type above says a machine made some of the content: media that carries one is
# AI-made for labelling and for provenance reports.
AI_SOURCE_TYPES = frozenset(t.value for t in SourceType)


class Category(enum.StrEnum):
    """The propaganda taxonomy (docs/screening.md), each scored independently in [0, 1]."""

    WAR_GLORIFICATION = "war_glorification"
    COMBATANT_MARTYRDOM = "combatant_martyrdom"
    EXTREMIST_SYMBOLS = "extremist_symbols"
    PROPAGANDA_POSTER = "propaganda_poster"
    MINORS_MILITARISED = "minors_militarised"
    DEHUMANISATION = "dehumanisation"


class SignalState(enum.StrEnum):
    """``ok``: scores are real. ``not_configured``: deliberately absent (policy decides what it
    means). ``unavailable``: configured but broken; never read as clean (route to review). The
    same three states are what ``/readyz`` reports of each component (``health.py``)."""

    OK = "ok"
    NOT_CONFIGURED = "not_configured"
    UNAVAILABLE = "unavailable"


class ConsentStatus(enum.StrEnum):
    """The consent behind a signed asset, as a check sees it."""

    ACTIVE = "active"
    REVOKED = "revoked"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class Reason:
    """Why a decision was made: the rule that fired or was applied (e.g.
    ``score.war_glorification.review``), the signal or record it read (``image_model``,
    ``bank:<name>``, ``subject:<id>``, ...), and a sentence for people. Ids, scores and
    distances only; never personal data."""

    rule: str
    source: str
    detail: str

    def as_dict(self) -> dict[str, str]:
        return {"rule": self.rule, "source": self.source, "detail": self.detail}

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> Reason:
        return cls(str(raw["rule"]), str(raw["source"]), str(raw["detail"]))
