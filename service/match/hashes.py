"""Perceptual hashes: PDQ (256 bit, with its 8 dihedral variants) and pHash (64 bit).

Hex strings are most-significant bit first, as exchanged by ThreatExchange/HMA banks:
bit 0 of pdqhash's vector is the top bit of the first hex digit.
"""

from __future__ import annotations

from dataclasses import dataclass

import imagehash
import numpy as np
import pdqhash
from PIL import Image

PDQ_BITS = 256
PHASH_BITS = 64
PDQ_MIN_QUALITY = 50  # below this PDQ is unreliable (flat or tiny images): report, do not match
# Hashing cost grows with pixels while PDQ itself works on a 64×64 reduction: a larger image is
# first reduced by the whole factor that brings its longest side nearest 512 pixels (a box filter,
# several times cheaper than a resampling resize; the hash stays within a few bits of the
# full-size one).
_PDQ_SIDE = 512
_PHASH_SIDE = 128


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


def _pack(vector: np.ndarray) -> bytes:
    return np.packbits(np.asarray(vector, dtype=np.uint8)).tobytes()


def _prepared(image: Image.Image) -> Image.Image:
    rgb = image if image.mode == "RGB" else image.convert("RGB")
    factor = round(max(rgb.size) / _PDQ_SIDE)
    return rgb.reduce(factor) if factor > 1 else rgb


def pdq(image: Image.Image) -> PdqHash:
    vector, quality = pdqhash.compute(np.asarray(_prepared(image)))
    return PdqHash(_pack(vector), int(quality))


def phash(image: Image.Image) -> bytes:
    """``imagehash.phash`` (luma, 32×32 Lanczos, DCT, 8×8 low frequencies against their median) of
    the image box-reduced by a whole factor first, its shorter side kept ≥ 128 px: five times
    cheaper on a 1 MP image, and within 4 of 64 bits of imagehash on the full image over 40
    varied pictures (bits near the median flip; the default pHash bank threshold is 8)."""
    factor = min(image.size) // _PHASH_SIDE
    small = image.reduce(factor) if factor > 1 else image
    return _pack(imagehash.phash(small).hash.flatten())


def hash_image(image: Image.Image) -> ImageHashes:
    """PDQ with its dihedral family and pHash of one image (one decode, one downscale)."""
    prepared = _prepared(image)
    vectors, quality = pdqhash.compute_dihedral(np.asarray(prepared))
    family = tuple(PdqHash(_pack(v), int(quality)) for v in vectors)
    return ImageHashes(pdq=family[0], pdq_dihedral=family, phash=phash(prepared))


def hamming(a: bytes, b: bytes) -> int:
    return (int.from_bytes(a, "big") ^ int.from_bytes(b, "big")).bit_count()
