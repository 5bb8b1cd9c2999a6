"""Lines of print that run at a slant: a poster, a placard or a sign photographed askew.

The line finder (``textfind``) closes edges along the horizontal and cuts level rows; a line
turned by a few degrees leaves it slanted blobs (a word or a phrase each, or a poster's close-set
lines closed up into one) with no level row of letters in them. Those blobs come here:

1. each blob's closed edges give a middle, a slant and a length and height: the principal axis of
   their pixels and their spread along and across it (for a likely seed, of its largest piece);
2. a piece that runs at ``SLANT`` degrees, ``SEED`` times longer than high and at least
   ``LOWEST`` of the picture high, seeds a line (the ``SEEDS`` longest); its slant is refitted
   through the middles of the pieces on its line (within ``BESIDE`` heights of it, of about its
   height, ``GAP`` heights apart at most), as one word's slant is a degree off over a line;
3. the seed is cut out level (``level_cut``) and cut into its rows like a level blob; each row
   that reads as letters is followed along its slant for as long as its edges go on, but no
   further than the pieces lying across it reach (not on into the texture beside a poster);
4. the row's slant is corrected from where its edges sit at either end (``CORRECTED`` degrees at
   most) and it is followed again; the lines above and below it, a line's spacing apart
   (``SPACINGS``), are followed the same way, for as long as there are more (such a line may be
   as short as ``BESIDE_A_LINE`` heights: a paragraph's last line is often a word or two).

A photograph's texture cut out level now and then passes for letters, so a slanted line must be
``LONG`` times longer than high, no taller than ``TALLEST`` of the picture's shorter side, and
its letters must cover ``COVER`` of it: on 300 photographs without words 55 had a line found
against 54 before (``bench/RESULTS.md``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import cv2
import numpy as np

SLANT = (2.0, 25.0)  # degrees either way
LONG = 3.8  # a slanted line is at least this many times longer than high
SEED = 2.5  # a piece this many times longer than high, at least, seeds a line
SEEDS = 12  # the longest seeds of a picture that are followed
CORRECTED = 1.5  # degrees: the most a line's slant is corrected by from its ends
MAX_PARAGRAPH = 8  # lines followed above and below a slanted line, each way
BESIDE_A_LINE = 2.0  # a line beside one found, at its slant and spacing, may be this short
SPACINGS = (1.0, 1.15, 1.3)  # from one line's middle to the next, in line heights
LOWEST = 0.012  # of the picture's shorter side: 9 of 720 working pixels, the line finder's least
TALLEST = 0.15  # of the picture's shorter side: taller is a photograph's texture
COVER = 0.4  # the share of a slanted line its letters cover, at least
GAP = 1.5  # a gap along a line wider than this many of its heights ends it
BESIDE = 0.5  # a piece joins a line when its middle is this many heights from it, at most
HEIGHTS = (0.5, 2.0)  # a piece joins a line of about its height

Blob = tuple[int, int, int, int]  # x, y, width, height in working pixels
Slanted = tuple[float, float, float, float, float, float]  # mid x, mid y, length, height, angle, score


@dataclass(frozen=True, slots=True)
class _Piece:
    x: float  # middle, working pixels
    y: float
    angle: float  # degrees: positive descends to the right
    long: float  # extent along the axis and across it (as a band of even width would have)
    high: float


def level_cut(
    grey: np.ndarray, centre: tuple[float, float], length: float, height: float, angle: float
) -> np.ndarray:
    """The ``length`` × ``height`` rectangle centred on ``centre`` whose long side runs at ``angle``
    degrees (positive: descending to the right), cut out level; the picture's edge is repeated
    where the rectangle leaves it."""
    matrix = cv2.getRotationMatrix2D(centre, angle, 1.0)
    matrix[0, 2] += length / 2 - centre[0]
    matrix[1, 2] += height / 2 - centre[1]
    size = (max(1, round(length)), max(1, round(height)))
    return np.asarray(
        cv2.warpAffine(grey, matrix, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE), np.uint8
    )


def _edges(grey: np.ndarray, contrast: int) -> np.ndarray:
    """0/1 mask of the letters' edges: the morphological gradient at ``contrast``, as the line
    finder takes it."""
    grad = cv2.morphologyEx(grey, cv2.MORPH_GRADIENT, cv2.getStructuringElement(cv2.MORPH_RECT, (3, 3)))
    return (grad >= contrast).astype(np.uint8)


def _axis(xx: float, xy: float, yy: float) -> float:
    """The angle in degrees of the principal axis of a spread with these second moments."""
    return math.degrees(0.5 * math.atan2(2 * xy, xx - yy))


def upright(line: Slanted) -> tuple[float, float, float, float, float]:
    """A slanted line's upright box on the working picture (x, y, w, h) and its score."""
    cx, cy, long, high, angle, score = line
    rad = math.radians(angle)
    ex = abs(long / 2 * math.cos(rad)) + abs(high / 2 * math.sin(rad))
    ey = abs(long / 2 * math.sin(rad)) + abs(high / 2 * math.cos(rad))
    return cx - ex, cy - ey, 2 * ex, 2 * ey, score


def _piece(joined: np.ndarray, blob: Blob, *, largest: bool = False) -> _Piece | None:
    """The axis, middle and extent of the closed edges in ``blob``, or (``largest``) of their
    largest piece alone."""
    x0, y0, bw, bh = blob
    region = joined[y0 : y0 + bh, x0 : x0 + bw]
    if largest:
        count, labels, stats, _ = cv2.connectedComponentsWithStats(region, connectivity=8)
        if count < 2:
            return None
        region = (labels == 1 + int(np.argmax(stats[1:, 4]))).astype(np.uint8)
    m = cv2.moments(region, binaryImage=True)
    if m["m00"] == 0:
        return None
    a, b, c = m["mu20"] / m["m00"], m["mu11"] / m["m00"], m["mu02"] / m["m00"]
    spread = math.hypot(a - c, 2 * b)
    along, across = (a + c + spread) / 2, max(0.0, (a + c - spread) / 2)
    return _Piece(
        x=x0 + m["m10"] / m["m00"],
        y=y0 + m["m01"] / m["m00"],
        angle=_axis(a, b, c),
        long=math.sqrt(12 * along),  # a band of even width w has variance w² / 12 across it
        high=math.sqrt(12 * across),
    )


def _seed(piece: _Piece | None, low: float) -> bool:
    return (
        piece is not None
        and SLANT[0] <= abs(piece.angle) <= SLANT[1]
        and piece.long >= SEED * piece.high >= SEED * low
    )


def slanted_lines(
    small: np.ndarray,
    joined: np.ndarray,
    blobs: Sequence[Blob],
    contrast: int,
    *,
    rows: Callable[[np.ndarray, int], list[tuple[int, int]]],
    score: Callable[[np.ndarray], float],
) -> list[Slanted]:
    """Slanted lines of letters made of ``blobs`` (blobs of ``joined``, closed edges at
    ``contrast``, that hold no level row of letters), in working pixels; ``rows`` cuts a level
    band into its rows of edges and ``score`` says how much a level row looks like letters."""
    low = LOWEST * min(small.shape[:2])  # a seed lower than this holds no legible row
    pieces: list[_Piece] = []
    seeds: list[_Piece] = []
    for blob in blobs:  # the whole blob's edges first (cheap); a likely seed's largest piece
        piece = _piece(joined, blob)
        if piece is None or piece.high < 1.0:
            continue
        if abs(piece.angle) <= 2 * SLANT[1] and piece.high >= low:
            exact = _piece(joined, blob, largest=True)
            if exact is not None and _seed(exact, low):
                piece = exact
                seeds.append(exact)
        pieces.append(piece)
    seeds = sorted(seeds, key=lambda p: -p.long)[:SEEDS]
    used: set[int] = set()
    out: list[Slanted] = []
    tallest = TALLEST * min(small.shape[:2])
    for seed in seeds:
        if id(seed) in used:
            continue
        angle = _slant_of(seed, pieces)
        rad = math.radians(angle)
        cos, sin = math.cos(rad), math.sin(rad)
        pad = 0.3 * seed.high
        band = level_cut(small, (seed.x, seed.y), seed.long + 2 * pad, seed.high + 2 * pad, angle)
        for y, h in rows(_edges(band, contrast), 0):
            if h > tallest or score(band[y : y + h]) < COVER:  # the seed's own row: letters?
                continue
            off = y + h / 2 - band.shape[0] / 2  # the row's middle across the band
            row = _Row((seed.x - off * sin, seed.y + off * cos), h, angle)
            line = _followed(small, row, pieces, contrast, score)
            if line is None:
                continue
            for found in [line, *_paragraph(small, line, pieces, contrast, score)]:
                out.append(found)
                used.update(id(p) for p in _on_row(_Row(found[:2], h, found[4]), pieces)[1])
    return out


def _paragraph(
    small: np.ndarray,
    line: Slanted,
    pieces: Sequence[_Piece],
    contrast: int,
    score: Callable[[np.ndarray], float],
) -> list[Slanted]:
    """The lines above and below ``line`` at its slant, one line's spacing apart, for as long as
    there are more: a poster's lines set close close up into one blob with their neighbours,
    so most of them seed nothing of their own."""
    out: list[Slanted] = []
    for way in (-1, 1):
        x, y, _, h, angle, _ = line
        for _ in range(MAX_PARAGRAPH):
            rad = math.radians(angle)
            best: Slanted | None = None
            for spacing in SPACINGS:
                step = way * spacing * h
                row = _Row((x - step * math.sin(rad), y + step * math.cos(rad)), round(h), angle)
                got = _followed(small, row, pieces, contrast, score, BESIDE_A_LINE)
                if got is not None and (best is None or got[5] > best[5]):
                    best = got
            if best is None:
                break
            out.append(best)
            x, y, _, h, angle, _ = best
    return out


@dataclass(frozen=True, slots=True)
class _Row:
    centre: tuple[float, float]
    h: int
    angle: float


def _on_row(row: _Row, pieces: Sequence[_Piece]) -> tuple[tuple[float, float], list[_Piece]]:
    """How far along the row, from its centre, the pieces that lie across it reach (chained while
    the gaps are under ``GAP`` heights), and those pieces: a line can be followed that far and
    no further, not on into a photograph's texture beside a poster."""
    rad = math.radians(row.angle)
    cos, sin = math.cos(rad), math.sin(rad)
    on = []
    for p in pieces:
        dx, dy = p.x - row.centre[0], p.y - row.centre[1]
        if abs(dy * cos - dx * sin) <= (p.high + row.h) / 2:
            a = dx * cos + dy * sin
            on.append((a - p.long / 2, a + p.long / 2, p))
    lo = hi = 0.0
    kept: list[_Piece] = []
    grown = True
    while grown:  # from the row's centre outward, both ways, piece by piece
        grown = False
        for start, stop, p in on:
            if p not in kept and start <= hi + GAP * row.h and stop >= lo - GAP * row.h:
                kept.append(p)
                lo, hi, grown = min(lo, start), max(hi, stop), True
    return (lo - GAP * row.h, hi + GAP * row.h), kept


def _followed(
    small: np.ndarray,
    row: _Row,
    pieces: Sequence[_Piece],
    contrast: int,
    score: Callable[[np.ndarray], float],
    longest: float = LONG,
) -> Slanted | None:
    """The row followed along its slant while its edges go on, within the pieces on it
    (``_on_row``), its slant corrected from where its edges sit at either end (read on a word or
    two, a degree off over the whole line cuts its ends) and followed again; then checked."""
    bound, _ = _on_row(row, pieces)
    found = _run(small, row, bound, contrast)
    if found is None:
        return None
    centre, long = found
    h = row.h
    edges = _edges(level_cut(small, centre, long, 2 * h, row.angle), contrast) > 0
    quarter = max(1, round(long / 4))
    across = np.arange(2 * h, dtype=np.float64)[:, None]
    left, right = edges[:, :quarter], edges[:, -quarter:]
    angle = row.angle
    if left.any() and right.any():
        drop = float((across * right).sum() / right.sum() - (across * left).sum() / left.sum())
        off = math.degrees(math.atan2(drop, long - quarter))
        angle += max(-CORRECTED, min(CORRECTED, off))  # ends misread by something beside the line
        turned = _Row(centre, h, angle)
        found = _run(small, turned, _on_row(turned, pieces)[0], contrast)
        if found is None:
            return None
        centre, long = found
    if long < longest * h:
        return None
    letters = score(level_cut(small, centre, long, h, angle))
    if letters < COVER:
        return None
    return centre[0], centre[1], long, float(h), angle, letters


def _run(
    small: np.ndarray, row: _Row, bound: tuple[float, float], contrast: int
) -> tuple[tuple[float, float], float] | None:
    """Where the row's edges run without a gap of ``GAP`` heights through its centre, within
    ``bound`` (along the row, from its centre): the run's middle and its length with a margin."""
    lo, hi = bound
    strip = level_cut(small, row.centre, 2 * max(-lo, hi, 1.0), row.h, row.angle)
    mid = strip.shape[1] / 2
    busy = np.flatnonzero(_edges(strip, contrast).sum(axis=0) >= 2)
    busy = busy[(busy >= mid + lo) & (busy <= mid + hi)]
    if not len(busy):
        return None
    runs = np.split(busy, np.flatnonzero(np.diff(busy) > GAP * row.h) + 1)
    run = min(runs, key=lambda r: 0 if r[0] <= mid <= r[-1] else min(abs(r[0] - mid), abs(r[-1] - mid)))
    pad = max(2, row.h // 4)
    left, right = max(0, int(run[0]) - pad), min(strip.shape[1], int(run[-1]) + 1 + pad)
    rad = math.radians(row.angle)
    shift = (left + right) / 2 - mid  # the run's middle along the slant, from the row's centre
    centre = (row.centre[0] + shift * math.cos(rad), row.centre[1] + shift * math.sin(rad))
    return centre, float(right - left)


def _slant_of(seed: _Piece, pieces: Sequence[_Piece]) -> float:
    """The slant of ``seed``'s line: the line through the middles of the pieces on it (of its
    height, joined outward while the gaps are short), where that is within ``SLANT[0]`` of the
    seed's own (one word's slant is a degree off over a line); else the seed's."""
    members = _gathered(seed, seed.angle, pieces)
    if len(members) < 2:
        return seed.angle
    xs = np.array([p.x for p in members])
    ys = np.array([p.y for p in members])
    weights = np.array([p.long for p in members])
    dx, dy = xs - np.average(xs, weights=weights), ys - np.average(ys, weights=weights)
    fitted = _axis(*(float(np.average(v, weights=weights)) for v in (dx * dx, dx * dy, dy * dy)))
    return fitted if abs(fitted - seed.angle) <= SLANT[0] else seed.angle


def _gathered(seed: _Piece, angle: float, pieces: Sequence[_Piece]) -> list[_Piece]:
    rad = math.radians(angle)
    cos, sin = math.cos(rad), math.sin(rad)
    on: list[tuple[float, _Piece]] = []
    for p in pieces:
        dx, dy = p.x - seed.x, p.y - seed.y
        if abs(dy * cos - dx * sin) <= BESIDE * seed.high and HEIGHTS[0] <= p.high / seed.high <= HEIGHTS[1]:
            on.append((dx * cos + dy * sin, p))
    on.sort(key=lambda t: t[0])
    starts = [a - p.long / 2 for a, p in on]
    stops = [a + p.long / 2 for a, p in on]
    lo = hi = next(i for i, (_, p) in enumerate(on) if p is seed)
    while lo > 0 and starts[lo] - stops[lo - 1] <= GAP * seed.high:
        lo -= 1
    while hi + 1 < len(on) and starts[hi + 1] - stops[hi] <= GAP * seed.high:
        hi += 1
    return [p for _, p in on[lo : hi + 1]]
