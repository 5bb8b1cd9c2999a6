"""Labelled neighbours: a third reading of a text beside the heads and the n-grams (no I/O beyond
load/save of one file).

The heads draw one smooth boundary through the whole embedding space; a text that sits among
training lines of one kind ("he earned every one of those bodies" beside other lines that praise
killing) can still fall on the wrong side of it. Beside them sits a vote of the text's ``K``
nearest training lines: the embeddings are standardised, projected on their first ``DIMS``
principal axes (fitted on the training lines), scaled to unit length, and compared by cosine; each
of the ``K`` most similar training lines votes with weight ``exp(SHARPNESS × cosine)`` for
whether it carries any category, and the share of the votes, smoothed, becomes a logit. The
any-category probe (probes.py) weighs that logit beside the strongest head and the n-grams, with
a weight fitted on out-of-fold logits: a line's neighbours then come only from the other folds.

Measured before it was built, as a scratch comparison (not a ``bench/`` script): the held-out
lines of the two newest corpus files, scored by the probes trained before those files were
written (so neither the probes nor the neighbours had seen their setting), ROC-AUC English /
Russian / Ukrainian 0.991 / 0.977 / 0.969 for the probes alone and 0.995 / 0.981 / 0.977 with
the neighbours' logit added.

The training lines are stored as their projected unit vectors in int8 (one scale per row), with
one bit each: whether the line carries any category. The texts themselves are not stored.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from service.classify.pinned import read_pinned
from service.errors import ConfigError

Array = npt.NDArray[np.float64]

K = 10
DIMS = 256  # principal axes kept: the vote read the same as on all 768 (scratch comparison)
SHARPNESS = 10.0
SMOOTH = 0.02  # added to both sides of the share, so a unanimous vote is a finite logit
_BLOCK = 2048  # texts compared at once (bounds the similarity matrix's memory)


@dataclass(frozen=True, slots=True)
class NeighbourModel:
    mean: Array  # (dim,) of the training embeddings
    scale: Array  # (dim,)
    axes: Array  # (dim, DIMS): the principal axes
    vectors: npt.NDArray[np.float32]  # (lines, DIMS): unit rows (stored as int8 and row scales)
    positive: Array  # (lines,): 1.0 where the line carries any category

    def project(self, x: Array) -> npt.NDArray[np.float32]:
        return _unit(((x - self.mean) / self.scale) @ self.axes)

    def logits(self, x: Array) -> Array:
        """The neighbours' logit of each row of embeddings ``x``."""
        return vote(self.project(x), self.vectors, self.positive)

    def save(self, path: Path) -> str:
        """Write the model; returns the SHA-256 of the file (the probe file records it)."""
        peak = np.abs(self.vectors).max(axis=1)
        row_scale = np.where(peak > 0, peak / 127.0, 1.0).astype(np.float32)
        quantised = np.round(self.vectors / row_scale[:, None]).astype(np.int8)
        buffer = io.BytesIO()
        np.savez_compressed(
            buffer,
            mean=self.mean.astype(np.float32),
            scale=self.scale.astype(np.float32),
            axes=self.axes.astype(np.float32),
            vectors=quantised,
            row_scale=row_scale,
            positive=np.packbits(self.positive > 0.5),
            lines=np.asarray(len(self.positive)),
            knobs=np.asarray([K, SHARPNESS, SMOOTH]),
        )
        data = buffer.getvalue()
        path.write_bytes(data)
        return hashlib.sha256(data).hexdigest()

    @classmethod
    def load(cls, path: Path, sha256: str, dim: int) -> NeighbourModel:
        data = read_pinned(path, sha256, "neighbours file")
        try:
            with np.load(io.BytesIO(data), allow_pickle=False) as raw:
                lines = int(raw["lines"])
                vectors = raw["vectors"].astype(np.float32) * raw["row_scale"].astype(np.float32)[:, None]
                model = cls(
                    raw["mean"].astype(np.float64),
                    raw["scale"].astype(np.float64),
                    raw["axes"].astype(np.float64),
                    vectors,
                    np.unpackbits(raw["positive"])[:lines].astype(np.float64),
                )
                knobs = [float(v) for v in raw["knobs"]]
        except (ValueError, KeyError, OSError) as exc:
            raise ConfigError(f"{path}: not a neighbours file ({exc}).") from exc
        if (
            knobs != [float(K), SHARPNESS, SMOOTH]
            or model.mean.shape != (dim,)
            or model.axes.shape != (dim, model.vectors.shape[1])
            or model.vectors.shape[0] != lines
            or not np.all(model.scale > 0)
        ):
            raise ConfigError(
                f"{path}: made for other embeddings or another vote; run 'vigil classify train'."
            )
        return model


def vote(queries: npt.NDArray[np.float32], vectors: npt.NDArray[np.float32], positive: Array) -> Array:
    """Per query (unit rows), the smoothed logit of the share of its ``K`` nearest ``vectors``
    (cosine, weighted by ``exp(SHARPNESS × cosine)``) that are ``positive``."""
    k = min(K, len(positive))
    out = np.zeros(len(queries), dtype=np.float64)
    if k == 0:
        return out
    for start in range(0, len(queries), _BLOCK):
        sims = queries[start : start + _BLOCK] @ vectors.T
        nearest = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        weights = np.exp(SHARPNESS * (np.take_along_axis(sims, nearest, axis=1) - 1.0)).astype(np.float64)
        share = (weights * positive[nearest]).sum(axis=1) / weights.sum(axis=1)
        out[start : start + len(share)] = np.log((share + SMOOTH) / (1.0 - share + SMOOTH))
    return out


def fit_neighbours(x: Array, positive: Array, *, folds: int) -> tuple[NeighbourModel, Array]:
    """The model over every row of ``x`` (embeddings of the training lines; ``positive``: 1.0 where
    a line carries any category), and each line's out-of-fold logit: its neighbours taken only
    from the other folds (``i % folds``, as the heads' are)."""
    mean = x.mean(axis=0)
    scale = x.std(axis=0) + 1e-6
    standard = (x - mean) / scale
    # principal axes of the standardised training embeddings (right singular vectors)
    _, _, rows = np.linalg.svd(standard, full_matrices=False)
    axes = rows[: min(DIMS, rows.shape[0])].T
    model = NeighbourModel(mean, scale, axes, _unit(standard @ axes), positive.astype(np.float64))
    fold_of = np.arange(len(positive)) % folds
    oof = np.zeros(len(positive), dtype=np.float64)
    for k in range(folds):
        mine = fold_of == k
        oof[mine] = vote(model.vectors[mine], model.vectors[~mine], model.positive[~mine])
    return model, oof


def _unit(z: Array) -> npt.NDArray[np.float32]:
    norms = np.linalg.norm(z, axis=1, keepdims=True)
    return np.asarray(z / np.where(norms > 0, norms, 1.0), dtype=np.float32)
