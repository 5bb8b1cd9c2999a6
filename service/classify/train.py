"""Labelled JSONL data and the training of linear probes (``vigil classify train``).

One example per line: ``{"text": ..., "lang": "en|ru|uk", "labels": [category, ...], "slice":
"positive|private_memorial|news|history|anti_war|fiction|veterans_civilian"}``; image examples
carry ``"image": "<path relative to the file>"`` instead of ``text``. The held-out split is
fixed by a hash of the content (one line in five), so the shipped probes, the benchmark and the
tests agree on which lines were never trained on.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from service.classify.encoder import TextEncoder
from service.classify.model import Category, Contrast
from service.classify.probes import ProbeSet, train_probes
from service.errors import InputError

SLICES = ("positive", *(c.value for c in Contrast))


@dataclass(frozen=True, slots=True)
class Example:
    content: str  # the text, or the image path (resolved)
    lang: str
    labels: frozenset[Category]
    slice: str

    @property
    def held_out(self) -> bool:
        return hashlib.sha256(self.content.encode("utf-8")).digest()[0] % 5 == 0


def load_examples(path: Path, *, kind: str = "text") -> list[Example]:
    """Parse a labelled JSONL file; every bad line is reported with its number."""
    examples: list[Example] = []
    problems: list[str] = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc}).") from exc
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
            content = raw[kind]
            if not isinstance(content, str) or not content.strip():
                raise ValueError(f"'{kind}' must be a non-empty string")
            if kind == "image":
                content = str((path.parent / content).resolve())
            labels = frozenset(Category(v) for v in raw.get("labels", []))
            slice_ = str(raw.get("slice", "positive" if labels else "other"))
            examples.append(Example(content, str(raw.get("lang", "en")), labels, slice_))
        except (ValueError, KeyError, TypeError) as exc:
            problems.append(f"line {number}: {exc}")
    if problems:
        raise InputError(f"{path}: {len(problems)} bad line(s): " + "; ".join(problems[:10]))
    if not examples:
        raise InputError(f"{path}: no examples.")
    return examples


def split(examples: Sequence[Example]) -> tuple[list[Example], list[Example]]:
    train = [e for e in examples if not e.held_out]
    test = [e for e in examples if e.held_out]
    return train, test


def train_text_probes(
    examples: Sequence[Example], encoder: TextEncoder, *, include_held_out: bool = False
) -> ProbeSet:
    chosen = list(examples) if include_held_out else split(examples)[0]
    x = encoder.embed([e.content for e in chosen]).astype(np.float64)
    return train_probes(x, [e.labels for e in chosen], encoder=encoder.name)


def average_precision(scores: Sequence[float], truth: Sequence[bool]) -> float:
    """Area under the precision-recall curve (step-wise average precision)."""
    order = np.argsort(-np.asarray(scores), kind="stable")
    hits = np.asarray(truth, dtype=bool)[order]
    if not hits.any():
        return float("nan")
    precision = np.cumsum(hits) / np.arange(1, len(hits) + 1)
    return float((precision * hits).sum() / hits.sum())
