"""A Z or an SS that the reader took for digits.

Tesseract's Cyrillic script model has no Latin Z, and the combined models read a lone Z among
Cyrillic words as a digit: «СИМВОЛ 2 НА ТАНКУ» for «СИМВОЛ Z НА ТАНКУ» (94 % sure) in the sans
faces, a 7 in the serif ones. That throws away the one letter that marks a slogan as the Z
campaign's. The glyphs part at their ends: a Z has a flat bar at its top and at its bottom; a 2
starts with an arc (its first row of ink narrower than the rows under it) and a 7 ends in the
foot of its stem. A bar is a first row of ink that is one solid run (``SOLID``), covers at least
``WIDE_TOP`` of the glyph's width and spans at least ``FLAT_TOP`` of the widest row in the
glyph's first third (a serif 2's beak widens its first row, but its bowl is wider still). On
lines printed in the DejaVu faces (upright, oblique, bold, light, condensed, mono, serif; 20, 26
and 34 px; a scratch script), 386 of 396 lines with a Z, a lone 2 or a lone 7 came out right and
no 2 or 7 became a Z; the misses are Zs read as 4 (3), small italic Zs (5) and serif Zs read as
7 whose bars were not found (2).

Only a digit standing as a word of its own, or glued to letters ("2А"), is looked at: one beside
another digit is part of a number, except the first of the campaign's word ZOV read as "70У" or
"20V" (a zero and a V-like letter after it, ending the word).

SS fares the same way: the Cyrillic model reads it "55" or "$5" («55-РУНИ» in four DejaVu faces of
five). A word of two such characters whose 5s begin with an arc, not a 5's flat bar, is SS
again; "55 РОКІВ" and "55-А" keep their digits (a scratch script over ten printed lines each).
"""

from __future__ import annotations

import re

import cv2
import numpy as np

from service.classify.tesslib import Box, Recognised

FLAT_TOP = 0.9  # the first row's span over the widest span in the first third, for a bar
WIDE_TOP = 0.6  # the first row's ink over the glyph's width, for a bar
SOLID = 0.9  # the first row's ink over its span: a bar is one run
SOLID_GLYPH = 0.75  # ink over the glyph's box above which it is a block (a Z's strokes cover ~0.3-0.5)
MIN_HEIGHT = 8  # pixels: a smaller glyph has too few rows to tell an arc from a bar
READ_FOR_Z = "27"  # what the reader takes a Z for
READ_FOR_S = "5$"  # what the reader takes an S for
BOXED = READ_FOR_Z + READ_FOR_S  # the characters whose boxes the reader returns
_LONE = re.compile(r"(?<!\d)[27](?!\d)")
# The campaign's ZOV read with a digit for each of its first two letters ("70У", "20V"): the 2 or 7
# is followed by a zero and a V-like letter, ending the word (a number of volts, "20В", is a 2 the
# glyph test keeps). Once the Z is seen, the word is written ZOV.
_ZOV = re.compile(r"(?<!\w)[27](?=[0OОoо][VУВvув](?!\w))")
# SS read as "55" or "$5" (the Cyrillic model has no Latin S): a word of two such characters,
# alone or before a hyphen ("55-руни"). A 5 begins with a flat bar, an S with an arc; "55 років"
# keeps its digits, which have the bar.
_SS = re.compile(r"(?<![\w$])[5$S]{2}(?![\w$])")


def looks_like_z(grey: np.ndarray, box: Box) -> bool:
    """Whether the glyph in ``box`` of a dark-on-light line image has a Z's two flat bars."""
    glyph = _glyph(grey, box)
    return glyph is not None and _bar(glyph) and _bar(glyph[::-1])


def _glyph(grey: np.ndarray, box: Box) -> np.ndarray | None:
    """The ink of the glyph in ``box`` (its largest stroke: a Z, 2, 7, S and 5 are one each), or
    ``None`` where it is too small or a block of ink."""
    left, top, right, bottom = box
    cell = grey[max(top, 0) : bottom + 1, max(left, 0) : right + 1]
    if cell.size == 0:
        return None
    _, ink = cv2.threshold(cell, 0, 1, cv2.THRESH_BINARY_INV | cv2.THRESH_OTSU)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    if count < 2:
        return None
    largest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    x, y, w, h = (int(v) for v in stats[largest, :4])
    if h < MIN_HEIGHT or w < 3:
        return None
    glyph: np.ndarray = labels[y : y + h, x : x + w] == largest
    return None if glyph.mean() > SOLID_GLYPH else glyph  # a block of ink, not strokes


def _bar(glyph: np.ndarray) -> bool:
    """Whether the glyph begins (at its first row) with a flat bar: one solid run of ink across
    most of its width, spanning as far as any row of its first third does (an arc's top is
    narrower than the bowl under it, even where a serif's beak widens it)."""
    top = glyph[: max(3, -(-glyph.shape[0] // 3))]
    spans = np.zeros(len(top))
    for i, row in enumerate(top):
        cols = np.flatnonzero(row)
        spans[i] = cols[-1] - cols[0] + 1 if cols.size else 0
    ink = float(top[0].sum())
    width = glyph.shape[1]
    return bool(ink >= WIDE_TOP * width and ink >= SOLID * spans[0] and spans[0] >= FLAT_TOP * spans.max())


def letters_for_digits(got: Recognised, grey: np.ndarray) -> Recognised:
    """``got`` with a Z read as a 2 or 7 and an SS read as 55 given back (``z_for_digit``,
    ``s_for_digit``)."""
    return s_for_digit(z_for_digit(got, grey), grey)


def s_for_digit(got: Recognised, grey: np.ndarray) -> Recognised:
    """``got`` with each word of two 5s or dollar signs (an S or two) whose 5s begin with an arc,
    not a 5's flat bar, written as SS (``got.boxes`` holds the boxes of those characters read)."""
    box_at = _boxes_at(got, READ_FOR_S)
    if not box_at:
        return got
    text = list(got.text)
    for m in _SS.finditer(got.text):
        fives = [i for i in range(m.start(), m.end()) if got.text[i] == "5"]
        if not fives:
            continue  # "SS" read as it is, or dollar signs: no digit to look at
        if all(_arc_topped(_glyph(grey, box_at[i])) for i in fives):
            text[m.start() : m.end()] = ["S", "S"]
    return Recognised("".join(text), got.confidence, got.boxes)


def _boxes_at(got: Recognised, chars: str) -> dict[int, Box]:
    """The box of each of ``chars`` read, by its position in ``got.text`` (``got.boxes`` holds
    them in the order they appear); empty when there are none or they do not line up with the
    text, which is then left as read."""
    boxes = [(char, box) for char, box in got.boxes if char in chars]
    positions = [i for i, char in enumerate(got.text) if char in chars]
    if [char for char, _ in boxes] != [got.text[i] for i in positions]:
        return {}
    return dict(zip(positions, (box for _, box in boxes), strict=True))


def _arc_topped(glyph: np.ndarray | None) -> bool:
    return glyph is not None and not _bar(glyph)


def z_for_digit(got: Recognised, grey: np.ndarray) -> Recognised:
    """``got`` with each lone 2 or 7 whose glyph has a Z's two bars written as Z (``got.boxes``
    holds the boxes of the 2s and 7s read, in the order they appear in the text)."""
    box_at = _boxes_at(got, READ_FOR_Z)
    if not box_at:
        return got
    lone = {m.start() for m in _LONE.finditer(got.text)}
    zov = {m.start() for m in _ZOV.finditer(got.text)}
    text = list(got.text)
    for position, box in box_at.items():
        if (position in lone or position in zov) and looks_like_z(grey, box):
            text[position] = "Z"
            if position in zov:
                text[position + 1 : position + 3] = ["O", "V"]
    return Recognised("".join(text), got.confidence, got.boxes)
