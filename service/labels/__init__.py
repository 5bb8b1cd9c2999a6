"""Disclosure: visible AI labels for images, video and audio, XMP/IPTC/AIGC metadata, and market profiles.

The calls other areas make:
- ``load_profiles(dir) -> dict[str, MarketProfile]`` and ``get_profile(profiles, name)``;
- ``label_file(src, dst, profile, *, locale, disclosure) -> LabelResult`` — run it, then sign ``dst``;
- ``detect(path) -> DetectedLayers`` — which machine-readable layers a file carries.
"""

from service.labels.apply import label_file
from service.labels.detect import detect
from service.labels.model import (
    AudioNoticeKind,
    DetectedLayers,
    Disclosure,
    LabelResult,
    Mark,
    MarketProfile,
    MarkKind,
    MetadataLayer,
)
from service.labels.profiles import get_profile, load_profiles

__all__ = [
    "AudioNoticeKind",
    "DetectedLayers",
    "Disclosure",
    "LabelResult",
    "Mark",
    "MarkKind",
    "MarketProfile",
    "MetadataLayer",
    "detect",
    "get_profile",
    "label_file",
    "load_profiles",
]
