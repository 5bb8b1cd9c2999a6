"""Character n-grams: the lexical half of the text heads (no I/O beyond load/save of one file).

The sentence encoder reads meaning; it reads spelling, slang and the exact words of a slogan less
well ("СВО", "zа наших", "ВІЙСЬКО — ТВІЙ ШАНС"). Beside its heads sits a logistic model per
category over the character n-grams of the text: each word is padded with a space at both ends
and cut into every piece of 2 to 5 characters, lowercased; the pieces are hashed (CRC-32) into
``BUCKETS`` buckets, counted with sublinear weight ``1 + ln(count)``, multiplied by the inverse
document frequency learnt from the training texts, and the row is scaled to unit length. A head's
logit and its category's n-gram logit are added (with a weight fitted on out-of-fold logits) before
Platt's calibration (probes.py). On the held-out split (``bench/bench_classify.py heads``), recall
at a 2 % false-positive rate, English / Russian / Ukrainian: 0.60 / 0.79 / 0.70 with the heads
alone, 0.64 / 0.92 / 0.68 with their n-grams (maximum of six categories), 0.85 / 0.95 / 0.87
read through the any-category probe (12,003-line corpus).
"""

from __future__ import annotations

import hashlib
import io
import math
import zlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
from scipy.sparse import csr_matrix

from service.classify.pinned import read_pinned
from service.errors import ConfigError

Array = npt.NDArray[np.float64]

BUCKETS = 1 << 16
ORDERS = (2, 5)  # the shortest and longest piece
L2 = 1.0 / 16.0  # the weight of the L2 penalty per unit of (class-balanced) loss


def pieces(text: str) -> Counter[int]:
    """The bucket of every character n-gram of every word of ``text``, counted."""
    low, high = ORDERS
    counts: Counter[int] = Counter()
    for word in text.lower().split():
        padded = f" {word} "
        size = len(padded)
        for n in range(low, min(high, size) + 1):
            for start in range(size - n + 1):
                counts[zlib.crc32(padded[start : start + n].encode("utf-8")) & (BUCKETS - 1)] += 1
    return counts


def count_rows(texts: Sequence[str]) -> csr_matrix:
    """One sparse row per text: sublinear counts per bucket, before the inverse document
    frequency."""
    starts = [0]
    columns: list[int] = []
    values: list[float] = []
    for text in texts:
        counts = pieces(text)
        columns += counts.keys()
        values += [1.0 + math.log(c) for c in counts.values()]
        starts.append(len(columns))
    return csr_matrix(
        (np.asarray(values, dtype=np.float64), np.asarray(columns, dtype=np.int64), starts),
        shape=(len(texts), BUCKETS),
    )


def weigh(rows: csr_matrix, idf: Array) -> csr_matrix:
    """Multiply by the inverse document frequency and scale each row to unit length."""
    weighted = csr_matrix(rows.multiply(idf[None, :]))
    norms = np.sqrt(np.asarray(weighted.multiply(weighted).sum(axis=1)).ravel())
    return csr_matrix(weighted.multiply(1.0 / np.where(norms > 0, norms, 1.0)[:, None]))


def inverse_frequency(rows: csr_matrix) -> Array:
    """Smoothed inverse document frequency per bucket: ``ln((1 + n) / (1 + df)) + 1``."""
    df = np.bincount(rows.indices, minlength=BUCKETS).astype(np.float64)
    return np.asarray(np.log((1.0 + rows.shape[0]) / (1.0 + df)) + 1.0, dtype=np.float64)


@dataclass(frozen=True, slots=True)
class NgramModel:
    """Per category (columns, in ``categories`` order) a logistic model over weighted n-grams."""

    categories: tuple[str, ...]
    idf: Array  # (BUCKETS,)
    weights: Array  # (BUCKETS, categories)
    bias: Array  # (categories,)

    def logits(self, texts: Sequence[str]) -> Array:
        return _logits(weigh(count_rows(texts), self.idf), self)

    def save(self, path: Path) -> str:
        """Write the model; returns the SHA-256 of the file (the probe file records it)."""
        buffer = io.BytesIO()
        np.savez_compressed(
            buffer,
            categories=np.asarray(self.categories),
            idf=self.idf.astype(np.float32),
            weights=self.weights.astype(np.float32),
            bias=self.bias,
            orders=np.asarray(ORDERS),
        )
        data = buffer.getvalue()
        path.write_bytes(data)
        return hashlib.sha256(data).hexdigest()

    @classmethod
    def load(cls, path: Path, sha256: str) -> NgramModel:
        data = read_pinned(path, sha256, "n-gram model")
        try:
            with np.load(io.BytesIO(data), allow_pickle=False) as raw:
                categories = tuple(str(c) for c in raw["categories"])
                model = cls(
                    categories,
                    raw["idf"].astype(np.float64),
                    raw["weights"].astype(np.float64),
                    raw["bias"].astype(np.float64),
                )
                orders = tuple(int(v) for v in raw["orders"])
        except (ValueError, KeyError, OSError) as exc:
            raise ConfigError(f"{path}: not an n-gram model ({exc}).") from exc
        if (
            orders != ORDERS
            or model.idf.shape != (BUCKETS,)
            or model.weights.shape != (BUCKETS, len(categories))
        ):
            raise ConfigError(f"{path}: made for other n-grams or buckets; run 'vigil classify train'.")
        return model


def fit_sparse_logistic(x: csr_matrix, y: Array, *, l2: float = L2) -> tuple[Array, float]:
    """Class-balanced L2 logistic regression over sparse rows (L-BFGS); returns ``(w, b)``."""
    from scipy.optimize import minimize

    n = x.shape[0]
    pos = max(float(y.sum()), 1.0)
    neg = max(float(n - y.sum()), 1.0)
    sample_w = np.where(y > 0.5, n / (2 * pos), n / (2 * neg)) / n

    def loss(theta: Array) -> tuple[float, Array]:
        w, b = theta[:-1], theta[-1]
        z = x @ w + b
        # log(1 + e^-z) for positives, log(1 + e^z) for negatives, computed stably
        signed = np.where(y > 0.5, -z, z)
        value = float((sample_w * np.logaddexp(0.0, signed)).sum()) + 0.5 * l2 * float(w @ w) / n
        residual = sample_w * (0.5 * (1.0 + np.tanh(0.5 * z)) - y)
        grad = np.empty_like(theta)
        grad[:-1] = x.T @ residual + l2 * w / n
        grad[-1] = residual.sum()
        return value, grad

    result = minimize(loss, np.zeros(BUCKETS + 1), jac=True, method="L-BFGS-B", options={"maxiter": 500})
    theta = np.asarray(result.x, dtype=np.float64)
    return theta[:-1], float(theta[-1])


def fit_ngram_model(
    texts: Sequence[str], y: Array, categories: Sequence[str], *, folds: int, l2: float = L2
) -> tuple[NgramModel, Array]:
    """Fit every category's model on all ``texts`` (``y``: texts × categories, 0/1); returns the
    model and its out-of-fold logits (folds ``i % folds``, as the heads' are)."""
    counts = count_rows(texts)
    fold_of = np.arange(counts.shape[0]) % folds
    oof = np.zeros_like(y, dtype=np.float64)
    for k in range(folds):
        train = np.flatnonzero(fold_of != k)
        held = np.flatnonzero(fold_of == k)
        idf = inverse_frequency(counts[train])
        model = _fit(weigh(counts[train], idf), y[train], categories, idf, l2)
        oof[held] = _logits(weigh(counts[held], idf), model)
    idf = inverse_frequency(counts)
    return _fit(weigh(counts, idf), y, categories, idf, l2), oof


def _fit(rows: csr_matrix, y: Array, categories: Sequence[str], idf: Array, l2: float) -> NgramModel:
    weights = np.zeros((BUCKETS, len(categories)))
    bias = np.zeros(len(categories))
    for j in range(len(categories)):
        weights[:, j], bias[j] = fit_sparse_logistic(rows, y[:, j], l2=l2)
    return NgramModel(tuple(categories), idf, weights, bias)


def _logits(rows: csr_matrix, model: NgramModel) -> Array:
    return np.asarray(rows @ model.weights, dtype=np.float64) + model.bias
