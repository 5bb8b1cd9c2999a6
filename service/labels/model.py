"""Typed values of disclosure labelling (no I/O): market profiles, what is disclosed, what was done.

A ``MarketProfile`` is the parsed form of one ``policies/markets/<name>.yaml``; a ``Disclosure``
is the fact being disclosed (who made the asset, with what, when, under which id); a
``LabelResult`` reports what ``label_file`` burned in and wrote; ``DetectedLayers`` is what
``detect`` found in a file.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from service.vocabulary import AI_SOURCE_TYPES, SourceType


class Placement(enum.StrEnum):
    TOP_RIGHT = "top-right"


class AudioNoticeKind(enum.StrEnum):
    NONE = "none"
    TONE = "tone"  # short-long-short-short rhythm, generated
    SPOKEN = "spoken"  # a spoken clip shipped with the project


class MetadataLayer(enum.StrEnum):
    """Machine-readable layers ``label_file`` writes before signing."""

    DIGITAL_SOURCE_TYPE = "digital_source_type"  # XMP Iptc4xmpExt:DigitalSourceType
    AI_SYSTEM = "ai_system"  # XMP Iptc4xmpExt:AISystemUsed / AISystemVersionUsed
    AIGC = "aigc"  # GB 45438-2025 Annex E implicit label (JSON block)
    CA_LATENT = "ca_latent"  # California SB 942 latent disclosure


class MarkKind(enum.StrEnum):
    LABEL = "label"  # the full label: icon + text
    BADGE = "badge"  # the small persistent mark on video after the opening label


@dataclass(frozen=True, slots=True)
class ImageLabelSpec:
    texts: dict[str, str]  # locale -> label text ("AI-generated")
    default_locale: str
    icon: str  # the text inside the icon ("AI")
    placement: Placement
    min_text_fraction: float  # text height / shorter side, at least
    min_text_px: int  # below this the label is not legible: refuse
    max_area_fraction: float  # the plate may cover at most this share of the image
    margin_fraction: float  # distance from the edges / shorter side
    min_contrast: float  # WCAG 2.x contrast ratio between text and plate, at least

    def text_for(self, locale: str) -> str:
        return (
            self.texts.get(locale) or self.texts.get(locale.split("-")[0]) or self.texts[self.default_locale]
        )


@dataclass(frozen=True, slots=True)
class VideoLabelSpec:
    label_seconds: float  # the full label stays this long from the first frame
    badge_text_fraction: float  # then a badge (icon only) with this text height / shorter side
    badge_min_text_px: int


@dataclass(frozen=True, slots=True)
class AudioNoticeSpec:
    kind: AudioNoticeKind
    in_video: bool  # also mix the notice into the start of a video's audio track
    gain: float  # notice loudness, 0..1 of full scale


@dataclass(frozen=True, slots=True)
class MarketProfile:
    name: str  # lower case, a public contract: default, eu, cn, us-ca
    description: str
    source: Path  # the YAML file it came from
    image: ImageLabelSpec
    video: VideoLabelSpec
    audio: AudioNoticeSpec
    layers: tuple[MetadataLayer, ...]


@dataclass(frozen=True, slots=True)
class Disclosure:
    """The facts a label discloses. Ids and codes only: no names, captions or file names."""

    provider: str  # who provides the AI system (SB 942 "name of the covered provider")
    system_name: str
    system_version: str
    created_at: datetime  # timezone-aware
    asset_id: str  # unique id of this output (SB 942 "unique identifier")
    digital_source_type: str = SourceType.TRAINED_ALGORITHMIC_MEDIA.value
    # GB 45438-2025 Annex E fields of the AIGC block
    content_producer: str = ""
    produce_id: str = ""
    content_propagator: str = ""
    propagate_id: str = ""
    reserved_code1: str = ""
    reserved_code2: str = ""
    aigc_label: str = "1"  # 1 = is AI-generated, 2 = may be, 3 = suspected


@dataclass(frozen=True, slots=True)
class Box:
    x: int
    y: int
    width: int
    height: int

    @property
    def area(self) -> int:
        return self.width * self.height


@dataclass(frozen=True, slots=True)
class Mark:
    """One visible mark burned into an image or a run of video frames."""

    kind: MarkKind
    box: Box  # the plate, in pixels of the output
    text_px: int  # height of the text's em box
    contrast: float  # WCAG contrast ratio of text against plate
    plate_rgb: tuple[int, int, int]
    text_rgb: tuple[int, int, int]
    start_s: float = 0.0  # video only: first and last second the mark is shown
    end_s: float | None = None
    ink_px: int = 0  # measured height of the drawn text (what "text ≥ 5 % of the side" means)


@dataclass(frozen=True, slots=True)
class LabelResult:
    path: Path
    mime: str
    profile: str
    locale: str
    text: str
    marks: tuple[Mark, ...]
    audio_notice: AudioNoticeKind
    audio_notice_s: float
    layers: tuple[MetadataLayer, ...]
    notes: tuple[str, ...] = field(default=())  # e.g. which encoder was used and why

    def audit_fields(self) -> dict[str, str | float | list[str] | list[int]]:
        """Codes and numbers for the ``asset.labelled`` audit event (no text, no file names)."""
        return {
            "profile": self.profile,
            "locale": self.locale,
            "layers": [layer.value for layer in self.layers],
            "marks": [mark.kind.value for mark in self.marks],
            "text_px": [mark.text_px for mark in self.marks],
            "ink_px": [mark.ink_px for mark in self.marks],
            "audio_notice": self.audio_notice.value,
        }


@dataclass(frozen=True, slots=True)
class DetectedLayers:
    """Metadata layers a file carries (a visible label cannot be detected reliably from pixels)."""

    xmp: bool
    digital_source_type: str | None
    ai_system: str | None
    ai_system_version: str | None
    aigc: dict[str, str] | None
    ca_latent: dict[str, str] | None
    c2pa_manifest: bool  # JUMBF c2pa box bytes seen; NOT verified

    @property
    def ai_generated(self) -> bool:
        """The metadata says AI made this (source type, or an AIGC Label 1/2/3)."""
        if self.digital_source_type in AI_SOURCE_TYPES:
            return True
        return self.aigc is not None and self.aigc.get("Label") in {"1", "2", "3"}
