"""Procedural test pictures (gradients, shapes, text) and the edits a re-upload goes through."""

from __future__ import annotations

import io
import random

from PIL import Image, ImageDraw, ImageOps


def scene(seed: int, size: tuple[int, int] = (640, 480)) -> Image.Image:
    """A distinct picture per seed: a two-colour gradient, a few shapes and a line of text."""
    rnd = random.Random(seed)
    w, h = size
    a = [rnd.randrange(256) for _ in range(3)]
    b = [rnd.randrange(256) for _ in range(3)]
    horizontal = rnd.random() < 0.5
    img = Image.new("RGB", size)
    px = img.load()
    assert px is not None
    span = w if horizontal else h
    line = [tuple(int(a[c] + (b[c] - a[c]) * i / span) for c in range(3)) for i in range(span)]
    for y in range(h):
        for x in range(w):
            px[x, y] = line[x if horizontal else y]
    draw = ImageDraw.Draw(img)
    for _ in range(rnd.randrange(10, 16)):
        x0, y0 = rnd.randrange(w - 60), rnd.randrange(h - 60)
        x1, y1 = x0 + rnd.randrange(40, w // 2), y0 + rnd.randrange(40, h // 2)
        colour = tuple(rnd.randrange(256) for _ in range(3))
        shape = rnd.choice(("rect", "ellipse", "line"))
        if shape == "rect":
            draw.rectangle((x0, y0, x1, y1), fill=colour)
        elif shape == "ellipse":
            draw.ellipse((x0, y0, x1, y1), fill=colour)
        else:
            draw.line((x0, y0, x1, y1), fill=colour, width=rnd.randrange(4, 16))
    draw.text((rnd.randrange(w // 2), rnd.randrange(h - 20)), f"scene {seed}", fill=(255, 255, 255))
    return img


def jpeg(img: Image.Image, quality: int = 70) -> Image.Image:
    buf = io.BytesIO()
    img.convert("RGB").save(buf, "JPEG", quality=quality)
    buf.seek(0)
    return Image.open(buf).convert("RGB")


def resized(img: Image.Image, factor: float = 0.5) -> Image.Image:
    return img.resize((int(img.width * factor), int(img.height * factor)), Image.Resampling.LANCZOS)


def grayscale(img: Image.Image) -> Image.Image:
    return ImageOps.grayscale(img).convert("RGB")


def flipped(img: Image.Image) -> Image.Image:
    return ImageOps.mirror(img)


def rotated(img: Image.Image) -> Image.Image:
    return img.transpose(Image.Transpose.ROTATE_90)


EDITS = {
    "jpeg_q70": jpeg,
    "resized_half": resized,
    "grayscale": grayscale,
    "flipped": flipped,
    "rotated_90": rotated,
    "jpeg_resized_gray": lambda i: jpeg(grayscale(resized(i, 0.6))),
}


def flat(size: tuple[int, int] = (320, 240)) -> Image.Image:
    return Image.new("RGB", size, (128, 128, 128))
