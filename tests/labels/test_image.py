"""Images carry the mark top-right, at the profile's size, legible on any background."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from service.errors import LabelRefused, UnsupportedMediaType
from service.labels import MarkKind, label_file, load_profiles
from tests.labels.helpers import DISCLOSURE, MARKETS, flat_image, noise_image

PROFILES = load_profiles(MARKETS)


def _lum(rgb: np.ndarray) -> np.ndarray:
    c = rgb.astype(np.float64) / 255
    lin = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    return lin @ np.array([0.2126, 0.7152, 0.0722])


def _changed_box(src: Path, dst: Path) -> tuple[int, int, int, int]:
    """Bounding box (x0, y0, x1, y1) of the pixels the label changed (lossless formats)."""
    a = np.asarray(Image.open(src).convert("RGB"), dtype=np.int16)
    b = np.asarray(Image.open(dst).convert("RGB"), dtype=np.int16)
    ys, xs = np.nonzero(np.abs(a - b).max(axis=2) > 0)
    return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1


@pytest.mark.parametrize("market", sorted(PROFILES))
@pytest.mark.parametrize(("width", "height"), [(1000, 1000), (1280, 720), (600, 900)])
def test_mark_is_top_right_at_the_profiles_size(tmp_path: Path, market: str, width: int, height: int) -> None:
    profile = PROFILES[market]
    src = noise_image(tmp_path / "src.png", width, height)
    dst = tmp_path / "out.png"
    result = label_file(src, dst, profile, locale="zh", disclosure=DISCLOSURE)

    x0, y0, x1, y1 = _changed_box(src, dst)
    short = min(width, height)
    margin = round(profile.image.margin_fraction * short)
    # Top-right: the changed area hugs the right and top margins.
    assert abs((width - margin) - x1) <= 2
    assert abs(y0 - margin) <= 2
    assert x0 > width / 2
    assert y1 < height / 2
    # Size: the mark is at least as tall as the profile's text minimum, and covers no more than allowed.
    min_text = math.ceil(profile.image.min_text_fraction * short)
    assert y1 - y0 >= min_text
    assert (x1 - x0) * (y1 - y0) <= profile.image.max_area_fraction * width * height
    (mark,) = result.marks
    assert mark.kind is MarkKind.LABEL
    assert mark.text_px >= min_text
    assert (mark.box.x, mark.box.y, mark.box.x + mark.box.width, mark.box.y + mark.box.height) == (
        pytest.approx(x0, abs=2),
        pytest.approx(y0, abs=2),
        pytest.approx(x1, abs=2),
        pytest.approx(y1, abs=2),
    )
    assert result.text == profile.image.texts["zh"]
    # The drawn characters themselves (not just the font size) reach the required height:
    # rows holding text-coloured pixels in the right part of the plate (the icon is at the left).
    out = np.asarray(Image.open(dst).convert("RGB"))
    b = mark.box
    text_cols = out[b.y : b.y + b.height, b.x + b.width * 11 // 20 : b.x + b.width - 1]
    inked_rows = np.flatnonzero((np.abs(text_cols.astype(int) - mark.text_rgb).max(axis=2) < 60).any(axis=1))
    # (one pixel of tolerance: the outermost antialiased rows are lighter than the threshold)
    assert inked_rows.max() - inked_rows.min() + 2 >= profile.image.min_text_fraction * short
    assert mark.ink_px >= profile.image.min_text_fraction * short


@pytest.mark.parametrize(
    ("colour", "plate_is_dark"),
    [((255, 255, 255), True), ((0, 0, 0), False), ((250, 220, 40), True), ((20, 40, 120), False)],
)
def test_label_is_legible_on_light_and_dark_backgrounds(
    tmp_path: Path, colour: tuple[int, int, int], plate_is_dark: bool
) -> None:
    src = flat_image(tmp_path / "src.png", 800, 600, colour)
    dst = tmp_path / "out.png"
    (mark,) = label_file(src, dst, PROFILES["eu"], locale="en", disclosure=DISCLOSURE).marks
    out = np.asarray(Image.open(dst).convert("RGB"))
    b = mark.box
    region = out[b.y + 2 : b.y + b.height - 2, b.x + 2 : b.x + b.width - 2].reshape(-1, 3)
    lum = _lum(region)
    lo, hi = np.percentile(lum, 2), np.percentile(lum, 98)
    assert (hi + 0.05) / (lo + 0.05) >= 4.5  # WCAG AA between text and plate, measured on the output
    plate_lum = float(np.median(lum))  # the plate is most of the box
    assert (plate_lum < 0.2) is plate_is_dark
    assert mark.contrast >= 4.5


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_every_image_format_keeps_its_format_and_changes_the_corner(tmp_path: Path, fmt: str) -> None:
    ext = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}[fmt]
    src = noise_image(tmp_path / f"src.{ext}", 1000, 1000, format=fmt)
    dst = tmp_path / f"out.{ext}"
    result = label_file(src, dst, PROFILES["cn"], locale="zh", disclosure=DISCLOSURE)
    with Image.open(dst) as out:
        assert out.format == fmt
        assert out.size == (1000, 1000)
        b = result.marks[0].box
        corner = np.asarray(out.convert("RGB"))[b.y : b.y + b.height, b.x : b.x + b.width].astype(int)
    source = np.asarray(Image.open(src).convert("RGB"))[b.y : b.y + b.height, b.x : b.x + b.width].astype(int)
    assert np.abs(corner - source).mean() > 40  # a solid plate over noise, not a faint tint
    assert result.mime == Image.MIME[fmt]


def test_rgba_png_keeps_transparency_elsewhere(tmp_path: Path) -> None:
    src = tmp_path / "src.png"
    Image.new("RGBA", (800, 600), (10, 200, 10, 0)).save(src)
    dst = tmp_path / "out.png"
    (mark,) = label_file(src, dst, PROFILES["default"], locale="en", disclosure=DISCLOSURE).marks
    with Image.open(dst) as out:
        alpha = np.asarray(out.getchannel("A"))
    assert alpha[mark.box.y + mark.box.height // 2, mark.box.x + mark.box.width // 2] == 255
    assert alpha[500, 100] == 0


@pytest.mark.parametrize(("market", "size"), [("cn", (80, 60)), ("eu", (64, 64)), ("default", (300, 40))])
def test_image_too_small_for_a_legible_label_is_refused(
    tmp_path: Path, market: str, size: tuple[int, int]
) -> None:
    src = noise_image(tmp_path / "small.png", *size)
    dst = tmp_path / "out.png"
    with pytest.raises(LabelRefused) as err:
        label_file(src, dst, PROFILES[market], locale="zh", disclosure=DISCLOSURE)
    assert "too small" in err.value.message
    assert not dst.exists()  # never emitted unlabelled


def test_unknown_locale_falls_back_to_the_profiles_default(tmp_path: Path) -> None:
    src = noise_image(tmp_path / "src.png", 800, 600)
    result = label_file(src, tmp_path / "o.png", PROFILES["cn"], locale="pt-BR", disclosure=DISCLOSURE)
    assert (result.locale, result.text) == ("zh", "人工智能生成")
    result = label_file(src, tmp_path / "o2.png", PROFILES["eu"], locale="uk-UA", disclosure=DISCLOSURE)
    assert (result.locale, result.text) == ("uk", "Створено ШІ")


def test_types_that_cannot_carry_a_label_are_refused(tmp_path: Path) -> None:
    src = tmp_path / "anim.gif"
    Image.new("RGB", (800, 600), "white").save(src)
    with pytest.raises(UnsupportedMediaType):
        label_file(src, tmp_path / "o.gif", PROFILES["eu"], locale="en", disclosure=DISCLOSURE)
    text = tmp_path / "notes.pdf"
    text.write_bytes(b"%PDF-1.7\n")
    with pytest.raises(UnsupportedMediaType):
        label_file(text, tmp_path / "o.pdf", PROFILES["eu"], locale="en", disclosure=DISCLOSURE)
    assert not (tmp_path / "o.gif").exists()


def test_result_fits_the_asset_labelled_audit_event(tmp_path: Path) -> None:
    from service.audit import Event, EventName

    src = noise_image(tmp_path / "src.png", 800, 600)
    result = label_file(src, tmp_path / "o.png", PROFILES["us-ca"], locale="en", disclosure=DISCLOSURE)
    event = Event(EventName.ASSET_LABELLED, DISCLOSURE.asset_id, None, result.audit_fields())
    assert event.data["profile"] == "us-ca"
    assert event.data["layers"] == ["digital_source_type", "ai_system", "ca_latent"]
    assert event.data["marks"] == ["label"]


def test_exif_rotated_photo_is_labelled_where_the_viewer_sees_top_right(tmp_path: Path) -> None:
    src = tmp_path / "rotated.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # stored landscape, shown rotated 90° clockwise (portrait)
    Image.new("RGB", (800, 600), (200, 200, 200)).save(src, exif=exif, quality=95)
    dst = tmp_path / "out.jpg"
    (mark,) = label_file(src, dst, PROFILES["eu"], locale="en", disclosure=DISCLOSURE).marks
    with Image.open(dst) as out:
        assert out.size == (600, 800)  # written upright
        assert out.getexif().get(0x0112) in (None, 1)
        corner = np.asarray(out.convert("RGB"))[mark.box.y : mark.box.y + mark.box.height, mark.box.x :]
    assert mark.box.x + mark.box.width > 550
    assert np.median(corner) < 100  # the dark plate sits in the shown top-right corner
