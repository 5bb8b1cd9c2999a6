"""Synthetic training pictures for the symbol verifier, made by code from the shipped drawings.

Only ``TRAIN_PHOTOS`` (scikit-image photos) are used as backgrounds; ``bench/bench_symbols.py``
and the tests use the others (``HELD_OUT_PHOTOS``), so the bench measures pictures the verifier
never saw. A picture is a photo, a painted surface or a poster over a photo, at a random size
around the matcher's working size. A positive carries one shipped symbol, 4-45 % of the shorter
side, turned by up to 35 degrees, in a random paint of either polarity (the ribbon in its own
colours), up to a quarter hidden by a rectangle or ellipse; any picture may also carry words and
letters in Latin and Cyrillic (Z, V, N, И, Л, W, Y... inside words), crosses, circles, stars,
arrows, zigzags and striped flags (orange-and-black among them). Then blur and JPEG q40-90.

A symbol is painted by many hands, so most positives are not the shipped drawing itself but
``varied``: its strokes thinner or bolder, the shape stretched or sheared, a Z or V written in a
font, the wolfsangel in its horizontal form. Trained on the shipped drawings alone, the verifier
knew those drawings and little else: ``bench/bench_symbols.py --seed 2`` found other hands'
drawings 0.37 of the time (a Z in a serif face 0.03, a brushed V never), 0.66 after. No chevron
is a negative: a chevron is a V.
"""

from __future__ import annotations

import io
import math
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from service.classify.symbol_drawings import written

TRAIN_PHOTOS = (
    "camera", "coins", "grass", "immunohistochemistry", "clock", "moon", "cell", "text", "horse",
    "logo", "microaneurysms", "shepp_logan_phantom", "checkerboard",
)  # fmt: skip
HELD_OUT_PHOTOS = (
    "astronaut", "chelsea", "cat", "coffee", "rocket", "brick", "gravel", "hubble_deep_field",
    "retina", "page", "colorwheel",
)  # fmt: skip
FONTS = Path("/usr/share/fonts/truetype/dejavu")
FONT_NAMES = (
    "DejaVuSans-Bold.ttf", "DejaVuSans.ttf", "DejaVuSerif-Bold.ttf", "DejaVuSansCondensed-Bold.ttf",
    "DejaVuSansMono-Bold.ttf", "DejaVuSerif.ttf", "DejaVuSans-BoldOblique.ttf",
)  # fmt: skip
WORDS = (
    "ZONE", "BUZZ", "FIZZ", "QUIZ", "ZIP", "SIZE", "DOZEN", "WALTZ", "ZAP", "VAN", "LOVE", "NAVY",
    "WAVE", "EVENT", "VOTE", "YES", "WWW", "NEW", "WIN", "NOW", "MAXI", "KINO", "TAXI", "ZAVOD",
    "ИЛИ", "НИЛ", "ЗАВОД", "ВИЗА", "ЛИНИЯ", "ЗНАК", "ИЗ", "ВОЛНА", "ЖИЗНЬ", "ZZ", "VV", "NZ",
    "XYZ", "2025", "54", "42", "K2", "N7", "ZV", "AV", "VZ", "ZAZ", "LV", "OZ",
)  # fmt: skip
LETTERS = (*"YWNXKMAS52473HLTEF", "И", "Л", "Ж", "Ш", "Э", "Я", "Г", "N")
ORANGE = (240, 120, 0)
RGB = tuple[int, int, int]
KEEP_SHAPE = 0.35  # share of positives painted from the shipped drawing as it is
GLYPHS = {"z_marking": "Z", "v_marking": "V"}  # symbols that are letters too: also drawn in a font
TURNED = {"wolfsangel": 90}  # symbols with a second, turned form: the wolfsangel lies horizontal too

_PHOTOS: dict[str, np.ndarray[Any, np.dtype[np.uint8]]] = {}


def photo_array(name: str) -> np.ndarray[Any, np.dtype[np.uint8]]:
    """A scikit-image photo as an RGB uint8 array."""
    if name not in _PHOTOS:
        from skimage import data  # training only

        raw = np.asarray(getattr(data, name)())
        if raw.ndim == 2:
            raw = np.stack([raw] * 3, -1)
        raw = raw[..., :3]
        if raw.dtype != np.uint8:
            raw = raw.astype(np.float32)
            raw = (255 * (raw - raw.min()) / max(1e-6, float(raw.max() - raw.min()))).astype(np.uint8)
        _PHOTOS[name] = raw
    return _PHOTOS[name]


def random_colour(rng: np.random.Generator) -> RGB:
    r, g, b = (int(v) for v in rng.integers(0, 256, 3))
    return r, g, b


def luma(c: tuple[int, ...]) -> float:
    return 0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2]


def contrasting(rng: np.random.Generator, against: float, least: float = 60) -> RGB:
    for _ in range(200):
        c = random_colour(rng)
        if abs(luma(c) - against) >= least:
            return c
    return (0, 0, 0) if against > 127 else (255, 255, 255)


def photo(rng: np.random.Generator, size: tuple[int, int]) -> Image.Image:
    raw = photo_array(str(rng.choice(TRAIN_PHOTOS)))
    h, w = raw.shape[:2]
    crop = rng.uniform(0.4, 1.0)
    ch, cw = max(16, int(h * crop)), max(16, int(w * crop))
    y, x = int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1))
    part = raw[y : y + ch, x : x + cw]
    if rng.random() < 0.5:
        part = part[:, ::-1]
    gain = rng.uniform(0.6, 1.4, 3) * rng.uniform(0.7, 1.3)
    part = np.clip(part.astype(np.float32) * gain + rng.uniform(-40, 40), 0, 255).astype(np.uint8)
    return Image.fromarray(np.ascontiguousarray(part)).resize(size, Image.Resampling.BILINEAR)


def background(
    rng: np.random.Generator, size: tuple[int, int]
) -> tuple[Image.Image, tuple[int, int, int, int]]:
    """A photo, a painted surface, a smooth random texture or a poster over a photo; and the area
    (x, y, w, h) a symbol goes in."""
    w, h = size
    kind = rng.random()
    if kind < 0.55:
        return photo(rng, size), (0, 0, w, h)
    if kind < 0.7:
        small = rng.integers(0, 256, (int(rng.integers(2, 12)), int(rng.integers(2, 12)), 3)).astype(np.uint8)
        tex = Image.fromarray(small).resize(size, Image.Resampling.BICUBIC)
        noise = rng.normal(0, rng.uniform(1, 15), (h, w, 3))
        return Image.fromarray(np.clip(np.asarray(tex) + noise, 0, 255).astype(np.uint8)), (0, 0, w, h)
    surface = np.full((h, w, 3), random_colour(rng), np.float32) + rng.normal(
        0, rng.uniform(2, 12), (h, w, 3)
    )
    img = Image.fromarray(np.clip(surface, 0, 255).astype(np.uint8))
    if kind < 0.85:
        return img, (0, 0, w, h)
    base = photo(rng, size)
    pw, ph = int(w * rng.uniform(0.5, 0.9)), int(h * rng.uniform(0.5, 0.9))
    px, py = int(rng.integers(0, w - pw)), int(rng.integers(0, h - ph))
    base.paste(img.crop((0, 0, pw, ph)), (px, py))
    return base, (px, py, pw, ph)


def _glyph(rng: np.random.Generator, letter: str, side: int) -> Image.Image:
    """``letter`` in a bold face (a marking is painted bold; a thin one comes from thinning)."""
    bold = [name for name in FONT_NAMES if "Bold" in name]
    return written(letter, FONTS / bold[int(rng.integers(len(bold)))], side, int(side * 0.8))


def varied(rng: np.random.Generator, drawing: Image.Image, symbol_id: str) -> Image.Image:
    """The symbol of ``drawing`` (ink on white) as another hand might paint it: the drawing itself
    (``KEEP_SHAPE``), or its strokes thinner or bolder, stretched or sheared, a letter-symbol in a
    font, a turned form. Black on white, at least twice the drawing's size."""
    if rng.random() < KEEP_SHAPE:
        return drawing
    side = max(drawing.size)
    if symbol_id in GLYPHS and rng.random() < 0.3:
        drawing = _glyph(rng, GLYPHS[symbol_id], side)
    elif symbol_id in TURNED and rng.random() < 0.3:
        drawing = drawing.rotate(TURNED[symbol_id], fillcolor=(255, 255, 255))
    ink = (np.asarray(drawing.convert("L")) < 200).astype(np.uint8)
    if rng.random() < 0.6:  # thinner strokes (down to about a third), or bolder
        thinner = rng.random() < 0.7
        r = int(rng.integers(1, 15 if thinner else 9)) * side // 256
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
        changed = np.asarray((cv2.erode if thinner else cv2.dilate)(ink, kernel), np.uint8)
        if changed.sum() >= 0.3 * ink.sum():
            ink = changed
    mask = Image.new("L", (2 * side, 2 * side), 0)
    mask.paste(Image.fromarray(ink * 255), (side // 2, side // 2))
    if rng.random() < 0.5:  # stretched across and sheared, about the centre
        stretch, shear = float(rng.uniform(0.75, 1.33)), float(rng.uniform(-0.25, 0.25))
        c = float(side)
        mask = mask.transform(
            mask.size,
            Image.Transform.AFFINE,
            (1 / stretch, -shear, c - c / stretch + shear * c, 0, 1, 0),
            Image.Resampling.BILINEAR,
        )
    return Image.fromarray(255 - np.asarray(mask)).convert("RGB")


def paint_symbol(
    rng: np.random.Generator,
    img: Image.Image,
    drawing: Image.Image,
    area: tuple[int, int, int, int],
    own: bool,
) -> tuple[tuple[int, int, int, int], float]:
    """Paint a drawing (its non-white pixels) into ``area``; the true box and the polarity (+1
    when the paint is darker than what is under it)."""
    grey = np.asarray(drawing.convert("L"))
    mask = Image.fromarray(((grey < 200) * 255).astype(np.uint8))
    box = mask.getbbox() or (0, 0, 1, 1)
    rgb, mask = drawing.convert("RGB").crop(box), mask.crop(box)
    short = min(img.size)
    side = rng.uniform(0.04, 0.45) * short
    scale = side / max(mask.size)
    dims = (max(2, round(mask.size[0] * scale * rng.uniform(0.9, 1.1))), max(2, round(mask.size[1] * scale)))
    rgb, mask = rgb.resize(dims, Image.Resampling.LANCZOS), mask.resize(dims, Image.Resampling.LANCZOS)
    angle = float(rng.uniform(-35, 35))
    rgb = rgb.rotate(angle, Image.Resampling.BICUBIC, expand=True)
    mask = mask.rotate(angle, Image.Resampling.BICUBIC, expand=True)
    tight = mask.point(lambda v: 255 if v > 100 else 0).getbbox() or (0, 0, *mask.size)
    ax, ay, aw, ah = area
    x = ax + int(rng.integers(0, max(1, aw - mask.size[0])))
    y = ay + int(rng.integers(0, max(1, ah - mask.size[1])))
    under = float(np.asarray(img.crop((x, y, x + mask.size[0], y + mask.size[1])).convert("L")).mean())
    paint = rgb if own else Image.new("RGB", mask.size, contrasting(rng, under, float(rng.uniform(45, 110))))
    img.paste(paint, (x, y), mask)
    inked = float(np.asarray(paint.convert("L"))[np.asarray(mask) > 127].mean())
    truth = (x + tight[0], y + tight[1], tight[2] - tight[0], tight[3] - tight[1])
    occlude(rng, img, mask, (x, y))
    return truth, 1.0 if inked < under else -1.0


def occlude(rng: np.random.Generator, img: Image.Image, mask: Image.Image, at: tuple[int, int]) -> None:
    """Hide 0-25 % of the symbol's pixels under a rectangle or ellipse of a random colour."""
    target = rng.uniform(0, 0.25)
    if target < 0.03:
        return
    ink = np.asarray(mask) > 127
    total = max(1, int(ink.sum()))
    mw, mh = mask.size
    for _ in range(20):
        cover = Image.new("L", mask.size, 0)
        r = rng.uniform(0.1, 0.6) * max(mw, mh)
        cx, cy = rng.uniform(-0.1, 1.1) * mw, rng.uniform(-0.1, 1.1) * mh
        draw = ImageDraw.Draw(cover)
        shape = (cx - r, cy - r * rng.uniform(0.3, 1), cx + r, cy + r * rng.uniform(0.3, 1))
        (draw.ellipse if rng.random() < 0.5 else draw.rectangle)(shape, fill=255)
        hidden = float((ink & (np.asarray(cover) > 0)).sum()) / total
        if 0.4 * target <= hidden <= 0.25:
            big = Image.new("L", img.size, 0)
            big.paste(cover, at)
            img.paste(Image.new("RGB", img.size, random_colour(rng)), (0, 0), big)
            return


def _text(rng: np.random.Generator, short: int, text: str, ink: RGB) -> Image.Image:
    font = ImageFont.truetype(
        str(FONTS / FONT_NAMES[int(rng.integers(len(FONT_NAMES)))]), int(rng.uniform(0.04, 0.3) * short)
    )
    left, top, right, bottom = font.getbbox(text)
    layer = Image.new("RGBA", (int(right - left) + 8, int(bottom - top) + 8), (0, 0, 0, 0))
    ImageDraw.Draw(layer).text((4 - int(left), 4 - int(top)), text, font=font, fill=(*ink, 255))
    return layer


def _figure(rng: np.random.Generator, short: int, ink: RGB) -> Image.Image:
    """A cross, plus, circle, star, arrow, zigzag or striped flag, 4-45 % of the shorter side."""
    s = int(rng.uniform(0.04, 0.45) * short) + 4
    layer = Image.new("RGBA", (s + 4, s + 4), (0, 0, 0, 0))
    d = ImageDraw.Draw(layer)
    fill, kind, t = (*ink, 255), int(rng.integers(9)), max(2, int(s * rng.uniform(0.1, 0.25)))
    c = s / 2 + 2
    if kind == 0:
        off = s * rng.uniform(-0.25, 0.0)
        d.rectangle((c - t / 2, 2, c + t / 2, s + 2), fill=fill)
        d.rectangle((2, c - t / 2 + off, s + 2, c + t / 2 + off), fill=fill)
    elif kind == 1:
        d.ellipse((2, 2, s + 2, s + 2), fill=fill if rng.random() < 0.4 else None, outline=fill, width=t)
    elif kind == 2:
        spikes = int(rng.integers(4, 9))
        pts = [
            (c + c * (1 if k % 2 == 0 else 0.45) * math.sin(k * math.pi / spikes),
             c - c * (1 if k % 2 == 0 else 0.45) * math.cos(k * math.pi / spikes))
            for k in range(2 * spikes)
        ]  # fmt: skip
        d.polygon(pts, fill=fill)
    elif kind == 3:
        d.rectangle((2, c - t / 2, s * 0.6, c + t / 2), fill=fill)
        d.polygon([(s * 0.55, 2 + s * 0.2), (s + 2, c), (s * 0.55, s - s * 0.2 + 2)], fill=fill)
    elif kind == 4:
        d.line([(2, 2), (s, s)], fill=fill, width=t)
        d.line([(2, s), (s, 2)], fill=fill, width=t)
    elif kind == 5:  # lightning-like zigzag
        d.line([(2, 2), (s, c * 0.7), (2, c * 1.3), (s, s)], fill=fill, width=t, joint="curve")
    else:
        fh = int(s * rng.uniform(0.4, 0.8))
        layer = Image.new("RGBA", (s + 4, fh + 4), (0, 0, 0, 0))
        d = ImageDraw.Draw(layer)
        pairs = ((ORANGE, (20, 20, 20)), (ORANGE, (250, 250, 250)), (ink, (250, 250, 250)), (ORANGE, ink))
        a, b = pairs[int(rng.integers(len(pairs)))]
        stripes = int(rng.integers(2, 8))
        band = fh / stripes
        for k in range(stripes):
            d.rectangle((2, 2 + k * band, s + 2, 2 + (k + 1) * band), fill=(*(a if k % 2 == 0 else b), 255))
        if kind == 8:
            d.rectangle((2 + s * 0.3, 2, 2 + s * 0.42, fh + 2), fill=(*ink, 255))
    return layer


def clutter(rng: np.random.Generator, img: Image.Image, count: int) -> list[tuple[int, int, int, int]]:
    """Stamp ``count`` words, letters or figures turned by up to 35 degrees; their ink's boxes."""
    short = min(img.size)
    stamped = []
    for _ in range(count):
        ink = contrasting(rng, float(np.asarray(img.convert("L")).mean()), 50)
        pick = rng.random()
        if pick < 0.4:
            layer = _text(rng, short, str(rng.choice(WORDS)), ink)
        elif pick < 0.65:
            layer = _text(rng, short, str(rng.choice(LETTERS)), ink)
        else:
            layer = _figure(rng, short, ink)
        layer = layer.rotate(float(rng.uniform(-35, 35)), Image.Resampling.BICUBIC, expand=True)
        w, h = img.size
        x = int(rng.integers(0, max(1, w - layer.size[0])))
        y = int(rng.integers(0, max(1, h - layer.size[1])))
        img.paste(layer, (x, y), layer)
        drawn = layer.getchannel("A").point(lambda v: 255 if v > 100 else 0).getbbox()
        if drawn is not None:
            stamped.append((x + drawn[0], y + drawn[1], drawn[2] - drawn[0], drawn[3] - drawn[1]))
    return stamped


def finish(rng: np.random.Generator, img: Image.Image) -> Image.Image:
    """Blur sometimes, then JPEG q40-90."""
    if rng.random() < 0.3:
        img = img.filter(ImageFilter.GaussianBlur(float(rng.uniform(0.4, 1.3))))
    buf = io.BytesIO()
    img.convert("RGB").save(buf, "JPEG", quality=int(rng.integers(40, 91)))
    buf.seek(0)
    with Image.open(buf) as out:
        return out.convert("RGB")
