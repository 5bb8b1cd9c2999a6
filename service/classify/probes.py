"""Linear probes over embeddings, with Platt calibration (no I/O beyond load/save of one file).

A probe is logistic regression (L2, class-balanced) fitted with Newton's method; its raw logit
is then mapped through Platt's sigmoid ``1 / (1 + exp(a·z + b))`` whose ``a, b`` are fitted on
out-of-fold logits (Platt 1999, with his smoothed targets), so a stored score of 0.8 means
roughly 80 % precision on data like the seed set, not merely "more than 0.5".
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from service.classify.model import Category
from service.errors import ConfigError

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


@dataclass(frozen=True, slots=True)
class ProbeSet:
    """One probe per category over the embeddings of one encoder."""

    encoder: str
    dim: int
    probes: Mapping[Category, Probe]

    def score(self, x: Array) -> dict[Category, Array]:
        if x.shape[1] != self.dim:
            raise ConfigError(
                f"probes expect {self.dim}-dim embeddings from {self.encoder}, got {x.shape[1]}"
            )
        return {c: p.score(x) for c, p in self.probes.items()}

    def save(self, path: Path) -> None:
        body = {
            "encoder": self.encoder,
            "dim": self.dim,
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
        path.write_text(json.dumps(body, indent=1) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> ProbeSet:
        try:
            body = json.loads(path.read_text(encoding="utf-8"))
            dim = int(body["dim"])
            probes: dict[Category, Probe] = {}
            for name, p in body["probes"].items():
                category = Category(name)
                weights = tuple(float(w) for w in p["weights"])
                if len(weights) != dim:
                    raise ValueError(f"{name}: {len(weights)} weights, expected {dim}")
                probes[category] = Probe(
                    category, weights, float(p["bias"]), float(p["platt_a"]), float(p["platt_b"])
                )
            return cls(encoder=str(body["encoder"]), dim=dim, probes=probes)
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
