"""A found line cut out of the picture for the reader: scaled to the height Tesseract reads best
and reduced to its letters, dark on white.

``line_image`` is the first cut: over a photograph, the letters that separate from the ground
(``textfind.letters``), else the plain crop made dark on light. ``outlined`` is the cut for a
line read with little confidence, where the letters may be a subtitle's light fill inside a dark
rim: both polarities, the likelier first.
"""

from __future__ import annotations

import cv2
import numpy as np

from service.classify.textfind import TextBox, letters
from service.classify.textslant import level_cut

LINE_HEIGHT = 32  # pixels: the height a line is scaled to before recognition
FLAT_GROUND = 14  # grey-level spread of a panel or band behind print (a photograph's is larger)
OUTLINE_DARK = 80  # grey level at or under which a pixel can be a letter's outline
OUTLINE_SHARE = 0.7  # share of a letter's rim that must touch its outline
ENCLOSED_BY = 0.05  # how much more one polarity's pieces lie in the other's holes, to be read first


def line_crop(grey: np.ndarray, box: TextBox) -> np.ndarray:
    """The line cut out with a margin, scaled so its letters are about ``LINE_HEIGHT`` high."""
    if box.angle:  # a line at a slant, cut out level
        length, height = box.level
        pad = max(2.0, height / 4)
        centre = (box.x + box.w / 2, box.y + box.h / 2)
        crop = level_cut(grey, centre, length + 2 * pad, height + 2 * pad, box.angle)
    else:
        pad = max(2, box.h // 4)
        h, w = grey.shape[:2]
        crop = grey[
            max(0, box.y - pad) : min(h, box.y + box.h + pad),
            max(0, box.x - pad) : min(w, box.x + box.w + pad),
        ]
    scale = (LINE_HEIGHT + 2 * LINE_HEIGHT // 4) / max(crop.shape[0], 1)
    if abs(scale - 1) > 0.15:
        size = (max(1, round(crop.shape[1] * scale)), max(1, round(crop.shape[0] * scale)))
        crop = cv2.resize(crop, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)
    return crop


def line_image(grey: np.ndarray, box: TextBox) -> np.ndarray:
    """The line cut out with a margin, scaled to ``LINE_HEIGHT``, as its letters alone (dark on a
    white ground, the photograph around them dropped); the plain crop, made dark on light, where
    no row of letters separates from the ground."""
    crop = line_crop(grey, box)
    _, mask = letters(crop, local=True)
    _, ink = cv2.threshold(crop, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    ground = ink if np.count_nonzero(ink) >= ink.size / 2 else 255 - ink
    if mask is not None and float(crop[ground > 0].std()) > FLAT_GROUND:
        return np.ascontiguousarray(mask)  # letters over a photograph: the letters alone
    return np.ascontiguousarray(crop if ground is ink else 255 - crop)


def outlined(grey: np.ndarray, box: TextBox) -> list[np.ndarray]:
    """The line's outlined letters alone, dark on white, in each polarity that has any (none, one
    or two crops), the likelier first.

    Subtitles are light letters in a dark rim (or dark in a light one). Of the pixels near the
    line's lightest level (each polarity in turn), a connected piece is kept as a letter when most
    of its own rim touches outline-dark pixels within two pixels; a bright stone or blade of
    grass next to the caption has no such rim. On an outlined line both polarities keep
    something: the letters in one, their rims in the other, and a rim holds more pixels than the
    thin letter inside it. The letters lie in the holes their rims enclose, so the polarity whose
    pieces lie more inside the other's holes comes first; where neither does, the one that keeps
    more. (Light letters on a dark ground give the inverse case, their counters inside the
    letters: hence both crops, for the reader to decide by its confidence.)"""
    crop = line_crop(grey, box)
    kept = [_rimmed(light) for light in (crop, 255 - crop)]
    inside = [_share_inside(kept[0], kept[1]), _share_inside(kept[1], kept[0])]
    ink = [int(np.count_nonzero(k)) for k in kept]
    if abs(inside[0] - inside[1]) >= ENCLOSED_BY:
        order = [0, 1] if inside[0] > inside[1] else [1, 0]
    else:
        order = [0, 1] if ink[0] >= ink[1] else [1, 0]
    return [np.ascontiguousarray(np.where(kept[i], 0, 255).astype(np.uint8)) for i in order if ink[i]]


def _rimmed(light: np.ndarray) -> np.ndarray:
    """The light pieces of ``light`` whose rim touches outline-dark pixels (``outlined``)."""
    # Letters: among the line's lightest pixels (40 levels from its 97th percentile) and light in
    # themselves (170 and up), so a dark line's brightest speckle is not taken for them.
    ink = (light >= max(170, int(np.percentile(light, 97)) - 40)).astype(np.uint8)
    near_dark = cv2.dilate((light <= OUTLINE_DARK).astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    rim = (ink > 0) & (cv2.erode(ink, np.ones((3, 3), np.uint8)) == 0)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    rim_n = np.bincount(labels[rim], minlength=count)
    dark_n = np.bincount(labels[rim & near_dark], minlength=count)
    keep = (dark_n >= OUTLINE_SHARE * np.maximum(rim_n, 1)) & (stats[:, 4] >= 4)
    keep[0] = False
    return np.asarray(keep[labels])


def _share_inside(pieces: np.ndarray, around: np.ndarray) -> float:
    """The share of ``pieces``' pixels that lie in holes of ``around``: regions of the ground it
    closes off from the crop's edge."""
    found = int(np.count_nonzero(pieces))
    if found == 0:
        return 0.0
    _, labels, stats, _ = cv2.connectedComponentsWithStats((~around).astype(np.uint8), connectivity=4)
    h, w = around.shape
    x, y, bw, bh = stats[:, 0], stats[:, 1], stats[:, 2], stats[:, 3]
    hole = (x > 0) & (y > 0) & (x + bw < w) & (y + bh < h)
    hole[0] = False  # ``around`` itself
    return int(np.count_nonzero(hole[labels] & pieces)) / found
