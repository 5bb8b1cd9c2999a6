"""Drawing for the compositor (Pillow only): a sky gradient, photos in soft vignettes, a caption.

Nothing here is a trained model: the sky is a computed gradient with a glow, the photos are the
customer's own, resized and feathered, and the caption is set in a font.
"""

from __future__ import annotations

import math
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter, ImageFont, ImageOps

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
    """A vertical dawn gradient with a soft glow low in the middle."""
    width, height = size
    column = Image.new("RGB", (1, height))
    for y in range(height):
        t = y / max(1, height - 1)
        colour = _mix(SKY_TOP, SKY_MID, t / 0.6) if t < 0.6 else _mix(SKY_MID, SKY_LOW, (t - 0.6) / 0.4)
        column.putpixel((0, y), colour)
    image = column.resize(size, Image.Resampling.BILINEAR)
    glow = Image.new("L", size, 0)
    radius = int(min(width, height) * 0.45)
    cx, cy = width // 2, int(height * 0.8)
    ImageDraw.Draw(glow).ellipse((cx - radius, cy - radius, cx + radius, cy + radius), fill=110)
    glow = glow.filter(ImageFilter.GaussianBlur(radius / 2))
    return Image.composite(Image.new("RGB", size, (255, 236, 205)), image, glow)


@lru_cache(maxsize=16)
def vignette_mask(size: Size, feather: float = 0.12) -> Image.Image:
    """An oval alpha mask with a soft edge ``feather`` × the shorter side wide."""
    width, height = size
    pad = max(2, int(min(size) * feather))
    mask = Image.new("L", size, 0)
    ImageDraw.Draw(mask).ellipse((pad, pad, width - pad, height - pad), fill=255)
    return mask.filter(ImageFilter.GaussianBlur(pad / 2))


def cover(image: Image.Image, size: Size) -> Image.Image:
    """Scale and centre-crop ``image`` to fill ``size``."""
    return ImageOps.fit(image, size, Image.Resampling.LANCZOS, centering=(0.5, 0.4))


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
    face = font(max(14, int(height * 0.055)))
    layer = Image.new("RGBA", image.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    lines = _wrap(draw, text, face, int(width * 0.84))
    line_h = int(height * 0.07)
    y = int(height * band_top) + max(0, (int(height * (1 - band_top)) - line_h * len(lines)) // 2)
    alpha = round(255 * min(1.0, opacity))
    shadow = Image.new("RGBA", image.size, (0, 0, 0, 0))
    shadow_draw = ImageDraw.Draw(shadow)
    for i, line in enumerate(lines):
        x = (width - draw.textlength(line, font=face)) / 2
        shadow_draw.text(
            (x + 2, y + i * line_h + 2), line, font=face, fill=(0, 0, 0, math.floor(alpha * 0.6))
        )
        draw.text((x, y + i * line_h), line, font=face, fill=(255, 255, 255, alpha))
    shadow = shadow.filter(ImageFilter.GaussianBlur(3))
    out = image.convert("RGBA")
    out.alpha_composite(shadow)
    out.alpha_composite(layer)
    return out.convert("RGB")


def still(photos: list[Image.Image], text: str, size: Size) -> Image.Image:
    """The farewell still: sky, photos in vignettes, caption."""
    return caption(place_photos(sky(size), photos), text)
