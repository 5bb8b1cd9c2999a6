"""Probes over embeddings, with Platt calibration (no I/O beyond load/save of one file).

Two kinds, one file format:
- linear: per category, logistic regression (L2, class-balanced) fitted with Newton's method
  (image probes; few labelled images);
- with a hidden layer (text): the embeddings are standardised, go through one shared layer of
  ``width`` GELU units, and each category reads that layer with its own logistic output; trained
  together (class-balanced binary cross-entropy, AdamW, dropout) with PyTorch. A linear probe over
  multilingual-e5-small's mean-pooled embeddings separates grief from glorification less well
  (``bench/bench_classify.py heads``, held-out ROC-AUC per language: 0.92–0.94 against
  0.96–0.97).
Text heads may add a lexical half (ngrams.py: logistic models over the text's character n-grams,
stored beside the probe file and pinned by its SHA-256) and labelled neighbours (neighbours.py: a
vote of the text's nearest training lines, stored and pinned alike): each category's logit plus
``ngram_weight`` × its n-gram logit; and an any-category probe, whose logit is a weighted sum of
the strongest head logit, the hidden layer's own "any category" output, the n-gram model's
"any category" logit and the neighbours' logit. The any-category probe sets
how strong the text's scores are (the strongest category gets its score, the others in proportion
to their own): telling propaganda-style text from the rest is one decision. Read as one, at 0.80
it flags 0.89 / 0.91 / 0.86 of the held-out positives (English / Russian / Ukrainian) at 2.4 /
0.7 / 1.6 % false positives; read as the maximum over six categories, each with its own chance to
fire, 0.77 / 0.79 / 0.73 at 2.6 / 0.4 / 2.5 % (``bench/bench_classify.py heads``, heads only, on the
12,003-line corpus). Either way the
raw logit is mapped through Platt's sigmoid ``1 / (1 + exp(a·z + b))`` whose ``a, b`` are fitted
on out-of-fold logits (Platt 1999, with his smoothed targets), so a stored
score of 0.8 means roughly 80 % precision on data like the training set, not merely "more than
0.5".
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from service.classify.neighbours import NeighbourModel
from service.classify.ngrams import NgramModel
from service.errors import ConfigError
from service.vocabulary import Category

Array = npt.NDArray[np.float64]


def sigmoid(z: Array) -> Array:
    return np.asarray(0.5 * (1.0 + np.tanh(0.5 * z)), dtype=np.float64)


def platt(z: Array, a: float, b: float) -> Array:
    return sigmoid(-(a * z + b))


@dataclass(frozen=True, slots=True)
class Probe:
    category: Category
    weights: tuple[float, ...]
    bias: float
    platt_a: float
    platt_b: float
    ngram_weight: float = 0.0  # × the category's n-gram logit, added before calibration

    def logit(self, x: Array) -> Array:
        return np.asarray(x @ np.asarray(self.weights) + self.bias, dtype=np.float64)

    def score(self, x: Array, ngram_logit: Array | None = None) -> Array:
        z = self.logit(x)
        if ngram_logit is not None:
            z = z + self.ngram_weight * ngram_logit
        return np.clip(platt(z, self.platt_a, self.platt_b), 0.0, 1.0)


def gelu(x: Array) -> Array:
    """GELU, tanh form (as trained: ``torch.nn.GELU(approximate="tanh")``)."""
    return np.asarray(0.5 * x * (1.0 + np.tanh(0.7978845608028654 * (x + 0.044715 * x**3))), dtype=np.float64)


@dataclass(frozen=True, slots=True)
class HiddenLayer:
    """Standardise, then one dense GELU layer: ``gelu(((x - mean) / scale) @ weights + bias)``."""

    mean: Array
    scale: Array
    weights: Array  # (dim, width)
    bias: Array

    def apply(self, x: Array) -> Array:
        return gelu(((x - self.mean) / self.scale) @ self.weights + self.bias)


@dataclass(frozen=True, slots=True)
class AnyProbe:
    """Whether a text is propaganda-style at all, whichever the category: Platt on
    ``head_weight`` × the strongest category logit + ``own_weight`` × the hidden layer's own
    "any category" output + ``ngram_weight`` × the n-gram "any" logit + ``neighbour_weight`` ×
    the labelled neighbours' logit (neighbours.py; probe files from before them have none)."""

    head_weight: float
    own_weights: tuple[float, ...]  # the hidden layer's "any category" output
    own_bias: float
    own_weight: float
    ngram_weight: float
    platt_a: float
    platt_b: float
    neighbour_weight: float = 0.0

    def score(
        self, strongest_head: Array, features: Array, ngram_logit: Array, neighbour_logit: Array | None = None
    ) -> Array:
        z = (
            self.head_weight * strongest_head
            + self.own_weight * (features @ np.asarray(self.own_weights) + self.own_bias)
            + self.ngram_weight * ngram_logit
        )
        if neighbour_logit is not None:
            z = z + self.neighbour_weight * neighbour_logit
        return np.clip(platt(z, self.platt_a, self.platt_b), 0.0, 1.0)

    def as_dict(self) -> dict[str, object]:
        return {
            "head_weight": round(self.head_weight, 6),
            "own_weights": [round(w, 6) for w in self.own_weights],
            "own_bias": round(self.own_bias, 6),
            "own_weight": round(self.own_weight, 6),
            "ngram_weight": round(self.ngram_weight, 6),
            "neighbour_weight": round(self.neighbour_weight, 6),
            "platt_a": round(self.platt_a, 6),
            "platt_b": round(self.platt_b, 6),
        }

    @classmethod
    def from_dict(cls, raw: dict[str, Any], width: int) -> AnyProbe:
        weights = tuple(float(w) for w in raw["own_weights"])
        if len(weights) != width:
            raise ValueError(f"any: {len(weights)} weights, expected {width}")
        numbers = ("head_weight", "own_bias", "own_weight", "ngram_weight", "platt_a", "platt_b")
        near = float(raw.get("neighbour_weight", 0.0))
        return cls(own_weights=weights, neighbour_weight=near, **{k: float(raw[k]) for k in numbers})


def scaled_to(strength: Array, scores: Mapping[Category, Array]) -> dict[Category, Array]:
    """Each category's score set so the strongest equals ``strength`` and the others keep their
    proportion to it (all equal to ``strength`` where every category scored zero)."""
    stacked = np.stack(list(scores.values()), axis=1)
    top = stacked.max(axis=1)
    safe = np.where(top > 0, top, 1.0)
    share = np.where(top[:, None] > 0, stacked / safe[:, None], 1.0)
    return {c: strength * share[:, j] for j, c in enumerate(scores)}


ANY = "any"  # the n-gram model's column for "any category"


@dataclass(frozen=True, slots=True)
class ProbeSet:
    """One probe per category over the embeddings of one encoder (through a shared hidden layer
    when ``hidden`` is set)."""

    encoder: str
    dim: int
    probes: Mapping[Category, Probe]
    trained: Mapping[str, object] | None = None  # what they were trained on (counts, data hash)
    hidden: HiddenLayer | None = None
    ngrams: NgramModel | None = None  # the lexical half of text heads
    any_category: AnyProbe | None = None  # with ngrams: how strong a text's scores are, whichever category
    neighbours: NeighbourModel | None = None  # with any_category: the labelled neighbours' vote

    def features(self, x: Array) -> Array:
        if x.shape[1] != self.dim:
            raise ConfigError(
                f"probes expect {self.dim}-dim embeddings from {self.encoder}, got {x.shape[1]}"
            )
        return self.hidden.apply(x) if self.hidden is not None else x

    def score(self, x: Array, texts: Sequence[str] | None = None) -> dict[Category, Array]:
        """Scores per category of embeddings ``x``; probes with n-grams also read the ``texts``
        they were embedded from."""
        features = self.features(x)
        if self.ngrams is None:
            return {c: p.score(features) for c, p in self.probes.items()}
        if texts is None or len(texts) != x.shape[0]:
            raise ConfigError("these probes read the texts beside their embeddings")
        lexical = self.ngrams.logits(texts)
        column = {name: j for j, name in enumerate(self.ngrams.categories)}
        scores = {c: p.score(features, lexical[:, column[c.value]]) for c, p in self.probes.items()}
        if self.any_category is None:
            return scores
        strongest = np.max(np.stack([p.logit(features) for p in self.probes.values()], axis=1), axis=1)
        near = None if self.neighbours is None else self.neighbours.logits(x)
        return scaled_to(self.any_category.score(strongest, features, lexical[:, column[ANY]], near), scores)

    def save(self, path: Path) -> tuple[Path, ...]:
        """Write the probe file (JSON) and, with n-grams and neighbours, their models beside it
        (``<stem>.ngrams.npz``, ``<stem>.neighbours.npz``, each SHA-256 recorded in the probe
        file); returns what it wrote."""
        pinned: dict[str, dict[str, str] | None] = {}
        written: tuple[Path, ...] = (path,)
        for key, model in (("ngrams", self.ngrams), ("neighbours", self.neighbours)):
            pinned[key] = None
            if model is not None:
                beside = path.with_name(f"{path.stem}.{key}.npz")
                pinned[key] = {"file": beside.name, "sha256": model.save(beside)}
                written += (beside,)
        body: dict[str, object] = {
            "encoder": self.encoder,
            "dim": self.dim,
            "trained": dict(self.trained or {}),
            "hidden": None
            if self.hidden is None
            else {
                "mean": _rounded(self.hidden.mean),
                "scale": _rounded(self.hidden.scale),
                "bias": _rounded(self.hidden.bias),
                "weights": [_rounded(row) for row in self.hidden.weights],
            },
            "probes": {
                c.value: {
                    "bias": round(p.bias, 6),
                    "platt_a": round(p.platt_a, 6),
                    "platt_b": round(p.platt_b, 6),
                    "ngram_weight": round(p.ngram_weight, 6),
                    "weights": [round(w, 6) for w in p.weights],
                }
                for c, p in self.probes.items()
            },
            "ngrams": pinned["ngrams"],
            "neighbours": pinned["neighbours"],
            "any": None if self.any_category is None else self.any_category.as_dict(),
        }
        path.write_text(json.dumps(body, separators=(",", ":")) + "\n", encoding="utf-8")
        return written

    @classmethod
    def load(cls, path: Path) -> ProbeSet:
        try:
            body = json.loads(path.read_text(encoding="utf-8"))
            dim = int(body["dim"])
            hidden = _hidden(body.get("hidden"), dim)
            width = dim if hidden is None else hidden.weights.shape[1]
            probes: dict[Category, Probe] = {}
            for name, p in body["probes"].items():
                category = Category(name)
                weights = tuple(float(w) for w in p["weights"])
                if len(weights) != width:
                    raise ValueError(f"{name}: {len(weights)} weights, expected {width}")
                probes[category] = Probe(
                    category,
                    weights,
                    float(p["bias"]),
                    float(p["platt_a"]),
                    float(p["platt_b"]),
                    float(p.get("ngram_weight", 0.0)),
                )
            ngrams = _ngrams(path, body.get("ngrams"), probes)
            raw_any = body.get("any")
            any_probe = None if raw_any is None else AnyProbe.from_dict(raw_any, width)
            if any_probe is not None and (ngrams is None or ANY not in ngrams.categories):
                raise ValueError("an any-category probe needs the n-gram model's 'any' column")
            neighbours = _neighbours(path, body.get("neighbours"), dim)
            if neighbours is not None and any_probe is None:
                raise ValueError("neighbours are read through an any-category probe, and there is none")
            if neighbours is None and any_probe is not None and any_probe.neighbour_weight > 0:
                raise ValueError("the any-category probe weighs neighbours, and none are pinned")
            trained = body.get("trained")
            return cls(
                encoder=str(body["encoder"]),
                dim=dim,
                probes=probes,
                trained=dict(trained) if isinstance(trained, dict) else None,
                hidden=hidden,
                ngrams=ngrams,
                any_category=any_probe,
                neighbours=neighbours,
            )
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ConfigError(f"{path}: not a probe file ({exc}); run 'vigil classify train'.") from exc


def _beside(path: Path, raw: object, key: str) -> tuple[Path, str] | None:
    """The file a probe file pins under ``key`` (beside it) and its SHA-256, or None."""
    if raw is None:
        return None
    if not isinstance(raw, dict) or not isinstance(raw.get("file"), str) or "/" in raw["file"]:
        raise ValueError(f"'{key}' must name a file beside the probe file and its sha256")
    return path.parent / raw["file"], str(raw.get("sha256", ""))


def _ngrams(path: Path, raw: object, probes: Mapping[Category, Probe]) -> NgramModel | None:
    pinned = _beside(path, raw, "ngrams")
    if pinned is None:
        return None
    model = NgramModel.load(*pinned)
    missing = {c.value for c in probes} - set(model.categories)
    if missing:
        raise ValueError(f"the n-gram model has no {', '.join(sorted(missing))}")
    return model


def _neighbours(path: Path, raw: object, dim: int) -> NeighbourModel | None:
    pinned = _beside(path, raw, "neighbours")
    return None if pinned is None else NeighbourModel.load(*pinned, dim)


def _rounded(values: Array) -> list[float]:
    return [round(float(v), 6) for v in values]


def _hidden(raw: object, dim: int) -> HiddenLayer | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise ValueError("'hidden' must be an object")
    layer = HiddenLayer(
        mean=np.asarray(raw["mean"], dtype=np.float64),
        scale=np.asarray(raw["scale"], dtype=np.float64),
        weights=np.asarray(raw["weights"], dtype=np.float64),
        bias=np.asarray(raw["bias"], dtype=np.float64),
    )
    width = layer.bias.shape[0] if layer.bias.ndim == 1 else -1
    if layer.mean.shape != (dim,) or layer.scale.shape != (dim,) or layer.weights.shape != (dim, width):
        raise ValueError(f"hidden layer shapes do not fit {dim}-dim embeddings")
    if not np.all(layer.scale > 0):
        raise ValueError("hidden layer scales must be positive")
    return layer
