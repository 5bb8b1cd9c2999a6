"""Drawing for the compositor (Pillow only): a sky gradient, photos in soft vignettes, a caption.

Nothing here is a trained model: the sky is a computed gradient with a glow, the photos are the
customer's own, resized and feathered, and the caption is set in a font.
"""

from __future__ import annotations

import math
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter, ImageFont

Size = tuple[int, int]
RGB = tuple[int, int, int]

# Dawn: deep blue above, warm light at the horizon.
SKY_TOP: RGB = (28, 46, 92)
SKY_MID: RGB = (118, 142, 196)
SKY_LOW: RGB = (246, 206, 160)

_FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf",
    "/usr/share/fonts/dejavu/DejaVuSerif.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
)


def _mix(a: RGB, b: RGB, t: float) -> RGB:
    return (
        round(a[0] + (b[0] - a[0]) * t),
        round(a[1] + (b[1] - a[1]) * t),
        round(a[2] + (b[2] - a[2]) * t),
    )


def sky(size: Size) -> Image.Image:
    """A vertical dawn gradient with a soft glow low in the middle (a new image each call)."""
    return _sky(size).copy()


@lru_cache(maxsize=8)
def _sky(size: Size) -> Image.Image:
    # Drawn at 1/8 scale and enlarged: the picture is smooth, so this looks the same and
    # costs a fraction of blurring a full-size glow.
    width, height = size
    small = (max(8, width // 8), max(8, height // 8))
    column = Image.new("RGB", (1, small[1]))
    for y in range(small[1]):
        t = y / max(1, small[1] - 1)
        colour = _mix(SKY_TOP, SKY_MID, t / 0.6) if t < 0.6 else _mix(SKY_MID, SKY_LOW, (t - 0.6) / 0.4)
        column.putpixel((0, y), colour)
    image = column.resize(small, Image.Resampling.BILINEAR)
    glow = Image.new("L", small, 0)
    radius = int(min(small) * 0.45)
    cx, cy = small[0] // 2, int(small[1] * 0.8)
    ImageDraw.Draw(glow).ellipse((cx - radius, cy - radius, cx + radius, cy + radius), fill=110)
    glow = glow.filter(ImageFilter.GaussianBlur(radius / 2))
    image = Image.composite(Image.new("RGB", small, (255, 236, 205)), image, glow)
    return image.resize(size, Image.Resampling.BICUBIC)


@lru_cache(maxsize=16)
def vignette_mask(size: Size, feather: float = 0.08) -> Image.Image:
    """An oval alpha mask with a soft edge ``feather`` × the shorter side wide."""
    width, height = size
    pad = max(2, int(min(size) * feather))
    mask = Image.new("L", size, 0)
    ImageDraw.Draw(mask).ellipse((pad, pad, width - pad, height - pad), fill=255)
    return mask.filter(ImageFilter.GaussianBlur(pad / 2))


def cover(image: Image.Image, size: Size) -> Image.Image:
    """Scale and crop ``image`` to fill ``size`` (centred, a little above the middle for faces)."""
    width, height = image.size
    target = size[0] / size[1]
    if width / height > target:  # wider than the cell: crop the sides
        crop_w, crop_h = height * target, float(height)
    else:
        crop_w, crop_h = float(width), width / target
    x0 = (width - crop_w) / 2
    y0 = (height - crop_h) * 0.4
    # reducing_gap: shrink by whole factors first (cheap), then filter the last step properly.
    return image.resize(
        size, Image.Resampling.LANCZOS, box=(x0, y0, x0 + crop_w, y0 + crop_h), reducing_gap=2.0
    )


def place_photos(background: Image.Image, photos: list[Image.Image]) -> Image.Image:
    """The photos side by side (at most four), each in an oval vignette, in the upper part."""
    canvas = background.copy()
    shown = photos[:4]
    width, height = canvas.size
    count = len(shown)
    gap = int(width * 0.03)
    cell_w = min(int(height * 0.62 * 0.8), (width - gap * (count + 1)) // count)
    cell_h = int(cell_w / 0.8)
    top = int(height * 0.08)
    left = (width - (cell_w * count + gap * (count - 1))) // 2
    mask = vignette_mask((cell_w, cell_h))
    for i, photo in enumerate(shown):
        canvas.paste(cover(photo, (cell_w, cell_h)), (left + i * (cell_w + gap), top), mask)
    return canvas


@lru_cache(maxsize=8)
def font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    for candidate in _FONT_CANDIDATES:
        if Path(candidate).is_file():
            return ImageFont.truetype(candidate, size)
    return ImageFont.load_default(size)


def _wrap(
    draw: ImageDraw.ImageDraw, text: str, face: ImageFont.FreeTypeFont | ImageFont.ImageFont, width: int
) -> list[str]:
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        line = ""
        for word in paragraph.split():
            trial = f"{line} {word}".strip()
            if line and draw.textlength(trial, font=face) > width:
                lines.append(line)
                line = word
            else:
                line = trial
        lines.append(line)
    return [line for line in lines if line][:4]


def caption(image: Image.Image, text: str, *, band_top: float = 0.74, opacity: float = 1.0) -> Image.Image:
    """``text`` centred in a band from ``band_top`` (fraction of the height) down, with a soft shadow."""
    if not text.strip() or opacity <= 0:
        return image
    width, height = image.size
    top = int(height * band_top)
    band = image.crop((0, top, width, height)).convert("RGBA")
    face = font(max(14, int(height * 0.055)))
    layer = Image.new("RGBA", band.size, (0, 0, 0, 0))
    shadow = Image.new("RGBA", band.size, (0, 0, 0, 0))
    draw, shadow_draw = ImageDraw.Draw(layer), ImageDraw.Draw(shadow)
    lines = _wrap(draw, text, face, int(width * 0.84))
    line_h = int(height * 0.07)
    y = max(0, (band.height - line_h * len(lines)) // 2)
    alpha = round(255 * min(1.0, opacity))
    for i, line in enumerate(lines):
        x = (width - draw.textlength(line, font=face)) / 2
        shadow_draw.text(
            (x + 2, y + i * line_h + 2), line, font=face, fill=(0, 0, 0, math.floor(alpha * 0.6))
        )
        draw.text((x, y + i * line_h), line, font=face, fill=(255, 255, 255, alpha))
    band.alpha_composite(shadow.filter(ImageFilter.GaussianBlur(3)))
    band.alpha_composite(layer)
    out = image.copy()
    out.paste(band.convert("RGB"), (0, top))
    return out


def still(photos: list[Image.Image], text: str, size: Size) -> Image.Image:
    """The farewell still: sky, photos in vignettes, caption."""
    return caption(place_photos(sky(size), photos), text)
