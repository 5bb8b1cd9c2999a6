"""Probes over embeddings, with Platt calibration (no I/O beyond load/save of one file).

Two kinds, one file format:
- linear: per category, logistic regression (L2, class-balanced) fitted with Newton's method
  (image probes; few labelled images);
- with a hidden layer (text): the embeddings are standardised, go through one shared layer of
  ``width`` GELU units, and each category reads that layer with its own logistic output; trained
  together (class-balanced binary cross-entropy, AdamW, dropout) with PyTorch. A linear probe over
  multilingual-e5-small's mean-pooled embeddings separates grief from glorification less well
  (``bench/bench_classify.py heads``, held-out ROC-AUC per language: 0.93–0.96 against
  0.96–0.98).
Either way the raw logit is mapped through Platt's sigmoid ``1 / (1 + exp(a·z + b))`` whose
``a, b`` are fitted on out-of-fold logits (Platt 1999, with his smoothed targets), so a stored
score of 0.8 means roughly 80 % precision on data like the training set, not merely "more than
0.5".
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from service.errors import ConfigError
from service.vocabulary import Category

Array = npt.NDArray[np.float64]


def _sigmoid(z: Array) -> Array:
    return np.asarray(0.5 * (1.0 + np.tanh(0.5 * z)), dtype=np.float64)


def fit_logistic(x: Array, y: Array, *, l2: float = 1.0, iters: int = 30) -> tuple[Array, float]:
    """Class-balanced L2 logistic regression by Newton steps; returns ``(w, b)``."""
    n, d = x.shape
    pos = max(float(y.sum()), 1.0)
    neg = max(float(n - y.sum()), 1.0)
    sample_w = np.where(y > 0.5, n / (2 * pos), n / (2 * neg))
    xb = np.hstack([x, np.ones((n, 1))])
    theta = np.zeros(d + 1)
    reg = np.full(d + 1, l2)
    reg[-1] = 0.0
    for _ in range(iters):
        p = _sigmoid(xb @ theta)
        grad = xb.T @ (sample_w * (p - y)) + reg * theta
        hess = (xb * (sample_w * p * (1 - p))[:, None]).T @ xb + np.diag(reg + 1e-6)
        step = np.linalg.solve(hess, grad)
        theta -= step
        if float(np.abs(step).max()) < 1e-6:
            break
    return theta[:-1], float(theta[-1])


def fit_platt(z: Array, y: Array, *, iters: int = 50) -> tuple[float, float]:
    """Platt's sigmoid on logits ``z``: ``p = 1 / (1 + exp(a z + b))`` with smoothed targets."""
    pos = float(y.sum())
    neg = float(len(y) - pos)
    t = np.where(y > 0.5, (pos + 1) / (pos + 2), 1 / (neg + 2))
    a, b = -1.0, 0.0
    for _ in range(iters):
        p = _sigmoid(-(a * z + b))
        # gradient/hessian of the cross-entropy in (a, b); p = sigmoid(-(a z + b))
        d = t - p
        g = np.array([float((d * z).sum()), float(d.sum())])
        w = p * (1 - p)
        h = np.array(
            [[float((w * z * z).sum()), float((w * z).sum())], [float((w * z).sum()), float(w.sum())]]
        )
        h += np.eye(2) * 1e-9
        step = np.linalg.solve(h, g)
        a, b = a - step[0], b - step[1]
        if float(np.abs(step).max()) < 1e-9:
            break
    return float(a), float(b)


def platt(z: Array, a: float, b: float) -> Array:
    return _sigmoid(-(a * z + b))


@dataclass(frozen=True, slots=True)
class Probe:
    category: Category
    weights: tuple[float, ...]
    bias: float
    platt_a: float
    platt_b: float

    def score(self, x: Array) -> Array:
        z = x @ np.asarray(self.weights) + self.bias
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
class ProbeSet:
    """One probe per category over the embeddings of one encoder (through a shared hidden layer
    when ``hidden`` is set)."""

    encoder: str
    dim: int
    probes: Mapping[Category, Probe]
    trained: Mapping[str, object] | None = None  # what they were trained on (counts, data hash)
    hidden: HiddenLayer | None = None

    def score(self, x: Array) -> dict[Category, Array]:
        if x.shape[1] != self.dim:
            raise ConfigError(
                f"probes expect {self.dim}-dim embeddings from {self.encoder}, got {x.shape[1]}"
            )
        features = self.hidden.apply(x) if self.hidden is not None else x
        return {c: p.score(features) for c, p in self.probes.items()}

    def save(self, path: Path) -> None:
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
                    "weights": [round(w, 6) for w in p.weights],
                }
                for c, p in self.probes.items()
            },
        }
        path.write_text(json.dumps(body, separators=(",", ":")) + "\n", encoding="utf-8")

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
                    category, weights, float(p["bias"]), float(p["platt_a"]), float(p["platt_b"])
                )
            trained = body.get("trained")
            return cls(
                encoder=str(body["encoder"]),
                dim=dim,
                probes=probes,
                trained=dict(trained) if isinstance(trained, dict) else None,
                hidden=hidden,
            )
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ConfigError(f"{path}: not a probe file ({exc}); run 'vigil classify train'.") from exc


def train_probes(
    x: Array, labels: Sequence[frozenset[Category]], *, encoder: str, l2: float = 1.0, folds: int = 4
) -> ProbeSet:
    """Fit one calibrated probe per category from embeddings ``x`` and multi-label ``labels``."""
    n = x.shape[0]
    fold_of = np.arange(n) % folds
    probes: dict[Category, Probe] = {}
    for category in Category:
        y = np.array([1.0 if category in ls else 0.0 for ls in labels])
        if y.sum() < 2:
            raise ConfigError(f"the training set has fewer than 2 examples of {category}")
        oof = np.zeros(n)
        for k in range(folds):
            train, held = fold_of != k, fold_of == k
            w, b = fit_logistic(x[train], y[train], l2=l2)
            oof[held] = x[held] @ w + b
        a, pb = fit_platt(oof, y)
        w, b = fit_logistic(x, y, l2=l2)
        probes[category] = Probe(category, tuple(float(v) for v in w), b, a, pb)
    return ProbeSet(encoder=encoder, dim=x.shape[1], probes=probes)


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


def _fit_hidden(
    x: Array, y: Array, *, width: int, epochs: int, seed: int, weight_decay: float, dropout: float
) -> tuple[HiddenLayer, Array, Array]:
    """Train the shared layer and every category's output together; returns the layer, the
    output weights ``(width, categories)`` and biases."""
    import torch

    torch.manual_seed(seed)
    mean = x.mean(axis=0)
    scale = np.maximum(x.std(axis=0), 1e-6)
    inputs = torch.tensor((x - mean) / scale, dtype=torch.float32)
    targets = torch.tensor(y, dtype=torch.float32)
    pos = targets.sum(dim=0).clamp(min=1.0)
    pos_weight = ((targets.shape[0] - pos) / pos).clamp(max=50.0)
    dense = torch.nn.Linear(x.shape[1], width)
    out = torch.nn.Linear(width, y.shape[1])
    net = torch.nn.Sequential(dense, torch.nn.GELU(approximate="tanh"), torch.nn.Dropout(dropout), out)
    optimiser = torch.optim.AdamW(net.parameters(), lr=1e-3, weight_decay=weight_decay)
    loss_of = torch.nn.BCEWithLogitsLoss(pos_weight=pos_weight)
    for _ in range(epochs):
        net.train()
        optimiser.zero_grad()
        loss = loss_of(net(inputs), targets)
        loss.backward()
        optimiser.step()
    net.eval()
    layer = HiddenLayer(
        mean=mean,
        scale=scale,
        weights=dense.weight.detach().double().numpy().T.copy(),
        bias=dense.bias.detach().double().numpy().copy(),
    )
    return layer, out.weight.detach().double().numpy().T.copy(), out.bias.detach().double().numpy().copy()


def train_hidden_probes(
    x: Array,
    labels: Sequence[frozenset[Category]],
    *,
    encoder: str,
    width: int = 256,
    epochs: int = 200,
    folds: int = 5,
    seed: int = 0,
    weight_decay: float = 1e-2,
    dropout: float = 0.5,
) -> tuple[ProbeSet, dict[Category, Array]]:
    """Probes through a shared hidden layer, Platt-calibrated on out-of-fold logits. Returns the
    probes and each category's calibrated out-of-fold scores (to choose operating points on the
    training split without touching the held-out one)."""
    categories = list(Category)
    y = np.array([[1.0 if c in ls else 0.0 for c in categories] for ls in labels])
    for j, category in enumerate(categories):
        if y[:, j].sum() < folds:
            raise ConfigError(f"the training set has fewer than {folds} examples of {category}")
    n = x.shape[0]
    fold_of = np.arange(n) % folds
    oof = np.zeros_like(y)
    fit = functools.partial(
        _fit_hidden, width=width, epochs=epochs, seed=seed, weight_decay=weight_decay, dropout=dropout
    )
    for k in range(folds):
        train, held = fold_of != k, fold_of == k
        layer, w, b = fit(x[train], y[train])
        oof[held] = layer.apply(x[held]) @ w + b
    layer, w, b = fit(x, y)
    probes: dict[Category, Probe] = {}
    calibrated: dict[Category, Array] = {}
    for j, category in enumerate(categories):
        a, pb = fit_platt(oof[:, j], y[:, j])
        probes[category] = Probe(category, tuple(float(v) for v in w[:, j]), float(b[j]), a, pb)
        calibrated[category] = platt(oof[:, j], a, pb)
    return ProbeSet(encoder=encoder, dim=x.shape[1], probes=probes, hidden=layer), calibrated
