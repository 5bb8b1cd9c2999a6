"""Pictures with words printed on them, for the words benchmark (``bench_words.py``).

A line of text is printed on a natural photograph (the photographs scikit-image ships, cropped,
scaled and flipped at random) the three ways such text reaches a platform:

- ``poster``: a flat panel over part of the picture with the line set large, wrapped, in a bold or
  serif face, dark on light or light on dark;
- ``lower_third``: a dark band across the bottom of a video frame with the line in white;
- ``burned_in``: subtitle-style white letters with a black outline straight on the photograph;
- ``askew`` (not among ``STYLES``, drawn only when asked for): a poster photographed at a slant,
  the panel with its lines turned by 3–12 degrees either way.

Then the picture is saved as JPEG at quality 70–90 and read back, so the reader sees the artefacts
a re-encoded upload has. Everything is drawn from one ``random.Random``: a seed gives the same set.
"""

from __future__ import annotations

import io
import random
import textwrap
from dataclasses import dataclass
from functools import cache

import numpy as np
from PIL import Image, ImageDraw, ImageFont

FONT_DIR = "/usr/share/fonts/truetype/dejavu/"
FACES = (
    "DejaVuSans-Bold.ttf",
    "DejaVuSans.ttf",
    "DejaVuSerif-Bold.ttf",
    "DejaVuSansCondensed-Bold.ttf",
    "DejaVuSerif.ttf",
)
PHOTOS = (
    "astronaut",
    "camera",
    "chelsea",
    "coffee",
    "coins",
    "grass",
    "gravel",
    "brick",
    "hubble_deep_field",
    "immunohistochemistry",
    "stereo_motorcycle",
    "moon",
    "retina",
    "rocket",
    "cell",
)
STYLES = ("poster", "lower_third", "burned_in")


@dataclass(frozen=True, slots=True)
class WordPicture:
    image: Image.Image
    text: str
    style: str
    jpeg_quality: int
    jpeg: bytes = b""  # the file itself (what a platform would upload)


@cache
def _photo(name: str) -> Image.Image:
    import skimage.data

    array = getattr(skimage.data, name)()
    if isinstance(array, tuple):  # the stereo pair: its left view
        array = array[0]
    if array.ndim == 2:
        array = np.stack([array] * 3, axis=-1)
    if array.dtype != np.uint8:
        array = (255 * (array - array.min()) / max(float(np.ptp(array)), 1e-9)).astype(np.uint8)
    return Image.fromarray(array[..., :3])


def photo(rng: random.Random, size: tuple[int, int] = (1200, 840)) -> Image.Image:
    """About one megapixel of a natural photograph: a random crop, scaled, maybe mirrored."""
    src = _photo(rng.choice(PHOTOS))
    w, h = src.size
    crop = rng.uniform(0.6, 1.0)
    cw, ch = int(w * crop), int(h * crop)
    x, y = rng.randint(0, w - cw), rng.randint(0, h - ch)
    out = src.crop((x, y, x + cw, y + ch)).resize(size, Image.Resampling.BICUBIC)
    return out.transpose(Image.Transpose.FLIP_LEFT_RIGHT) if rng.random() < 0.5 else out


def _font(face: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(FONT_DIR + face, size)


def _wrap(text: str, font: ImageFont.FreeTypeFont, width: int) -> list[str]:
    """Lines of ``text`` that fit ``width`` pixels in ``font`` (greedy, by words)."""
    per_line = max(8, int(width / max(font.getlength("абвгдеabcdef") / 12, 1)))
    return textwrap.wrap(text, per_line) or [text]


def _block(draw: ImageDraw.ImageDraw, lines: list[str], font: ImageFont.FreeTypeFont) -> tuple[int, int]:
    widths = [draw.textlength(line, font=font) for line in lines]
    return int(max(widths)), int(len(lines) * font.size * 1.25)


def compose(text: str, rng: random.Random, style: str | None = None) -> WordPicture:
    style = style or rng.choice(STYLES)
    img = photo(rng).convert("RGB")
    draw = ImageDraw.Draw(img)
    w, h = img.size
    if style == "askew":
        _askew(img, text, rng)
    elif style == "poster":
        pw = int(w * rng.uniform(0.55, 0.95))
        font = _font(rng.choice(FACES), rng.randint(34, 60))
        lines = _wrap(text, font, pw - 40)
        bw, bh = _block(draw, lines, font)
        pw, ph = max(pw, bw + 40), min(h, bh + 50)
        x0, y0 = rng.randint(0, max(0, w - pw)), rng.randint(0, max(0, h - ph))
        dark = rng.random() < 0.5
        panel = (
            tuple(rng.randint(0, 70) for _ in range(3))
            if dark
            else tuple(rng.randint(190, 255) for _ in range(3))
        )
        ink = (245, 240, 230) if dark else rng.choice([(10, 10, 10), (150, 10, 10), (10, 30, 110)])
        draw.rectangle((x0, y0, x0 + pw, y0 + ph), fill=panel)
        for i, line in enumerate(lines):
            draw.text((x0 + 20, y0 + 25 + int(i * font.size * 1.25)), line, font=font, fill=ink)
    elif style == "lower_third":
        font = _font(rng.choice(FACES[:4]), rng.randint(28, 40))
        lines = _wrap(text, font, w - 80)[:3]
        _, bh = _block(draw, lines, font)
        band = Image.new("RGBA", (w, bh + 30), (0, 0, 0, rng.randint(170, 235)))
        top = h - bh - 30 - rng.randint(10, 60)
        img.paste(band, (0, top), band)
        draw = ImageDraw.Draw(img)
        for i, line in enumerate(lines):
            draw.text((40, top + 15 + int(i * font.size * 1.25)), line, font=font, fill=(255, 255, 255))
    else:  # burned_in: subtitles with an outline, straight on the picture
        font = _font(rng.choice(FACES[:4]), rng.randint(30, 44))
        lines = _wrap(text, font, w - 160)[:3]
        _, bh = _block(draw, lines, font)
        top = h - bh - rng.randint(30, 90)
        for i, line in enumerate(lines):
            lw = draw.textlength(line, font=font)
            draw.text(
                ((w - lw) / 2, top + int(i * font.size * 1.25)),
                line,
                font=font,
                fill=(255, 255, rng.choice([255, 120])),
                stroke_width=2,
                stroke_fill=(0, 0, 0),
            )
    quality = rng.randint(70, 90)
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=quality)
    buf.seek(0)
    return WordPicture(Image.open(buf).convert("RGB"), text, style, quality, buf.getvalue())


def _askew(img: Image.Image, text: str, rng: random.Random) -> None:
    """A poster panel with ``text`` on it, turned 3–12 degrees either way, pasted on ``img``."""
    w, h = img.size
    font = _font(rng.choice(FACES), rng.randint(34, 52))
    pw = int(w * rng.uniform(0.5, 0.8))
    draw = ImageDraw.Draw(img)
    lines = _wrap(text, font, pw - 40)
    bw, bh = _block(draw, lines, font)
    dark = rng.random() < 0.5
    panel_colour = (
        (*(rng.randint(0, 70) for _ in range(3)), 255)
        if dark
        else (*(rng.randint(190, 255) for _ in range(3)), 255)
    )
    ink = (245, 240, 230) if dark else rng.choice([(10, 10, 10), (150, 10, 10), (10, 30, 110)])
    panel = Image.new("RGBA", (max(pw, bw + 40), bh + 50), panel_colour)
    pen = ImageDraw.Draw(panel)
    for i, line in enumerate(lines):
        pen.text((20, 25 + int(i * font.size * 1.25)), line, font=font, fill=ink)
    angle = rng.choice((-1, 1)) * rng.uniform(3, 12)
    panel = panel.rotate(angle, Image.Resampling.BICUBIC, expand=True)
    x, y = rng.randint(0, max(0, w - panel.width)), rng.randint(0, max(0, h - panel.height))
    img.paste(panel, (x, y), panel)


def plain(rng: random.Random) -> Image.Image:
    """A photograph with no words on it, re-encoded the same way."""
    buf = io.BytesIO()
    photo(rng).save(buf, "JPEG", quality=rng.randint(70, 90))
    buf.seek(0)
    return Image.open(buf).convert("RGB")
