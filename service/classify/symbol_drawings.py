"""The shipped reference symbols, drawn by code (no logo or picture is copied from anywhere).

Each drawing is a plain geometric construction on a 256 x 256 white canvas: black glyphs for the
flat symbols (Z and V markings, SS sig runes, wolfsangel, swastika, totenkopf) and the five
stripes of the St George ribbon in its own colours (the matcher needs them: the ribbon is
recognised by its orange-and-black silhouette). ``main()`` writes them as PNGs next to
``policies/symbols/symbols.yaml``; ``make`` does not run it, the PNGs are committed. The learned
verifier (``policies/symbols/verifier.json``) records each drawing's SHA-256: a redrawn symbol
falls back to the overlay path until ``python -m service.classify.symbol_train`` runs again.

``written`` and ``brushed`` draw a symbol as other hands would (a letter in a font, strokes with
round ends): training varies the shipped drawings with letters, the bench and the tests measure
the verifier on both.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

SIZE = 256
BLACK = (0, 0, 0)
WHITE = (255, 255, 255)
RIBBON_ORANGE = (240, 120, 0)
RIBBON_BLACK = (20, 20, 20)
DEFAULT_DIR = Path(__file__).resolve().parents[2] / "policies" / "symbols"

Point = tuple[float, float]


def _canvas() -> tuple[Image.Image, ImageDraw.ImageDraw]:
    image = Image.new("RGB", (SIZE, SIZE), WHITE)
    return image, ImageDraw.Draw(image)


def written(letter: str, font: Path, side: int = SIZE, px: int = 210) -> Image.Image:
    """``letter`` in the font at ``font``, ``px`` high, centred on a white ``side`` square."""
    image = Image.new("RGB", (side, side), WHITE)
    face = ImageFont.truetype(str(font), px)
    ImageDraw.Draw(image).text((side / 2, side / 2), letter, font=face, fill=BLACK, anchor="mm")
    return image


def brushed(strokes: Sequence[Sequence[Point]], width: int) -> Image.Image:
    """Polylines ``width`` wide with round joints and round ends, black on the white canvas."""
    image, draw = _canvas()
    r = width / 2
    for points in strokes:
        draw.line(list(points), fill=BLACK, width=width, joint="curve")
        for x, y in (points[0], points[-1]):
            draw.ellipse((x - r, y - r, x + r, y + r), fill=BLACK)
    return image


def _shifted(points: Sequence[Point], dx: float, dy: float) -> list[Point]:
    return [(x + dx, y + dy) for x, y in points]


def _rotated(points: Sequence[Point], degrees: float, centre: Point = (SIZE / 2, SIZE / 2)) -> list[Point]:
    a = math.radians(degrees)
    cx, cy = centre
    return [
        (
            cx + (x - cx) * math.cos(a) - (y - cy) * math.sin(a),
            cy + (x - cx) * math.sin(a) + (y - cy) * math.cos(a),
        )
        for x, y in points
    ]


def draw_z() -> Image.Image:
    """The bold Latin-style Z painted on vehicles: two bars and a thick diagonal."""
    image, draw = _canvas()
    z = [
        (0, 0),
        (200, 0),
        (200, 44),
        (66, 156),
        (200, 156),
        (200, 200),
        (0, 200),
        (0, 156),
        (134, 44),
        (0, 44),
    ]
    draw.polygon(_shifted(z, 28, 28), fill=BLACK)
    return image


def draw_v() -> Image.Image:
    """The V marking: a chevron with thick arms meeting in a flat foot."""
    image, draw = _canvas()
    v = [(0, 0), (54, 0), (100, 138), (146, 0), (200, 0), (126, 200), (74, 200)]
    draw.polygon(_shifted(v, 28, 28), fill=BLACK)
    return image


def _sig_rune(draw: ImageDraw.ImageDraw, x0: float) -> None:
    """One angular sig rune (a lightning-like S) whose box starts at ``x0``."""
    rune = [(62, 0), (100, 0), (62, 88), (96, 108), (38, 216), (0, 216), (38, 128), (4, 108)]
    draw.polygon(_shifted(rune, x0, 20), fill=BLACK)


def draw_ss_runes() -> Image.Image:
    """The SS double sig rune: two runes side by side (two separate strokes)."""
    image, draw = _canvas()
    _sig_rune(draw, 22)
    _sig_rune(draw, 134)
    return image


def draw_wolfsangel() -> Image.Image:
    """The wolfsangel (vertical form): a bar with opposed hooks at the ends and a crossbar."""
    image, draw = _canvas()
    w = 30
    draw.line([(128, 30), (128, 226)], fill=BLACK, width=w)
    draw.line([(128 - 15 + 2, 30), (190, 94)], fill=BLACK, width=w)
    draw.line([(128 + 15 - 2, 226), (66, 162)], fill=BLACK, width=w)
    draw.line([(70, 128), (186, 128)], fill=BLACK, width=w)
    return image


def swastika_points(unit: float) -> list[list[Point]]:
    """The right-facing hooked cross as five rectangles on a 5 x 5 grid of ``unit``, centred."""
    u = unit
    cells = [
        (2, 0, 3, 5),  # vertical beam
        (0, 2, 5, 3),  # horizontal beam
        (3, 0, 5, 1),  # top arm hooks right
        (4, 3, 5, 5),  # right arm hooks down
        (0, 4, 2, 5),  # bottom arm hooks left
        (0, 0, 1, 2),  # left arm hooks up
    ]
    off = SIZE / 2 - 2.5 * u
    return [
        [
            (off + a * u, off + b * u),
            (off + c * u, off + b * u),
            (off + c * u, off + d * u),
            (off + a * u, off + d * u),
        ]
        for a, b, c, d in cells
    ]


def draw_swastika() -> Image.Image:
    """The right-facing swastika in the 45-degree tilted form of the Nazi flag."""
    image, draw = _canvas()
    for rect in swastika_points(34):
        draw.polygon(_rotated(rect, 45), fill=BLACK)
    return image


def draw_totenkopf() -> Image.Image:
    """A skull over crossed bones, one connected silhouette with eye and nose holes."""
    image, draw = _canvas()
    for angle in (35, -35):
        bone = _rotated([(28, 118), (228, 118), (228, 142), (28, 142)], angle)
        draw.polygon(bone, fill=BLACK)
        for end in ((30, 112), (30, 148), (226, 112), (226, 148)):
            (ex, ey) = _rotated([end], angle)[0]
            draw.ellipse((ex - 15, ey - 15, ex + 15, ey + 15), fill=BLACK)
    draw.ellipse((68, 24, 188, 140), fill=BLACK)  # cranium
    draw.rounded_rectangle((90, 110, 166, 176), radius=12, fill=BLACK)  # jaw
    draw.ellipse((88, 70, 122, 104), fill=WHITE)
    draw.ellipse((134, 70, 168, 104), fill=WHITE)
    draw.polygon([(128, 108), (118, 128), (138, 128)], fill=WHITE)
    for x in (106, 122, 138, 154):
        draw.line([(x, 150), (x, 176)], fill=WHITE, width=4)
    return image


def ribbon_path() -> list[Point]:
    """The centre line of a looped ribbon: two tails crossing under a round loop."""
    turns = (math.pi * (0.85 + 1.3 * k / 26) for k in range(27))
    loop = [(128 + 40 * math.cos(t), 80 + 48 * math.sin(t)) for t in turns]
    return [(206, 240), *loop, (50, 240)]


def draw_st_george_ribbon() -> Image.Image:
    """The St George ribbon: three black and two orange stripes along a looped ribbon."""
    image, draw = _canvas()
    path = ribbon_path()
    width = 46
    for k, colour in enumerate((RIBBON_BLACK, RIBBON_ORANGE, RIBBON_BLACK, RIBBON_ORANGE, RIBBON_BLACK)):
        draw.line(path, fill=colour, width=round(width * (1 - k / 5)), joint="curve")
    return image


DRAWINGS: dict[str, Callable[[], Image.Image]] = {
    "z_marking": draw_z,
    "v_marking": draw_v,
    "st_george_ribbon": draw_st_george_ribbon,
    "ss_runes": draw_ss_runes,
    "wolfsangel": draw_wolfsangel,
    "swastika": draw_swastika,
    "totenkopf": draw_totenkopf,
}


def write_all(directory: Path) -> list[Path]:
    """Draw every shipped symbol into ``directory`` as ``<id>.png``; the paths written."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for symbol_id, drawing in DRAWINGS.items():
        path = directory / f"{symbol_id}.png"
        drawing().save(path, optimize=True)
        written.append(path)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else list(argv)
    directory = Path(args[0]) if args else DEFAULT_DIR
    for path in write_all(directory):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
