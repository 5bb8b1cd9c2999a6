"""Labelled JSONL data and the training of text probes (``vigil classify train``).

One example per line: ``{"text": ..., "lang": "en|ru|uk", "labels": [category, ...], "slice":
"positive|<contrast>", "form": "caption|prompt|script|post|ocr"}`` where a contrast is one of
``model.Contrast`` (private_memorial, news, history, anti_war, fiction, veterans_civilian,
pet_memorial, trend_criticism, family); image examples carry ``"image": "<path relative to the
file>"`` instead of ``text``. The held-out split is fixed by a hash of the content (one line in
five), so the shipped probes, the benchmark and the tests agree on which lines were never trained
on or tuned on.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import numpy.typing as npt

from service.classify.encoder import TextEncoder
from service.classify.lexicon import LEXICON_NEEDS, Lexicon
from service.classify.model import Contrast
from service.classify.neighbours import fit_neighbours
from service.classify.ngrams import fit_ngram_model
from service.classify.probe_fit import HiddenFit, fit_logistic, fit_platt, train_hidden_probes
from service.classify.probes import ANY, AnyProbe, ProbeSet, platt, scaled_to
from service.errors import InputError
from service.vocabulary import Category

SLICES = ("positive", *(c.value for c in Contrast))
HEAD_FOLDS = 5  # the folds of train_hidden_probes' out-of-fold logits (``i % folds``)


@dataclass(frozen=True, slots=True)
class Example:
    content: str  # the text, or the image path (resolved)
    lang: str
    labels: frozenset[Category]
    slice: str
    form: str = ""  # caption, prompt, script, post or ocr

    @property
    def held_out(self) -> bool:
        return hashlib.sha256(self.content.encode("utf-8")).digest()[0] % 5 == 0


def load_examples(path: Path, *, kind: str = "text") -> list[Example]:
    """Parse a labelled JSONL file, or every ``*.jsonl`` file of a folder (the shipped corpus is
    one file per language); every bad line is reported with its file and number."""
    files = sorted(path.glob("*.jsonl")) if path.is_dir() else [path]
    if not files:
        raise InputError(f"{path}: no *.jsonl files in this folder.")
    examples: list[Example] = []
    problems: list[str] = []
    for file in files:
        examples += _load_file(file, kind, problems)
    if problems:
        shown = "; ".join(problems[:10])
        more = f" (and {len(problems) - 10} more)" if len(problems) > 10 else ""
        raise InputError(f"{path}: {len(problems)} bad line(s): {shown}{more}")
    if not examples:
        raise InputError(f"{path}: no examples.")
    return examples


def _load_file(path: Path, kind: str, problems: list[str]) -> list[Example]:
    examples: list[Example] = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(f"{path.name}: cannot read ({exc})")
        return examples
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
            form = str(raw.get("form", ""))
            examples.append(Example(content, str(raw.get("lang", "en")), labels, slice_, form))
        except (ValueError, KeyError, TypeError) as exc:
            problems.append(f"{path.name} line {number}: {exc}")
    return examples


def split(examples: Sequence[Example]) -> tuple[list[Example], list[Example]]:
    train = [e for e in examples if not e.held_out]
    test = [e for e in examples if e.held_out]
    return train, test


def train_text_probes(
    examples: Sequence[Example],
    encoder: TextEncoder,
    *,
    include_held_out: bool = False,
    lexicon: Lexicon | None = None,
) -> ProbeSet:
    chosen = list(examples) if include_held_out else split(examples)[0]
    x = encoder.embed([e.content for e in chosen]).astype(np.float64)
    fit = train_hidden_probes(
        x, [e.labels for e in chosen], encoder=encoder.name, folds=HEAD_FOLDS, with_any=True
    )
    probes, out_of_fold = with_ngrams(fit, chosen, x)
    negatives = np.array([not e.labels for e in chosen])
    strongest = np.max(np.stack(list(out_of_fold.values()), axis=1), axis=1)
    # a one-sided lexicon term asks for a person whatever the score, unless the heads read the
    # text as ordinary (lexicon.LEXICON_NEEDS), as the text classifier combines them
    asks = np.zeros(len(chosen), dtype=bool)
    if lexicon is not None:
        for i, example in enumerate(chosen):
            scan = lexicon.scan(example.content, ordinary=bool(strongest[i] < LEXICON_NEEDS))
            strongest[i] = max(strongest[i], *scan.boosts.values(), 0.0)
            asks[i] = any(hit.review for hit in scan.hits)
    digest = hashlib.sha256("\n".join(sorted(e.content for e in chosen)).encode("utf-8")).hexdigest()
    languages = sorted({e.lang for e in chosen})
    trained = {
        "examples": len(chosen),
        "held_out_included": include_held_out,
        "texts_sha256": digest,
        # The lowest review_at at which at most this share of the training negatives would reach
        # a person (out-of-fold scores with the lexicon, as the text classifier combines them; the
        # held-out split is not used): where to put the policy's review_at.
        "operating_points": {
            f"negatives_flagged_{share}": operating_point(strongest[negatives], asks[negatives], share)
            for share in (0.01, 0.015, 0.02)
        },
        "per_language": {
            lang: {
                "positive": sum(1 for e in chosen if e.lang == lang and e.labels),
                "negative": sum(1 for e in chosen if e.lang == lang and not e.labels),
            }
            for lang in languages
        },
    }
    return replace(probes, trained=trained)


def with_ngrams(
    fit: HiddenFit, examples: Sequence[Example], x: npt.NDArray[np.float64]
) -> tuple[ProbeSet, dict[Category, npt.NDArray[np.float64]]]:
    """Add the lexical half and the labelled neighbours to text heads (probes.py): fit the n-gram
    model (ngrams.py) on the same folds as the heads, one column per category and one for "any
    category", and the neighbours (neighbours.py) over the embeddings ``x`` of the same lines;
    per category the weight of its n-gram logit beside the head's, and for the any-category probe
    the weights of the strongest head logit, the hidden layer's own "any" output, the n-gram "any"
    logit and the neighbours' logit (logistic fits on out-of-fold logits); then Platt's
    calibration of each sum. Returns the probes and their calibrated out-of-fold scores, combined
    as the probes combine them."""
    if fit.any_output is None:
        raise ValueError("the heads were trained without their 'any category' output")
    probes = fit.probes
    categories = list(probes.probes)
    heads = fit.raw[:, : len(categories)]
    own = fit.raw[:, len(categories)]
    y = np.array([[1.0 if c in e.labels else 0.0 for c in categories] for e in examples])
    y_any = y.max(axis=1)
    model, lexical = fit_ngram_model(
        [e.content for e in examples],
        np.hstack([y, y_any[:, None]]),
        [*(c.value for c in categories), ANY],
        folds=HEAD_FOLDS,
    )
    updated = {}
    calibrated = {}
    for j, category in enumerate(categories):
        # the head's logit weighs 1 in the probe: its n-gram logit weighs their ratio
        _, weights = _stacked([heads[:, j], lexical[:, j]], y[:, j])
        ratio = float(np.clip(weights[1] / weights[0], 0.0, 10.0)) if weights[0] > 0 else 1.0
        summed = heads[:, j] + ratio * lexical[:, j]
        a, b = fit_platt(summed, y[:, j])
        updated[category] = replace(probes.probes[category], ngram_weight=ratio, platt_a=a, platt_b=b)
        calibrated[category] = platt(summed, a, b)
    neighbours, near = fit_neighbours(x, y_any, folds=HEAD_FOLDS)
    strongest = heads.max(axis=1)
    summed, weights = _stacked([strongest, own, lexical[:, -1], near], y_any)
    a, b = fit_platt(summed, y_any)
    any_probe = AnyProbe(
        head_weight=weights[0],
        own_weights=fit.any_output[0],
        own_bias=fit.any_output[1],
        own_weight=weights[1],
        ngram_weight=weights[2],
        platt_a=a,
        platt_b=b,
        neighbour_weight=weights[3],
    )
    strength = platt(summed, a, b)
    combined = replace(probes, probes=updated, ngrams=model, any_category=any_probe, neighbours=neighbours)
    return combined, scaled_to(strength, calibrated)


def _stacked(
    logits: Sequence[npt.NDArray[np.float64]], y: npt.NDArray[np.float64]
) -> tuple[npt.NDArray[np.float64], tuple[float, ...]]:
    """The weights of out-of-fold logits in one logistic fit (none below zero: each logit is
    evidence for the label, never against it), and their weighted sum."""
    x = np.stack(logits, axis=1)
    w, _ = fit_logistic(x, y, l2=1e-3)
    weights = tuple(max(float(v), 0.0) for v in w)
    if not any(weights):
        weights = (1.0,) * len(weights)
    return x @ np.asarray(weights), weights


def operating_point(scores: npt.NDArray[np.float64], asks: npt.NDArray[np.bool_], share: float) -> float:
    """The lowest threshold at which texts scoring at or above it, or asked for by the lexicon,
    are at most ``share`` of these (negative) texts; 1.0 when the lexicon alone flags more."""
    budget = int(np.floor(share * len(scores))) - int(asks.sum())
    if budget < 0:
        return 1.0
    rest = np.sort(scores[~asks])[::-1]
    if budget >= len(rest):
        return 0.0
    # just above the first score past the budget, rounded up so the rounding never lets it in
    return min(1.0, math.floor(float(rest[budget]) * 10_000 + 1) / 10_000)


def average_precision(scores: Sequence[float], truth: Sequence[bool]) -> float:
    """Area under the precision-recall curve (step-wise average precision)."""
    order = np.argsort(-np.asarray(scores), kind="stable")
    hits = np.asarray(truth, dtype=bool)[order]
    if not hits.any():
        return float("nan")
    precision = np.cumsum(hits) / np.arange(1, len(hits) + 1)
    return float((precision * hits).sum() / hits.sum())
