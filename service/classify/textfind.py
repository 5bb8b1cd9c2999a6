"""Where a picture has printed words: a cheap pass that decides what, if anything, OCR reads.

Reading a whole photograph with Tesseract costs 150–250 ms and mostly fails: the page
segmenter takes the photograph's texture for layout and returns nothing (a slogan in white
letters over a photo reads as ""). So lines of text are found first, by the trait printed words
share whatever the script: many short, strong, evenly spaced edges in a horizontal band.

1. The picture, in grey, at most ``WORK_SIDE`` pixels on its long side.
2. Its morphological gradient (edges of letters, either polarity), thresholded at a fixed
   contrast: faint texture (grass, skin, sky noise) stays below it.
3. A horizontal closing joins the letters of a word and the words of a line into one blob; each
   blob whose shape is a line (wider than tall, letter-high, edge density of letters) is a
   candidate, and blobs on one line are merged.
4. Each candidate is checked for letters: the edges inside must change direction often along the
   line (letters are stroke, gap, stroke), which a single long edge, a horizon or a cable is not.
5. The blobs with no level row of letters in them, and long blobs too sparse in edges for a level
   line, go to ``textslant``: a poster or a sign photographed askew has its lines at a slant,
   found by their slant and cut out level for the reader (the box then carries the angle).

The result is a list of boxes in the original picture's pixels, most letter-like first. A photo
with no words costs a few milliseconds and gives no box, so OCR is skipped for it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image

from service.classify import textslant

WORK_SIDE = 960  # letters 12 px and up on a 1 MP picture stay at least 10 px tall
EDGE_CONTRASTS = (120, 48)  # grey levels across a letter's edge: outlined captions, then print
MIN_LETTERS = 3  # pieces of letter size on one line before a box counts as words
MIN_HEIGHT = 9  # a line lower than this (working pixels) cannot be read anyway
MAX_LINES = 12  # beyond this a picture is a page of text: the most letter-like lines are read
# The tallest blob that can still be lines, as a share of the picture's height: three lines of a
# caption in outlined letters close into one blob with what they cross (a tripod's legs, a coat),
# which ``_rows`` then cuts into its lines. At 0.3 such a blob was dropped and the caption never
# read: on 900 training lines printed on photographs (seed 11), 4 pictures had no line found at
# 0.3 and 2 at 0.4, 0.45 and 0.5; 53 of 300 photographs without words had a line found at both.
TALLEST = 0.4
# A line at a slant of 5 degrees or more fills only part of its upright box: a long blob with
# this much edge density at least, too little for a level line, is looked at for a slant.
SPARSE = 0.04


Blob = tuple[int, int, int, int]  # x, y, width, height in working pixels
Found = tuple[float, float, float, float, float]  # a line's upright box (working pixels), its score


@dataclass(frozen=True, slots=True)
class TextBox:
    """A line of print: its box on the picture (x, y, w, h, upright), and for a line that runs at
    a slant, the angle that levels it and the levelled line's length and height around the box's
    centre (``line_crop`` cuts it out level)."""

    x: int
    y: int
    w: int
    h: int
    score: float  # how letter-like the box is (transitions per letter height, clipped to 1)
    angle: float = 0.0  # degrees, counter-clockwise, that level the line (0: printed level)
    level: tuple[float, float] = (0.0, 0.0)  # the levelled line's length and height

    def scaled(self, fx: float, fy: float) -> TextBox:
        """The same line on the picture scaled by ``fx``, ``fy`` (the same both ways for a slant)."""
        return TextBox(
            int(self.x * fx),
            int(self.y * fy),
            math.ceil(self.w * fx),
            math.ceil(self.h * fy),
            self.score,
            self.angle,
            (self.level[0] * fx, self.level[1] * fy),
        )


def grey_array(image: Image.Image) -> np.ndarray:
    """The picture as an 8-bit grey array (alpha over white, palettes expanded)."""
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        flat = Image.new("RGBA", image.size, (255, 255, 255, 255))
        flat.alpha_composite(image.convert("RGBA"))
        image = flat
    return np.asarray(image.convert("L"))


def find_text(image: Image.Image) -> list[TextBox]:
    """Boxes of printed lines in ``image`` (original pixel coordinates), most letter-like first."""
    grey = grey_array(image)
    h, w = grey.shape[:2]
    if min(h, w) < MIN_HEIGHT:
        return []
    scale = min(1.0, WORK_SIDE / max(h, w))
    small = cv2.resize(
        grey,
        (max(1, round(w * scale)), max(1, round(h * scale))),
        interpolation=cv2.INTER_LINEAR if scale > 0.5 else cv2.INTER_AREA,
    )
    grad = cv2.morphologyEx(small, cv2.MORPH_GRADIENT, cv2.getStructuringElement(cv2.MORPH_RECT, (3, 3)))
    found: list[tuple[int, int, int, int, float]] = []
    slanted: list[textslant.Slanted] = []  # in working pixels
    for contrast in EDGE_CONTRASTS:  # legible print is strong; strong edges alone also free
        edges = (grad >= contrast).astype(np.uint8)  # letters over a busy photo from its texture
        lines, unread, glyphs, joined = _line_blobs(edges)  # unread: blobs with no level row
        for x0, y0, bw0, height in _merge_lines(lines):
            level = len(found)
            for y, bh in _rows(edges[y0 : y0 + height, x0 : x0 + bw0], y0):
                score = _letter_score(small[y : y + bh, x0 : x0 + bw0])
                if score <= 0:
                    continue
                # a line of letters: widened over one-letter words at its ends, where it still
                # reads as letters with them
                x, bw = _with_lone_letters((x0, y, bw0, bh), glyphs, edges)
                wider = _letter_score(small[y : y + bh, x : x + bw]) if bw != bw0 else 0.0
                if wider <= 0:
                    x, bw, wider = x0, bw0, score
                found.append((x, y, bw, bh, wider))
            if len(found) == level:
                unread.append((x0, y0, bw0, height))
        # lines printed at a slant (a poster photographed askew), found by their slant
        slanted += textslant.slanted_lines(small, joined, unread, contrast, rows=_rows, score=_letter_score)
    found.sort(key=lambda f: -f[4])
    kept: list[tuple[int, int, int, int, float]] = []
    for f in found:  # one line found twice (both contrasts, or with a panel's edge): the best
        if not any(_same_line(f, k) for k in kept):
            kept.append(f)
    boxes: list[tuple[Found, TextBox]]
    boxes = [(f, _upright(f, scale)) for f in kept]
    for line in sorted(slanted, key=lambda t: -t[2]):  # a line found whole before its parts
        upright = textslant.upright(line)
        if not any(_same_line(upright, k) for k, _ in boxes):
            boxes.append((upright, _slanted_box(line, scale)))
    boxes.sort(key=lambda fb: -fb[0][4])
    return [box for _, box in boxes[:MAX_LINES]]


def _upright(f: Found, scale: float) -> TextBox:
    return TextBox(round(f[0] / scale), round(f[1] / scale), round(f[2] / scale), round(f[3] / scale), f[4])


def _slanted_box(line: textslant.Slanted, scale: float) -> TextBox:
    """A slanted line (working pixels) as a box on the picture: its upright box, its angle and its
    levelled length and height."""
    x, y, w, h, score = textslant.upright(line)
    return TextBox(
        round(x / scale),
        round(y / scale),
        math.ceil(w / scale),
        math.ceil(h / scale),
        score,
        line[4],
        (line[2] / scale, line[3] / scale),
    )


def _line_blobs(edges: np.ndarray) -> tuple[list[Blob], list[Blob], np.ndarray, np.ndarray]:
    """Blobs of edges closed along the line that have a line's shape and letters' edge density,
    and (unchecked, as rows of x, y, width, height) those of one letter's shape: a word of one
    letter ("Z", "2", "—"), which only joins a line beside it (``_with_lone_letters``). Beside
    them, for ``textslant``: the long blobs too sparse in edges for a level line (a line at a
    slant fills a fraction of its upright box) and the closed edges themselves."""
    joined = cv2.morphologyEx(edges, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (15, 3)))
    # Blobs are labelled at half size (a quarter of the pixels: labelling is the costly step on a
    # textured photograph); a line of text is still several pixels tall there.
    h, w = joined.shape
    half = cv2.resize(joined, (max(1, w // 2), max(1, h // 2)), interpolation=cv2.INTER_AREA)
    count, _, stats, _ = cv2.connectedComponentsWithStats((half > 0).astype(np.uint8), connectivity=8)
    blobs = stats[1:count].copy()
    blobs[:, :4] *= 2
    blobs[:, 2] = np.minimum(blobs[:, 2], w - blobs[:, 0])
    blobs[:, 3] = np.minimum(blobs[:, 3], h - blobs[:, 1])
    # a photograph's texture makes thousands of blobs: filter them all at once
    tall = (blobs[:, 3] >= MIN_HEIGHT) & (blobs[:, 3] <= edges.shape[0] * TALLEST)
    shaped = tall & (blobs[:, 2] >= 1.5 * blobs[:, 3])
    single = tall & (blobs[:, 2] < 1.5 * blobs[:, 3]) & (blobs[:, 2] >= 0.3 * blobs[:, 3])
    out: list[Blob] = []
    sparse: list[Blob] = []
    for x, y, bw, bh, _area in blobs[shaped]:
        region = edges[y : y + bh, x : x + bw]
        if _lettery(region):
            out.append((int(x), int(y), int(bw), int(bh)))
        elif bw >= 6 * MIN_HEIGHT and float(region.mean()) >= SPARSE:
            sparse.append((int(x), int(y), int(bw), int(bh)))
    return out, sparse, blobs[single, :4], joined


def _lettery(edges: np.ndarray) -> bool:
    """Edge density of letters: a blob of a photograph's texture is sparser or solid."""
    return 0.12 <= float(edges.mean()) <= 0.75


def _with_lone_letters(line: Blob, glyphs: np.ndarray, edges: np.ndarray) -> tuple[int, int]:
    """The line's ``(x, width)`` widened over the one-letter words at its ends (a Z after a
    slogan, a 2 before a word), which are too narrow to be found as lines: a letter-high blob on
    the line's band within two letter heights of it. A blob of one letter's size alone is never
    a line, and a line is only widened once its own letters were found."""
    x, y, w, h = line
    gy, gh = glyphs[:, 1], glyphs[:, 3]
    overlap = np.minimum(y + h, gy + gh) - np.maximum(y, gy)
    beside = glyphs[(overlap > 0.6 * gh) & (gh <= 1.5 * h)]  # on the line's band, letter-high
    grown = len(beside) > 0
    while grown:
        grown = False
        for gx, gy0, gw, gh0 in beside:
            gap = max(gx - (x + w), x - (gx + gw))
            if 0 <= gap < 2 * gh0 and _lettery(edges[gy0 : gy0 + gh0, gx : gx + gw]):
                nx = min(x, int(gx))
                x, w = nx, max(x + w, int(gx + gw)) - nx
                grown = True
    return x, w


def _rows(edges: np.ndarray, top: int) -> list[tuple[int, int]]:
    """A blob cut into its lines of text where its rows run almost free of edges (two or three
    lines of a caption or poster often close into one blob): ``(y, height)`` pairs, each line
    widened into the gaps beside it so capitals and descenders stay whole."""
    profile = edges.sum(axis=1).astype(np.float64)
    h = len(profile)
    if h < 2.5 * MIN_HEIGHT or profile.max() <= 0:
        return [(top, h)]
    busy = np.flatnonzero(profile > 0.12 * profile.max())
    runs = np.split(busy, np.flatnonzero(np.diff(busy) > 1) + 1)
    spans = [(int(r[0]), int(r[-1]) + 1) for r in runs if len(r) and r[-1] + 1 - r[0] >= MIN_HEIGHT]
    if not spans:
        return [(top, h)]
    rows = []
    for i, (a, b) in enumerate(spans):
        margin = round(0.3 * (b - a))
        above = max((spans[i - 1][1] + a) // 2 if i else 0, a - margin)
        below = min((b + spans[i + 1][0]) // 2 if i + 1 < len(spans) else h, b + margin)
        rows.append((top + above, below - above))
    return rows


def _same_line(a: Found, b: Found) -> bool:
    """Boxes that overlap over most of the smaller one's height and width."""
    ix = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
    iy = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
    return ix > 0.6 * min(a[2], b[2]) and iy > 0.6 * min(a[3], b[3])


def _merge_lines(boxes: list[Blob]) -> list[Blob]:
    """Blobs that share a line (overlap most of their height, gap under two letter heights)."""
    merged: list[Blob] = []
    for bx, by, bw, bh in sorted(boxes):
        for i, (x, y, w, h) in enumerate(merged):
            overlap = min(y + h, by + bh) - max(y, by)
            near = bx - (x + w) < 2 * max(h, bh)
            if overlap > 0.5 * min(h, bh) and near and max(h, bh) < 2 * min(h, bh):
                nx, ny = min(x, bx), min(y, by)
                merged[i] = (nx, ny, max(x + w, bx + bw) - nx, max(y + h, by + bh) - ny)
                break
        else:
            merged.append((bx, by, bw, bh))
    return merged


def _letter_score(box: np.ndarray) -> float:
    return letters(box)[0]


def letters(box: np.ndarray, *, local: bool = False) -> tuple[float, np.ndarray | None]:
    """How much the box looks like a row of letters (0 when it does not), and the letters alone.

    Split into ink and ground (either polarity), its pieces must include at least
    ``MIN_LETTERS`` of a letter's size and shape, of similar height, standing on one line and
    covering a fair part of the row. Gravel, grass and cables fail on the sizes or on the line.
    The score is the share of the row's width the letters cover; the mask (0 ink on 255 ground)
    keeps the letters and the small marks in their band (dots, commas, accents) and drops the
    photograph around them, which is what lets a caption printed straight on a picture be read.
    ``local``: the box is a cut-out line with a margin around it, so letters are a smaller
    share of its height.
    """
    bh, bw = box.shape[:2]
    if bh < MIN_HEIGHT or bw < MIN_HEIGHT:
        return 0.0, None
    otsu, light = cv2.threshold(box, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    best: tuple[float, np.ndarray | None] = (0.0, None)
    for is_light, ink in ((True, light), (False, 255 - light)):
        count, labels, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
        parts = stats[1:count]
        glyph = (
            (parts[:, 3] >= (0.18 if local else 0.3) * bh)  # a cut-out line has a margin
            & (parts[:, 3] <= 0.95 * bh)
            & (parts[:, 2] <= 1.6 * parts[:, 3])
            & (parts[:, 4] >= 0.12 * parts[:, 2] * parts[:, 3])
            & (parts[:, 4] >= 6)
        )
        if int(glyph.sum()) < MIN_LETTERS:
            continue
        typical = float(np.median(parts[glyph, 3]))
        similar = glyph & (np.abs(parts[:, 3] - typical) <= 0.3 * typical)
        if int(similar.sum()) < MIN_LETTERS:
            continue
        tops = parts[similar, 1].astype(np.float64)
        bottoms = tops + parts[similar, 3]
        spread = min(_mad(tops), _mad(bottoms))
        cover = float(parts[similar, 2].sum()) / bw
        if spread > 0.12 * typical or cover < 0.2 or cover <= best[0]:
            continue
        # The letters' own ink level: split again halfway between it and Otsu's, so the ground
        # next to an outlined letter (bright gravel beside a white caption) falls away from it.
        level = float(np.median(box[np.isin(labels, np.flatnonzero(similar) + 1)]))
        cut = (float(otsu) + level) / 2
        ink = ((box > cut) if is_light else (box < cut)).astype(np.uint8) * 255
        band = (float(np.median(tops)) - 0.7 * typical, float(np.median(bottoms)) + 0.55 * typical)
        best = (min(cover, 1.0), _letters_mask(ink, band, typical))
    return best


def _letters_mask(ink: np.ndarray, band: tuple[float, float], typical: float) -> np.ndarray:
    """Pieces of ``ink`` inside the letters' band (capitals, accents and descenders included),
    no larger than a letter: dark on white."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    parts = stats[1:count]
    keep = (
        (parts[:, 1] >= band[0])
        & (parts[:, 1] + parts[:, 3] <= band[1])
        & (parts[:, 3] <= 1.7 * typical)
        & (parts[:, 2] <= 3 * typical)
    )
    lookup = np.full(count, 255, dtype=np.uint8)
    lookup[1:][keep] = 0
    mask: np.ndarray = lookup[labels]
    return mask


def _mad(values: np.ndarray) -> float:
    return float(np.median(np.abs(values - np.median(values))))
