"""Words benchmark: lines printed on photographs, read and scored. Prints one JSON object.

Figures (targets beside them):
- quality, per language, on the held-out split of the corpus (lines never trained or tuned on; a
  line of at most ``--max-words`` words makes one picture): each line printed on a natural photo
  as a poster, a lower third or a burned-in caption, JPEG q70–90 (``word_pictures.py``), read by
  ``Classifiers.read_words`` and scored at the shipped policy's operating points. A picture is
  flagged as the check flow flags it (a category at its ``review_at``, or at the ``ocr`` signal's
  own ``review_at`` where that is lower; or a lexicon hit that asks for a person). Recall on the
  positives ≥ 0.9 and false positives ≤ 5 % per language (and, among them, the private
  memorials' pictures, which should stay allowed); beside them the same classifier on the typed
  line, so the loss that reading causes is visible, and how close the read is to the printed line
  (difflib ratio, per style);
- the same on posters photographed at a slant (``askew``: the first ``--askew`` held-out lines of
  each language, the panel turned 3–12 degrees either way), apart from the figures above;
- cost in process: ``read_words`` on photos with no words (the line finder alone) and on pictures
  with words (CPU milliseconds per picture too, OCR threads included); on the photos with no
  words, words and the shipped symbol bank as the check asks them (``pictures.read_picture``:
  the symbols looked for while the words are read) against one after the other;
- cost over HTTP: ``POST /v1/check`` of a 1 MP photo with no words and no symbol, with words and
  symbols off, words on, both on (≤ +5 ms p50 over off), and of a 1 MP picture with a slogan on
  it (≤ 300 ms p50); the server's CPU per request beside each.

``--seed`` picks the photographs, styles and placements (the default is the reporting seed; the
finder and reader were tuned on seeds 1 and 2 with lines from the training split).
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PIL import Image

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("XDG_RUNTIME_DIR", "/tmp")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._util import percentile, progress
from bench.bench_check import over_http
from bench.word_pictures import compose, plain
from service.auth import Role
from service.auth import store as auth_store
from service.classify.classifiers import Classifiers
from service.classify.model import CATEGORIES
from service.classify.probe_train import load_examples, split
from service.classify.registry import DEFAULT_POLICY_DIR, ClassifyConfig
from service.classify.symbols import SymbolMatcher
from service.composition import open_services
from service.media.intake import decode_image, inspect
from service.media.model import MediaLimits
from service.pipeline.check_steps import PICTURE_SIDE
from service.pipeline.pictures import read_picture
from service.policy.load import load_policies
from service.settings import Settings
from service.symbols.bank import BoundSymbols
from service.vocabulary import SignalState

LANGS = ("en", "ru", "uk")
SLOGAN = "Вечная слава героям СВО! Вступайте в ряды!"


def _flagged(result: Any, review_at: dict[str, float]) -> bool:
    if result.state.value != "ok":
        return False
    over = any(result.scores.get(c, 0.0) >= review_at[c.value] for c in CATEGORIES)
    return bool(over or result.review)


def as_checked(jpeg: bytes) -> tuple[Image.Image, Callable[[], Image.Image]]:
    """The picture as the check flow decodes it (a large JPEG at a reduced scale for hashing) and
    the full-size decode it falls back on when there are lines to read."""
    with tempfile.NamedTemporaryFile(suffix=".jpg") as fh:
        fh.write(jpeg)
        fh.flush()
        info = inspect(Path(fh.name), MediaLimits.from_settings(Settings()))
        small = decode_image(info, min_side=PICTURE_SIDE).image
        full = decode_image(info).image
    return small, lambda: full


def _ms(values: list[float]) -> dict[str, float]:
    return {
        "p50_ms": round(percentile(values, 0.5) * 1000, 2),
        "p95_ms": round(percentile(values, 0.95) * 1000, 2),
        "n": len(values),
    }


def _held_and_review_points() -> tuple[list[Any], dict[str, float], dict[str, float]]:
    """The corpus's held-out lines, and the shipped policy's review points for typed text and
    for words read off a picture (the ``ocr`` signal's own, policies/default.yaml)."""
    _, held = split(load_examples(DEFAULT_POLICY_DIR / "classify" / "corpus"))
    policy = load_policies(DEFAULT_POLICY_DIR).for_market("default")
    review_at = {name: c.review_at for name, c in policy.categories.items()}
    read_review_at = {
        name: at for name in policy.categories if (at := policy.review_at(name, "ocr")) is not None
    }
    return held, review_at, read_review_at


def quality(classifiers: Classifiers, seed: int, max_words: int, per_language: int) -> dict[str, object]:
    held, review_at, read_review_at = _held_and_review_points()
    rng = random.Random(seed)
    out: dict[str, object] = {"read_review_at": read_review_at}
    similarity: dict[str, list[float]] = {}
    wall, cpu = [], []
    for lang in LANGS:
        lines = [e for e in held if e.lang == lang and len(e.content.split()) <= max_words]
        lines = lines[:per_language] if per_language else lines
        progress(f"{lang}: {len(lines)} held-out lines printed on photographs …")
        typed = classifiers.classify_text([e.content for e in lines])
        rows = []
        for example, by_hand in zip(lines, typed, strict=True):
            picture = compose(example.content, rng)
            small, full = as_checked(picture.jpeg)
            t0, c0 = time.perf_counter(), time.process_time()
            result, read = classifiers.read_words(small, full)
            wall.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
            ratio = difflib.SequenceMatcher(None, example.content.lower(), read.text.lower()).ratio()
            similarity.setdefault(picture.style, []).append(ratio)
            rows.append(
                (example, _flagged(result, read_review_at), _flagged(by_hand, review_at), ratio, read.text)
            )
        pos = [r for r in rows if r[0].labels]
        neg = [r for r in rows if not r[0].labels]
        memorials = [r for r in neg if r[0].slice == "private_memorial"]
        out[lang] = {
            "positives": len(pos),
            "negatives": len(neg),
            "recall": round(sum(r[1] for r in pos) / max(len(pos), 1), 3),
            "fpr": round(sum(r[1] for r in neg) / max(len(neg), 1), 3),
            # a private memorial's picture (names, dates, grief) should stay allowed
            "memorial_fpr": round(sum(r[1] for r in memorials) / max(len(memorials), 1), 3),
            "memorials": len(memorials),
            "typed_recall": round(sum(r[2] for r in pos) / max(len(pos), 1), 3),
            "typed_fpr": round(sum(r[2] for r in neg) / max(len(neg), 1), 3),
            "recall_of_typed_hits": round(
                sum(r[1] for r in pos if r[2]) / max(sum(1 for r in pos if r[2]), 1), 3
            ),
            "read_similarity_mean": round(statistics.fmean(r[3] for r in rows), 3),
            "missed_examples": [f"{r[0].content[:60]} => {r[4][:60]}" for r in pos if r[2] and not r[1]][:3],
        }
    out["read_similarity_by_style"] = {k: round(statistics.fmean(v), 3) for k, v in similarity.items()}
    out["read_words_with_words"] = _ms(wall) | {"cpu_mean_ms": round(statistics.fmean(cpu) * 1000, 1)}
    return out


def askew(classifiers: Classifiers, seed: int, max_words: int, per_language: int) -> dict[str, object]:
    """Held-out lines printed on a poster photographed at a slant (``word_pictures`` style
    ``askew``): the same scoring as ``quality``, on the first ``per_language`` lines of each
    language that fit."""
    held, _, read_review_at = _held_and_review_points()
    rng = random.Random(seed + 2000)
    out: dict[str, object] = {}
    for lang in LANGS:
        lines = [e for e in held if e.lang == lang and len(e.content.split()) <= max_words][:per_language]
        progress(f"{lang}: {len(lines)} held-out lines on posters photographed askew …")
        rows = []
        for example in lines:
            picture = compose(example.content, rng, "askew")
            small, full = as_checked(picture.jpeg)
            result, read = classifiers.read_words(small, full)
            ratio = difflib.SequenceMatcher(None, example.content.lower(), read.text.lower()).ratio()
            rows.append((bool(example.labels), _flagged(result, read_review_at), ratio))
        pos = [r for r in rows if r[0]]
        neg = [r for r in rows if not r[0]]
        out[lang] = {
            "positives": len(pos),
            "negatives": len(neg),
            "recall": round(sum(r[1] for r in pos) / max(len(pos), 1), 3),
            "fpr": round(sum(r[1] for r in neg) / max(len(neg), 1), 3),
            "read_similarity_mean": round(statistics.fmean(r[2] for r in rows), 3),
        }
    return out


def no_words(classifiers: Classifiers, seed: int, n: int) -> dict[str, object]:
    rng = random.Random(seed + 1000)
    pictures = [plain(rng) for _ in range(n)]
    wall, cpu, found = [], [], 0
    for image in pictures:
        t0, c0 = time.perf_counter(), time.process_time()
        _, read = classifiers.read_words(image)
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
        found += read.text != ""
    return _ms(wall) | {
        "cpu_mean_ms": round(statistics.fmean(cpu) * 1000, 2),
        "pictures_with_words_read": found,
        "with_symbols": _with_symbols(classifiers, pictures),
    }


def _with_symbols(classifiers: Classifiers, pictures: list[Image.Image]) -> dict[str, object]:
    """Words and symbols on each photo, side by side as the check runs them and one after the
    other (alternating which goes first, so neither always finds the caches warm)."""
    bound = BoundSymbols(SignalState.OK, "", SymbolMatcher.from_dir())

    def serial(image: Image.Image) -> None:
        classifiers.read_words(image)
        bound.match(image)

    def side_by_side(image: Image.Image) -> None:
        read_picture(image, bound, classifiers=classifiers, read_words=True)

    side_by_side(pictures[0])  # the verifier and the pool's threads start
    times: dict[str, list[float]] = {"one_after_the_other": [], "side_by_side": []}
    for n, image in enumerate(pictures):
        runs = [("one_after_the_other", serial), ("side_by_side", side_by_side)]
        for label, run in runs if n % 2 else runs[::-1]:
            t0 = time.perf_counter()
            run(image)
            times[label].append(time.perf_counter() - t0)
    return {label: _ms(values) for label, values in times.items()}


def http(seconds: float) -> dict[str, object]:
    root = Path(tempfile.mkdtemp(prefix="vigil-bench-words-"))
    try:
        data = root / "instance"
        services = open_services(Settings(data_dir=data, log_json=False, log_level="WARNING"))
        try:
            with services.db.system() as conn:
                auth_store.ensure_tenant(conn, "bench")
                token = auth_store.create_key(conn, tenant_name="bench", role=Role.PLATFORM).token
        finally:
            services.close()
        rng = random.Random(7)
        photo = root / "photo_1mp.jpg"
        plain(rng).save(photo, "JPEG", quality=85)
        slogan = root / "slogan_1mp.jpg"
        compose(SLOGAN, rng, "burned_in").image.save(slogan, "JPEG", quality=85)
        out: dict[str, object] = {}
        runs = (
            ("no_words_words_and_symbols_off", photo, "false", "false"),
            ("no_words_words_on", photo, "true", "false"),
            ("no_words_words_and_symbols_on", photo, "true", "true"),
            ("slogan_words_and_symbols_on", slogan, "true", "true"),
        )
        for label, path, ocr, symbols in runs:
            progress(f"over HTTP: {label} …")
            out[label] = over_http(
                data,
                token,
                path,
                seconds=seconds,
                connections=1,
                workers=1,
                env={"VIGIL_CHECK_OCR": ocr, "VIGIL_CHECK_SYMBOLS": symbols},
            )
        base = out["no_words_words_and_symbols_off"]["p50_ms"]  # type: ignore[index]
        out["added_p50_ms_no_words_words"] = round(out["no_words_words_on"]["p50_ms"] - base, 2)  # type: ignore[index]
        out["added_p50_ms_no_words_words_and_symbols"] = round(
            out["no_words_words_and_symbols_on"]["p50_ms"] - base,  # type: ignore[index]
            2,
        )
        return out
    finally:
        shutil.rmtree(root, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--max-words", type=int, default=24)
    parser.add_argument("--per-language", type=int, default=0, help="0: every held-out line that fits")
    parser.add_argument("--plain", type=int, default=100, help="photos with no words")
    parser.add_argument("--seconds", type=float, default=8.0, help="per HTTP run")
    parser.add_argument("--no-http", action="store_true")
    parser.add_argument("--askew", type=int, default=150, help="lines per language on askew posters")
    parser.add_argument("--askew-only", action="store_true", help="only the askew posters' figures")
    args = parser.parse_args()
    started = time.perf_counter()
    root = Path(tempfile.mkdtemp(prefix="vigil-bench-words-models-"))
    try:
        classifiers = Classifiers.from_config(ClassifyConfig(policy_dir=DEFAULT_POLICY_DIR, model_root=root))
        classifiers.classify_text(["warm up"])
        out: dict[str, object] = {"bench": "words", "seed": args.seed, "ocr": classifiers.ocr.status()[1]}
        if not args.askew_only:
            out["no_words_in_process"] = no_words(classifiers, args.seed, args.plain)
            out["quality"] = quality(classifiers, args.seed, args.max_words, args.per_language)
        if args.askew:
            out["askew"] = askew(classifiers, args.seed, args.max_words, args.askew)
        if not args.no_http and not args.askew_only:
            out["http"] = http(args.seconds)
        out["targets"] = {
            "recall": 0.9,
            "fpr": 0.05,
            "http_added_p50_ms_no_words_no_symbols": 5,
            "http_p50_ms_with_words": 300,
        }
        out["wall_s"] = round(time.perf_counter() - started, 1)
        print(json.dumps(out, ensure_ascii=False))
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
