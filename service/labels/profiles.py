"""Load market profiles (``policies/markets/*.yaml``) into frozen ``MarketProfile`` objects.

Parse, don't validate: every key is required, unknown keys are refused, and a load error names
the file and the key path (``cn.yaml: image.text.zh: missing``) so the fix is obvious.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, NoReturn

import yaml

from service.errors import ProfileError, UnknownProfile
from service.labels.audio import clip_path
from service.labels.model import (
    AudioNoticeKind,
    AudioNoticeSpec,
    ImageLabelSpec,
    MarketProfile,
    MetadataLayer,
    Placement,
    VideoLabelSpec,
)
from service.labels.render import missing_glyphs

REQUIRED_LOCALES = ("en", "ru", "uk", "zh")


class _Reader:
    """Reads one mapping, tracking the key path for error messages."""

    def __init__(self, file: Path, data: Any, path: str = "") -> None:
        self.file, self.path = file, path
        if not isinstance(data, Mapping):
            self.fail(f"expected a mapping, got {type(data).__name__}")
        self.data: Mapping[str, Any] = data
        self.seen: set[str] = set()

    def fail(self, message: str, key: str | None = None) -> NoReturn:
        where = ".".join(p for p in (self.path, key) if p) or "(top level)"
        raise ProfileError(
            f"{self.file.name}: {where}: {message}", details={"file": str(self.file), "key": where}
        )

    def raw(self, key: str) -> Any:
        self.seen.add(key)
        if key not in self.data:
            self.fail("missing", key)
        return self.data[key]

    def sub(self, key: str) -> _Reader:
        return _Reader(self.file, self.raw(key), ".".join(p for p in (self.path, key) if p))

    def text(self, key: str) -> str:
        value = self.raw(key)
        if not isinstance(value, str) or not value.strip():
            self.fail("expected a non-empty string", key)
        return value

    def number(self, key: str, *, lo: float, hi: float) -> float:
        value = self.raw(key)
        if isinstance(value, bool) or not isinstance(value, int | float) or not lo <= value <= hi:
            self.fail(f"expected a number in [{lo}, {hi}], got {value!r}", key)
        return float(value)

    def integer(self, key: str, *, lo: int, hi: int) -> int:
        value = self.raw(key)
        if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
            self.fail(f"expected an integer in [{lo}, {hi}], got {value!r}", key)
        return value

    def flag(self, key: str) -> bool:
        value = self.raw(key)
        if not isinstance(value, bool):
            self.fail(f"expected true or false, got {value!r}", key)
        return value

    def choice(self, key: str, enum: type[Any]) -> Any:
        value = self.raw(key)
        try:
            return enum(value)
        except ValueError:
            allowed = ", ".join(m.value for m in enum)
            self.fail(f"{value!r} is not one of: {allowed}", key)

    def done(self) -> None:
        extra = sorted(set(self.data) - self.seen)
        if extra:
            self.fail(f"unknown key (known: {', '.join(sorted(self.seen))})", str(extra[0]))


def _drawable(reader: _Reader, key: str) -> str:
    value = reader.text(key)
    if missing := missing_glyphs(value):
        reader.fail(f"the shipped fonts have no glyph for {missing!r}", key)
    return value


def parse_profile(file: Path, data: Any) -> MarketProfile:
    top = _Reader(file, data)
    name = top.text("name")
    if name != name.lower() or name != file.stem:
        top.fail(f"must be lower case and equal the file name ({file.stem!r})", "name")
    description = top.text("description")

    img = top.sub("image")
    texts_reader = img.sub("text")
    texts = {str(k): texts_reader.text(str(k)) for k in texts_reader.data}
    for locale in REQUIRED_LOCALES:
        texts_reader.text(locale)  # raises "missing" with its key path
    for locale, text in texts.items():
        if missing := missing_glyphs(text):
            texts_reader.fail(f"the shipped fonts have no glyph for {missing!r}", locale)
    default_locale = img.text("default_locale")
    if default_locale not in texts:
        img.fail(f"{default_locale!r} has no entry under image.text", "default_locale")
    image = ImageLabelSpec(
        texts=texts,
        default_locale=default_locale,
        icon=_drawable(img, "icon"),
        placement=img.choice("placement", Placement),
        min_text_fraction=img.number("min_text_fraction", lo=0.005, hi=0.5),
        min_text_px=img.integer("min_text_px", lo=6, hi=200),
        max_area_fraction=img.number("max_area_fraction", lo=0.01, hi=0.5),
        margin_fraction=img.number("margin_fraction", lo=0.0, hi=0.2),
        min_contrast=img.number("min_contrast", lo=1.0, hi=21.0),
    )
    img.done()

    vid = top.sub("video")
    video = VideoLabelSpec(
        label_seconds=vid.number("label_seconds", lo=0.0, hi=60.0),
        badge_text_fraction=vid.number("badge_text_fraction", lo=0.005, hi=0.5),
        badge_min_text_px=vid.integer("badge_min_text_px", lo=6, hi=200),
    )
    vid.done()

    aud = top.sub("audio")
    notice = aud.choice("notice", AudioNoticeKind)
    if notice is AudioNoticeKind.SPOKEN:
        lacking = [loc for loc in REQUIRED_LOCALES if clip_path(loc) is None]
        if lacking:
            aud.fail(f"no spoken clip ships for {', '.join(lacking)}; use 'tone'", "notice")
    audio = AudioNoticeSpec(
        kind=notice,
        in_video=aud.flag("in_video"),
        gain=aud.number("gain", lo=0.01, hi=1.0),
    )
    aud.done()

    meta = top.sub("metadata")
    raw_layers = meta.raw("layers")
    if not isinstance(raw_layers, list) or not raw_layers:
        meta.fail("expected a non-empty list", "layers")
    layers: list[MetadataLayer] = []
    for i, value in enumerate(raw_layers):
        try:
            layers.append(MetadataLayer(value))
        except ValueError:
            allowed = ", ".join(m.value for m in MetadataLayer)
            meta.fail(f"{value!r} is not one of: {allowed}", f"layers[{i}]")
    meta.done()
    top.done()
    return MarketProfile(
        name=name,
        description=description,
        source=file,
        image=image,
        video=video,
        audio=audio,
        layers=tuple(dict.fromkeys(layers)),
    )


def load_profiles(directory: Path) -> dict[str, MarketProfile]:
    """Every ``*.yaml`` in ``directory``, by profile name; any malformed file is a ``ProfileError``."""
    if not directory.is_dir():
        raise ProfileError(f"{directory}: no market profile directory there.")
    profiles: dict[str, MarketProfile] = {}
    for file in sorted(directory.glob("*.yaml")):
        try:
            data = yaml.safe_load(file.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise ProfileError(f"{file.name}: not valid YAML: {exc}", details={"file": str(file)}) from exc
        profile = parse_profile(file, data)
        profiles[profile.name] = profile
    if not profiles:
        raise ProfileError(f"{directory}: no *.yaml market profiles found.")
    return profiles


def get_profile(profiles: Mapping[str, MarketProfile], name: str) -> MarketProfile:
    """The profile called ``name``; an unknown name is an ``UnknownProfile`` listing the known ones."""
    try:
        return profiles[name]
    except KeyError:
        known = ", ".join(sorted(profiles))
        raise UnknownProfile(
            f"No market profile {name!r}; known profiles: {known}.", details={"profiles": sorted(profiles)}
        ) from None


def resolve_profiles_dir(directory: Path) -> Path:
    """``directory`` as given, or, when relative and absent here, the copy beside the package."""
    if directory.is_absolute() or directory.is_dir():
        return directory
    bundled = Path(__file__).resolve().parents[2] / directory
    return bundled if bundled.is_dir() else directory
