"""Public C2PA conformance material through Vigil's verify path: the share of files of supported
types that get a report (target: all), and that nothing else gets anything but a clear refusal.

Point it at folders of test files, e.g. the c2pa-rs repository's ``sdk/tests/fixtures`` and the
c2pa-org ``public-testfiles`` repository (not shipped with Vigil): every file whose extension is
a media or document type is taken through the same steps as ``vigil verify`` (sniffing and
limits, then the C2PA report, with Vigil's CA absent and the shipped C2PA trust lists loaded).
Prints one JSON object: per folder, how many files got a report (by state), how many were
refused as bad input (by code: an unsupported type, or a malformed file), and how many hit
anything else (a bug: named). ``python bench/bench_conformance.py DIR [DIR ...]``
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from service.errors import InputError
from service.media import MediaLimits
from service.media.intake import inspect
from service.media.sniff import PROVENANCE
from service.provenance import verify_file
from service.provenance.trust import TrustStore
from service.settings import Settings

EXTENSIONS = {
    ".jpg", ".jpeg", ".png", ".webp", ".gif", ".tif", ".tiff", ".heic", ".heif", ".avif",
    ".mp4", ".mov", ".m4a", ".m4s", ".mp3", ".wav", ".flac", ".pdf", ".svg", ".dng", ".jxl", ".psd",
}  # fmt: skip


def run(folder: Path, trust: TrustStore, limits: MediaLimits) -> dict[str, object]:
    states: Counter[str] = Counter()
    refused: Counter[str] = Counter()
    failures: list[str] = []
    seconds: list[float] = []
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in EXTENSIONS)
    for path in files:
        started = time.perf_counter()
        try:
            inspect(path, limits, accept=PROVENANCE, init_segments=True)
            report = verify_file(path, trust=trust)
            states[report.state.value] += 1
        except InputError as exc:
            refused[exc.code] += 1
        except Exception as exc:  # anything else is a defect of Vigil's: named in the output
            failures.append(f"{path.relative_to(folder)}: {exc.__class__.__name__}")
        seconds.append(time.perf_counter() - started)
    reported = sum(states.values())
    supported = reported + sum(n for code, n in refused.items() if code != "unsupported_media_type")
    return {
        "files": len(files),
        "reported": reported,
        "report_states": dict(states),
        "refused": dict(refused),
        "errors": failures,
        "share_of_supported_with_a_report": round(reported / supported, 3) if supported else None,
        "verify_ms_p50": round(sorted(seconds)[len(seconds) // 2] * 1000, 2) if seconds else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("folders", nargs="+", type=Path)
    args = parser.parse_args()
    settings = Settings()
    trust = TrustStore.from_pem(official=settings.trust_lists)
    limits = MediaLimits.from_settings(settings)
    print(json.dumps({str(folder): run(folder, trust, limits) for folder in args.folders}))


if __name__ == "__main__":
    main()
