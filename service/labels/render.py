"""Draw the visible mark: an "AI" icon plus localised text on a plate, top-right.

Sizes follow the profile (text height as a share of the shorter side, never below a legible
pixel size); the plate may cover at most the profile's share of the picture, and a picture that
cannot carry a legible label is refused rather than released unlabelled. Colours are chosen by
measuring the area under the plate: a dark plate on light content, a light plate on dark content,
and the text in the colour that contrasts most with the plate (WCAG 2.x contrast ratio).
"""

from __future__ import annotations

import math
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw, ImageFont

from service.errors import LabelRefused
from service.labels.model import Box, ImageLabelSpec, Mark, MarkKind

ASSETS = Path(__file__).parent / "assets"
LATIN_FONT = ASSETS / "DejaVuSans-Bold.ttf"  # Latin, Cyrillic, Greek
CJK_FONT = ASSETS / "DroidSansFallback-GB2312.ttf"  # CJK ideographs and punctuation

DARK = (20, 20, 20)
LIGHT = (248, 248, 248)


@lru_cache(maxsize=64)
def _font(path: Path, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(path), size)


def _is_cjk(ch: str) -> bool:
    cp = ord(ch)
    return (
        0x2E80 <= cp <= 0x9FFF
        or 0xF900 <= cp <= 0xFAFF
        or 0xFF00 <= cp <= 0xFFEF
        or unicodedata.east_asian_width(ch) == "W"
    )


def _runs(text: str) -> list[tuple[Path, str]]:
    """Split text into runs drawn with one font each (Pillow has no font fallback)."""
    runs: list[tuple[Path, str]] = []
    for ch in text:
        font = CJK_FONT if _is_cjk(ch) else LATIN_FONT
        if runs and runs[-1][0] == font:
            runs[-1] = (font, runs[-1][1] + ch)
        else:
            runs.append((font, ch))
    return runs


@lru_cache(maxsize=8)
def _notdef(path: Path) -> bytes:
    return bytes(_font(path, 24).getmask("\uffff"))


def missing_glyphs(text: str) -> str:
    """Characters of ``text`` the shipped fonts cannot draw (they would show as empty boxes)."""
    missing = [
        ch
        for path, run in _runs(text)
        for ch in run
        if not ch.isspace() and bytes(_font(path, 24).getmask(ch)) == _notdef(path)
    ]
    return "".join(dict.fromkeys(missing))


def ink_height(text: str, size: int) -> int:
    """Height in pixels of the inked part of ``text`` drawn at ``size`` (all runs, one baseline)."""
    top, bottom = 0.0, 0.0
    for path, run in _runs(text):
        _, y0, _, y1 = _font(path, size).getbbox(run, anchor="ls")
        top, bottom = min(top, y0), max(bottom, y1)
    return math.ceil(bottom - top)


def text_width(text: str, size: int) -> int:
    return math.ceil(sum(_font(path, size).getlength(run) for path, run in _runs(text)))


def relative_luminance(rgb: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """WCAG 2.x relative luminance of sRGB values (last axis = R, G, B in 0..255)."""
    c = np.asarray(rgb, dtype=np.float64) / 255.0
    lin = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    result: npt.NDArray[np.float64] = lin @ np.array([0.2126, 0.7152, 0.0722])
    return result


def contrast_ratio(a: tuple[int, int, int], b: tuple[int, int, int]) -> float:
    la, lb = float(relative_luminance(a)), float(relative_luminance(b))
    hi, lo = max(la, lb), min(la, lb)
    return (hi + 0.05) / (lo + 0.05)


def choose_colours(region: npt.NDArray[np.uint8]) -> tuple[tuple[int, int, int], tuple[int, int, int], float]:
    """Plate and text colours for the pixels under the plate, and their contrast ratio.

    The plate is the one of dark/light that contrasts more with the *mean luminance* of the
    area (so the plate stands out from the picture); the text takes the other, which keeps the
    text/plate ratio far above 4.5 whatever the picture does.
    """
    sample = region[::4, ::4, :3].reshape(-1, 3)
    mean_lum = float(relative_luminance(sample).mean()) if sample.size else 0.0
    # Contrast of each candidate plate with the average background.
    vs_dark = (mean_lum + 0.05) / (float(relative_luminance(DARK)) + 0.05)
    vs_light = (float(relative_luminance(LIGHT)) + 0.05) / (mean_lum + 0.05)
    plate, text = (DARK, LIGHT) if vs_dark >= vs_light else (LIGHT, DARK)
    return plate, text, contrast_ratio(plate, text)


@dataclass(frozen=True, slots=True)
class Layout:
    kind: MarkKind
    text: str  # empty for a badge (icon only)
    icon: str
    text_px: int
    icon_side: int
    pad: int
    gap: int
    box: Box
    ink_px: int


def layout(
    width: int,
    height: int,
    spec: ImageLabelSpec,
    text: str,
    *,
    kind: MarkKind = MarkKind.LABEL,
    text_fraction: float | None = None,
    min_text_px: int | None = None,
) -> Layout:
    """Where the mark goes and how big it is; ``LabelRefused`` when it cannot be legible and fit."""
    short = min(width, height)
    fraction = spec.min_text_fraction if text_fraction is None else text_fraction
    legible = spec.min_text_px if min_text_px is None else min_text_px
    required = fraction * short
    text_px = max(math.ceil(required), legible)
    # The rule is about the visible characters, not the em box: grow the font until the inked
    # height reaches the required share (Cyrillic capitals ink ~0.73 em, CJK ~0.9 em).
    measured = text if kind is MarkKind.LABEL else ""
    while measured and ink_height(measured, text_px) < required:
        text_px += 1
    ink_px = ink_height(measured, text_px) if measured else 0
    icon_side = math.ceil(text_px * 1.3)
    pad = max(2, round(text_px * 0.3))
    gap = round(text_px * 0.35)
    shown = text if kind is MarkKind.LABEL else ""
    inner_w = icon_side + (gap + text_width(shown, text_px) if shown else 0)
    box_w, box_h = inner_w + 2 * pad, icon_side + 2 * pad
    margin = round(spec.margin_fraction * short)
    budget = spec.max_area_fraction * width * height
    if box_w + 2 * margin > width or box_h + 2 * margin > height or box_w * box_h > budget:
        raise LabelRefused(
            f"A {width}×{height} picture is too small for a legible {kind.value} "
            f"({box_w}×{box_h} px at {text_px} px text; the profile allows "
            f"{spec.max_area_fraction:.0%} of the area).",
            details={"width": width, "height": height, "text_px": text_px},
        )
    # Placement.TOP_RIGHT is the only placement so far (the convention every market follows).
    box = Box(x=width - margin - box_w, y=margin, width=box_w, height=box_h)
    return Layout(kind, shown, spec.icon, text_px, icon_side, pad, gap, box, ink_px)


@lru_cache(maxsize=256)
def draw_patch(lay: Layout, plate: tuple[int, int, int], ink: tuple[int, int, int]) -> Image.Image:
    """The mark as an RGBA image of the box's size (rounded corners are transparent).

    Cached: a service labelling one size of output for one market draws each patch once.
    Callers must not modify the returned image.
    """
    w, h = lay.box.width, lay.box.height
    patch = Image.new("RGBA", (w, h), (0, 0, 0, 0))
    draw = ImageDraw.Draw(patch)
    draw.rounded_rectangle((0, 0, w - 1, h - 1), radius=max(2, lay.pad), fill=(*plate, 255))
    # Icon: an ink-filled rounded square with the icon text in the plate colour.
    x0, y0 = lay.pad, lay.pad
    side = lay.icon_side
    draw.rounded_rectangle((x0, y0, x0 + side - 1, y0 + side - 1), radius=max(1, side // 5), fill=(*ink, 255))
    icon_font = _font(LATIN_FONT, max(6, round(side * 0.5)))
    draw.text((x0 + side / 2, y0 + side / 2), lay.icon, font=icon_font, fill=(*plate, 255), anchor="mm")
    x = float(x0 + side + lay.gap)
    cy = y0 + side / 2
    for path, run in _runs(lay.text):
        font = _font(path, lay.text_px)
        draw.text((x, cy), run, font=font, fill=(*ink, 255), anchor="lm")
        x += font.getlength(run)
    return patch


def build_mark(under: npt.NDArray[np.uint8], lay: Layout) -> tuple[Image.Image, Mark]:
    """Render the patch for ``lay``, coloured for ``under`` (the RGB pixels beneath its box)."""
    plate, ink, contrast = choose_colours(under)
    patch = draw_patch(lay, plate, ink)
    mark = Mark(lay.kind, lay.box, lay.text_px, round(contrast, 2), plate, ink, ink_px=lay.ink_px)
    return patch, mark


def burn_image(image: Image.Image, spec: ImageLabelSpec, text: str) -> tuple[Image.Image, Mark]:
    """The image with the full label burned in top-right (RGB or RGBA in, same mode out)."""
    lay = layout(image.width, image.height, spec, text)
    b = lay.box
    under = np.asarray(image.crop((b.x, b.y, b.x + b.width, b.y + b.height)).convert("RGB"))
    patch, mark = build_mark(under, lay)
    out = image.copy()
    if out.mode == "RGBA":
        out.alpha_composite(patch, (b.x, b.y))
    else:
        out.paste(patch.convert("RGB"), (b.x, b.y), patch)
    if spec.min_contrast > mark.contrast:  # cannot happen with the two fixed colours; kept as a guard
        raise LabelRefused(f"Label contrast {mark.contrast:.1f} is below the profile's {spec.min_contrast}.")
    return out, mark
