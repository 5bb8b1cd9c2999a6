"""Perceptual hashes: PDQ (256 bit, with its 8 dihedral variants) and pHash (64 bit).

Hex strings are most-significant bit first, as exchanged by ThreatExchange/HMA banks:
bit 0 of pdqhash's vector is the top bit of the first hex digit.

Both hashes are computed here, from one luma buffer, with the filters their reference
implementations apply to the picture at full resolution: PDQ blurs the luma twice with a box
ceil(side / 128) pixels wide and keeps the pixel in the middle of each of 64 × 64 cells; pHash
(``imagehash.phash``) resamples it to 32 × 32 with Pillow's Lanczos filter. Each is linear, so
along one axis it is a small matrix of weights over the full-resolution pixels. When the picture
at hand is smaller than the original (a JPEG decoded at 1/2, 1/4 or 1/8 scale, or reduced here to
save time), each of its pixels stands for a block of original pixels and takes the sum of their
weights. The hashes are therefore those of the full-resolution picture, whatever scale it was
decoded at: the check flow's reduced decode, the full decode used when an output is signed, and
a bank entry made from either land within a few bits of each other and of the reference tools.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from PIL import Image

PDQ_BITS = 256
PHASH_BITS = 64
PDQ_MIN_QUALITY = 50  # below this PDQ is unreliable (flat or tiny images): report, do not match

_PDQ_GRID = 64
_PHASH_GRID = 32
_PHASH_LOW = 8
_MIN_PDQ_SIDE = 5  # PDQ's reference gives a tiny picture the zero hash with quality 0
# A picture whose longest side is over twice this is box-reduced by a power of two first, down to no
# less than this; its shorter side is kept at 256 or more. A reduced pixel then stands for at most a
# quarter of PDQ's box along the longest side (half along a short one), which moves the hash by 0-2
# bits, and the grid is the one the check flow's reduced JPEG decode lands on (a JPEG decodes at
# 1/2, 1/4 or 1/8 scale), so an output hashed from its full decode when signed and from a reduced
# decode when checked is hashed from the same blocks of pixels.
_REDUCED_SIDE = 512
_REDUCED_SHORT_SIDE = 256


@dataclass(frozen=True, slots=True)
class PdqHash:
    value: bytes  # 32 bytes, MSB first
    quality: int

    @property
    def hex(self) -> str:
        return self.value.hex()

    @classmethod
    def from_hex(cls, text: str, quality: int = 100) -> PdqHash:
        raw = bytes.fromhex(text)
        if len(raw) != PDQ_BITS // 8:
            raise ValueError(f"a PDQ hash has 64 hex digits, got {len(text)}")
        return cls(raw, quality)

    @property
    def low_quality(self) -> bool:
        return self.quality < PDQ_MIN_QUALITY


@dataclass(frozen=True, slots=True)
class ImageHashes:
    """Every hash Vigil keeps for one image or video frame."""

    pdq: PdqHash
    pdq_dihedral: tuple[PdqHash, ...]  # the 8 rotations/flips, [0] is the original orientation
    phash: bytes  # 8 bytes, MSB first

    @property
    def phash_hex(self) -> str:
        return self.phash.hex()


# --- weights along one axis ----------------------------------------------------------------------
# Each output sample weighs a short run of consecutive full-resolution pixels: a band, kept as its
# first pixel (``start``) and the weights from there on (``values``, one row per sample).
def _pdq_band(full: int) -> tuple[np.ndarray, np.ndarray]:
    """PDQ's downsampling along an axis of ``full`` pixels: two passes of a box ceil(full / 128)
    wide, then the pixel in the middle of each of 64 equal cells. A box pass averages pixels
    k - before .. k + after that exist (narrower at the edges), so the pixel j reaches the picked
    pixel s through the middle pixels k within both windows: 1 / count(s) · Σ 1 / count(k)."""
    width = (full + 2 * _PDQ_GRID - 1) // (2 * _PDQ_GRID)
    after = (width + 2) // 2 - 1
    before = width - 1 - after
    k = np.arange(full)
    count = np.minimum(k + after, full - 1) - np.maximum(k - before, 0) + 1
    reach = np.concatenate([[0.0], np.cumsum(1.0 / count)])  # running sum of 1 / count(k)
    picked = ((np.arange(_PDQ_GRID) + 0.5) * full / _PDQ_GRID).astype(int)[:, None]
    start = picked[:, 0] - 2 * before
    j = start[:, None] + np.arange(2 * width - 1)
    lo = np.maximum(np.maximum(picked - before, j - after), 0)
    hi = np.minimum(np.minimum(picked + after, j + before), full - 1)
    valid = (lo <= hi) & (j >= 0) & (j < full)
    spans = reach[np.where(valid, hi + 1, 0)] - reach[np.where(valid, lo, 0)]
    return start, spans / count[picked]


def _phash_band(full: int) -> tuple[np.ndarray, np.ndarray]:
    """Pillow's Lanczos (a = 3) resampling of ``full`` pixels to 32, the filter ``imagehash``
    uses, with the window bounds and normalisation Pillow computes."""
    scale = full / _PHASH_GRID
    stretch = max(scale, 1.0)
    support = 3.0 * stretch
    centers = (np.arange(_PHASH_GRID) + 0.5) * scale
    start = np.maximum((centers - support + 0.5).astype(int), 0)
    end = np.minimum((centers + support + 0.5).astype(int), full)
    x = start[:, None] + np.arange(int(2 * support) + 2)
    t = (x - centers[:, None] + 0.5) / stretch
    inside = (x < end[:, None]) & (t >= -3.0) & (t < 3.0)
    weights = np.where(inside, np.sinc(t) * np.sinc(t / 3.0), 0.0)
    normalised: np.ndarray = weights / weights.sum(axis=1, keepdims=True)
    return start, normalised


def _fold(start: np.ndarray, values: np.ndarray, full: int, size: int) -> np.ndarray:
    """Rows × ``size``: the band weights over a picture ``size`` pixels long whose pixel p covers
    the full-resolution span p·full/size .. (p+1)·full/size, as a reduced JPEG decode or a box
    reduction averages it: each pixel takes the weights of its span (fractions at the ends)."""
    length = values.shape[1]
    running = np.zeros((values.shape[0], length + 1))
    np.cumsum(values, axis=1, out=running[:, 1:])
    edges = np.clip(np.arange(size + 1) * (full / size) - start[:, None], 0, length)
    whole = np.minimum(edges.astype(int), length - 1)
    row = np.arange(values.shape[0])[:, None]
    below = running[row, whole] + (edges - whole) * values[row, whole]
    return np.diff(below, axis=1)


@lru_cache(maxsize=64)
def _axis_weights(full: int, size: int) -> np.ndarray:
    """96 × ``size``: PDQ's 64 rows of weights, then pHash's 32, along an axis of a picture
    ``size`` pixels long that is ``full`` pixels long at full resolution."""
    rows = np.vstack([_fold(*_pdq_band(full), full, size), _fold(*_phash_band(full), full, size)])
    out = rows.astype(np.float32)
    out.flags.writeable = False  # shared through the cache
    return out


# --- PDQ from its 64 × 64 buffer ------------------------------------------------------------------
_DCT16 = math.sqrt(2 / _PDQ_GRID) * np.cos(
    np.pi / (2 * _PDQ_GRID) * np.outer(np.arange(1, 17), 2 * np.arange(_PDQ_GRID) + 1)
)
# Mirroring the picture along an axis negates the coefficients of odd frequency along it: the
# 1-based frequency of index i is i + 1, so the even indices change sign.
_MIRROR = np.where(np.arange(16) % 2 == 1, 1.0, -1.0)
_BOTH = np.outer(_MIRROR, _MIRROR)


def _quality(grid: np.ndarray) -> int:
    """PDQ's quality: the sum of the steps between neighbouring cells, each in whole percent of
    full scale (truncated), divided by 90 and capped at 100."""
    cells = grid.astype(np.float32)
    down = np.trunc((cells[:-1, :] - cells[1:, :]) * 100 / 255)
    across = np.trunc((cells[:, :-1] - cells[:, 1:]) * 100 / 255)
    return min(100, int(np.abs(down).sum() + np.abs(across).sum()) // 90)


def _dihedral(c: np.ndarray) -> tuple[np.ndarray, ...]:
    """The 16 × 16 coefficients of the 8 rotations and flips of the picture, in pdqhash's order:
    original, turned 90°, 180° and 270° anticlockwise, flipped top to bottom, left to right, and
    mirrored about the main diagonal and the other (a transposed picture has the transposed
    coefficients). Close to hashing the turned picture, not equal: PDQ's box windows and cell
    centres are not symmetric, so the two differ by a few bits (up to 8 in the reference tool's
    own listings, up to 12 on the test pictures here)."""
    rows, cols = _MIRROR[:, None], _MIRROR[None, :]
    return (c, (c * cols).T, c * _BOTH, (c * rows).T, c * rows, c * cols, c.T, (c * _BOTH).T)


def _pdq_bits(c: np.ndarray) -> bytes:
    """A bit per coefficient (row-major, bit 0 the last hex digit's lowest): above the 128th
    smallest of the 256, the median PDQ's reference takes."""
    flat = c.ravel()
    median = np.partition(flat, PDQ_BITS // 2 - 1)[PDQ_BITS // 2 - 1]
    return np.packbits((flat > median)[::-1]).tobytes()


# --- pHash from its 32 × 32 buffer ----------------------------------------------------------------
_DCT8 = np.cos(np.pi / (2 * _PHASH_GRID) * np.outer(np.arange(_PHASH_LOW), 2 * np.arange(_PHASH_GRID) + 1))


def _phash_bits(small: np.ndarray) -> bytes:
    """``imagehash.phash``: the 8 × 8 lowest frequencies of the 2-D DCT, each above their median
    or not, row-major, most significant bit first. The DCT's constant scale changes no bit."""
    low = _DCT8 @ small @ _DCT8.T
    return np.packbits((low > np.median(low)).ravel()).tobytes()


# --- the one hashing path ------------------------------------------------------------------------
def _reduction(size: tuple[int, int], full_size: tuple[int, int]) -> int:
    """The whole factor to box-reduce a ``size`` picture by before hashing, ``full_size`` being the
    original: the power of two that brings the original's longest side nearest above
    ``_REDUCED_SIDE`` (its shorter side kept at ``_REDUCED_SHORT_SIDE`` or more), less the scale
    the picture was already decoded at."""
    longest, shortest = max(full_size), min(full_size)
    target = 1
    while longest // (2 * target) >= _REDUCED_SIDE and shortest // (2 * target) >= _REDUCED_SHORT_SIDE:
        target *= 2
    decoded_at = max(1, round(max(full_size) / max(size)))
    return max(1, target // decoded_at)


def hash_image(image: Image.Image, full_size: tuple[int, int] | None = None) -> ImageHashes:
    """PDQ with its dihedral family and pHash of one image or video frame.

    ``full_size``: the picture's size at full resolution when ``image`` is a reduced decode of it
    (as ``service.media.intake.decode_image`` reports it, in the same orientation); the hashes are
    then the full-resolution picture's, within a bit or two.
    """
    rgb = image if image.mode == "RGB" else image.convert("RGB")
    full_w, full_h = full_size or rgb.size
    factor = _reduction(rgb.size, (full_w, full_h))
    if factor > 1:
        rgb = rgb.reduce(factor)
    luma = np.asarray(rgb.convert("F"))  # 0.299 R + 0.587 G + 0.114 B, as PDQ's reference weighs them
    rows = _axis_weights(full_h, rgb.height)
    cols = _axis_weights(full_w, rgb.width)
    across = rows @ luma  # 96 rows: PDQ's 64, then pHash's 32
    grid = (across[:_PDQ_GRID] @ cols[:_PDQ_GRID].T).astype(np.float64)
    small = (across[_PDQ_GRID:] @ cols[_PDQ_GRID:].T).astype(np.float64)
    phash_value = _phash_bits(small)
    if min(full_w, full_h) < _MIN_PDQ_SIDE:
        zero = PdqHash(bytes(PDQ_BITS // 8), 0)
        return ImageHashes(pdq=zero, pdq_dihedral=(zero,) * 8, phash=phash_value)
    quality = _quality(grid)
    coefficients = _DCT16 @ grid @ _DCT16.T
    family = tuple(PdqHash(_pdq_bits(c), quality) for c in _dihedral(coefficients))
    return ImageHashes(pdq=family[0], pdq_dihedral=family, phash=phash_value)


def pdq(image: Image.Image) -> PdqHash:
    return hash_image(image).pdq


def phash(image: Image.Image) -> bytes:
    return hash_image(image).phash


def hamming(a: bytes, b: bytes) -> int:
    return (int.from_bytes(a, "big") ^ int.from_bytes(b, "big")).bit_count()
