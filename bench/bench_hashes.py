"""Reference hashes: Vigil's PDQ and pHash against public reference values. Prints one JSON object.

Figures (targets beside them):
- PDQ against the hashes ThreatExchange's C++ reference tool (``pdq-photo-hasher``) prints for its
  test images (``tests/data/pdq/reference.json``, see ``SOURCE.md`` there): distance max, mean and
  the count over 4 bits (target: within 4), for the hashes the check flow computes (the file
  decoded as ``check_steps.decode`` decodes it, words and symbols off and on), and for the hashes
  kept when an output is signed (``notary.fingerprints``, what the manifest repository matches
  stripped copies against). A photo with an EXIF orientation is hashed upright, as Vigil decodes
  it; the reference hashed the stored pixels, so the dihedral variant that turns it back is the
  one compared. Pictures whose PDQ quality is below 50 are listed apart: Vigil matches neither
  hash of them. Beside it, the same against the tool's earlier listing in the same upstream file
  (it differs from the later one by up to 8 bits on the same files: another decoder);
- the check flow's PDQ against the signed output's (the same file): max and mean;
- pHash against ``imagehash.phash`` of the full-size decode (target: within 4): max and mean;
- the cost of PDQ (8 dihedral) + pHash of a 1 MP picture (target ≤ 20 ms), wall and this thread's
  CPU time, with BLAS held to one thread: a 1000 × 1000 picture (hashed at full size) and a
  1262 × 792 one (reduced 2× first); and the decode + hashing of the check flow and of signing
  for the 1600 × 1004 reference JPEG.

Run: ``PYTHONPATH=. .venv/bin/python bench/bench_hashes.py`` (offline, a few seconds, on the images
committed under ``tests/data/pdq``). ``--images DIR`` reads the images from another copy of the
upstream ``pdq/data`` folder instead, so the EXIF-rotated phone photos (3 MB each, not committed)
are measured too.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
from pathlib import Path
from typing import Any

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # the target is a single core
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("XDG_RUNTIME_DIR", "/tmp")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import imagehash
import numpy as np
from PIL import ExifTags, Image

from bench._util import ROOT, Timer, progress
from service.match.hashes import ImageHashes, hamming, hash_image
from service.media.intake import decode_image, inspect
from service.media.model import MediaLimits
from service.pipeline import check_steps
from service.provenance.notary import fingerprints

DATA = ROOT / "tests" / "data" / "pdq"
LIMITS = MediaLimits(
    max_bytes=64 << 20, max_pixels=50_000_000, max_side=20_000, max_seconds=60, max_frames=10
)
TIMED_JPEG = "reg-test-input/dih/bridge-1-original.jpg"
# The dihedral variant (pdqhash's order) that turns an upright picture back to its stored pixels.
_UNTURN = {3: 2, 6: 1, 8: 3}


def _checked(path: Path, looks: bool) -> ImageHashes:
    decoded = check_steps.decode(inspect(path, LIMITS), limits=LIMITS, look_closer=looks)
    return decoded.frames[0].hashes


def _stored(path: Path) -> ImageHashes:
    return fingerprints(inspect(path, LIMITS), LIMITS)[0]


def _against(hashes: ImageHashes, reference: str, orientation: int) -> int:
    target = bytes.fromhex(reference)
    if orientation in _UNTURN:
        return hamming(hashes.pdq_dihedral[_UNTURN[orientation]].value, target)
    if orientation != 1:  # a mirrored orientation: the closest variant
        return min(hamming(h.value, target) for h in hashes.pdq_dihedral)
    return hamming(hashes.pdq.value, target)


def _spread(values: list[int]) -> dict[str, float]:
    return {
        "max": max(values),
        "mean": round(statistics.fmean(values), 2),
        "over_4": sum(v > 4 for v in values),
    }


def _full_phash(path: Path) -> bytes:
    full = decode_image(inspect(path, LIMITS)).image
    return np.packbits(imagehash.phash(full).hash.flatten()).tobytes()


def accuracy(images: Path) -> dict[str, Any]:
    listing = json.loads((DATA / "reference.json").read_text(encoding="utf-8"))["images"]
    rows: dict[str, dict[str, int]] = {}
    low: dict[str, dict[str, int]] = {}
    skipped = []
    for entry in listing:
        path = images / entry["file"]
        if not path.is_file():
            skipped.append(entry["file"])
            continue
        progress(f"hashing {entry['file']} …")
        with Image.open(path) as img:
            orientation = int(img.getexif().get(ExifTags.Base.Orientation, 1) or 1)
        check, check_ocr, stored = _checked(path, False), _checked(path, True), _stored(path)
        full_phash = _full_phash(path)
        row = {
            "check": _against(check, entry["pdq"], orientation),
            "check_ocr": _against(check_ocr, entry["pdq"], orientation),
            "stored": _against(stored, entry["pdq"], orientation),
            "check_vs_stored": hamming(check.pdq.value, stored.pdq.value),
            "phash_check": hamming(check.phash, full_phash),
            "phash_stored": hamming(stored.phash, full_phash),
            "quality": check.pdq.quality,
        }
        if "pdq_earlier_listing" in entry:
            row["check_vs_earlier"] = _against(check, entry["pdq_earlier_listing"], orientation)
            row["stored_vs_earlier"] = _against(stored, entry["pdq_earlier_listing"], orientation)
        (low if check.pdq.low_quality else rows)[entry["file"]] = row

    def column(name: str) -> list[int]:
        return [r[name] for r in rows.values() if name in r]

    return {
        "images": len(rows) + len(low),
        "matchable": len(rows),
        "not_measured": skipped,
        "pdq_vs_reference": {
            "check": _spread(column("check")),
            "check_words_symbols_on": _spread(column("check_ocr")),
            "stored_when_signed": _spread(column("stored")),
            "target_max": 4,
        },
        "pdq_vs_earlier_listing": {
            "check": _spread(column("check_vs_earlier")),
            "stored_when_signed": _spread(column("stored_vs_earlier")),
        },
        "pdq_check_vs_stored": _spread(column("check_vs_stored")),
        "phash_vs_imagehash_full": {
            "check": _spread(column("phash_check")),
            "stored_when_signed": _spread(column("phash_stored")),
            "target_max": 4,
        },
        "low_quality_not_matched": low,
        "per_image": rows,
    }


def cost(images: Path) -> dict[str, Any]:
    photo = decode_image(inspect(DATA / TIMED_JPEG, LIMITS)).image
    pictures = {
        "square_1000": photo.crop((300, 2, 1300, 1002)),  # 1 MP just under a reduction: hashed at full size
        "photo_1262x792": photo.resize((1262, 792), Image.Resampling.LANCZOS),
    }
    out: dict[str, Any] = {}
    for name, picture in pictures.items():
        timer = Timer()
        for _ in range(40):
            with timer:
                hash_image(picture)
        out[name] = {**timer.figures(), "target_ms": 20}
    jpeg = images / TIMED_JPEG if (images / TIMED_JPEG).is_file() else DATA / TIMED_JPEG
    for name, run in (
        ("check_decode_and_hash", lambda: _checked(jpeg, False)),
        ("signing", lambda: _stored(jpeg)),
    ):
        timer = Timer()
        for _ in range(15):
            with timer:
                run()
        out[f"{name}_1600x1004_jpeg"] = timer.figures()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--images", type=Path, default=DATA, help="a copy of the upstream pdq/data folder")
    args = parser.parse_args()
    figures: dict[str, Any] = {
        "machine": f"{platform.machine()}, {len(os.sched_getaffinity(0))} cores",
        "load_average_at_start": round(os.getloadavg()[0], 1),
        "reference": "ThreatExchange pdq-photo-hasher --int64 listing (tests/data/pdq/reference.json)",
    }
    figures.update(accuracy(args.images))
    progress("timing …")
    figures["hash_cost_ms"] = cost(args.images)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
