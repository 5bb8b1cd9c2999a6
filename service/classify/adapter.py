"""A low-rank adapter (LoRA) for the default text encoder: its file, and how it is merged
(training is ``adapter_train.py``).

Frozen multilingual-e5-small embeddings put the six categories and their look-alikes too close
for a head alone to separate them (held-out recall at a 2 % false-positive rate stayed near 0.65).
``vigil classify finetune`` trains rank-8 matrices ``A`` (r×in) and ``B`` (out×r) for the query,
key, value and output projections and both feed-forward layers of every transformer layer (about
666,000 numbers; the 118 M weights stay frozen), together with a linear head per category, on
the corpus's train split less a calibration split. The matrices are committed as
``policies/classify/text_adapter.npz`` (float16, ~1.3 MB) and merged into the converted weights
once, ``W' = W + B @ A``: the adapted encoder then runs exactly as the plain one does (same ONNX
export, same int8 backend), under its own name ``multilingual-e5-small+vigil-<sha12>``.

Which lines trained what (``split``): the held-out split (a fifth, by hash) is never touched;
of the rest, a fifth by a second hash byte is the calibration split, on which only the head's
Platt scaling and the operating points are fitted; the adapter and head learn from the other
four fifths.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from service.errors import ConfigError, ModelUnavailable

Array = npt.NDArray[np.float32]
# The adapted projections of every layer, as named in the transformers BertModel state dict.
TARGETS = (
    "attention.self.query",
    "attention.self.key",
    "attention.self.value",
    "attention.output.dense",
    "intermediate.dense",
    "output.dense",
)
RANK = 8
MAX_TOKENS = 128  # training texts are short; screening reads up to 256 tokens per window
SCALE = 10.0  # the head reads the unit embedding times this (a temperature for the loss)


def calibration_line(text: str) -> bool:
    """The calibration split, inside the train split: one line in five by the hash's second byte."""
    return hashlib.sha256(text.encode("utf-8")).digest()[1] % 5 == 0


def tag(path: Path) -> str:
    """``vigil-<first 12 of the file's SHA-256>``: names the adapted encoder and its files."""
    return "vigil-" + hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def load(path: Path) -> dict[str, Array]:
    """The adapter's matrices by state-dict key (``encoder.layer.3.intermediate.dense.A``)."""
    try:
        with np.load(path, allow_pickle=False) as data:
            out = {key: np.asarray(data[key], dtype=np.float32) for key in data.files}
    except (OSError, ValueError) as exc:
        raise ModelUnavailable(f"{path}: not a text adapter ({exc}); run 'vigil classify finetune'.") from exc
    if not out or any(not (k.endswith(".A") or k.endswith(".B")) for k in out):
        raise ConfigError(f"{path}: not a text adapter (keys end in .A and .B).")
    return out


def merge(state: Mapping[str, Array], adapter: Mapping[str, Array]) -> dict[str, Array]:
    """``state`` with ``W + B @ A`` for every adapted weight; a mismatch is refused, not skipped."""
    merged = dict(state)
    for key in {k[:-2] for k in adapter}:
        weight = f"{key}.weight"
        a, b = adapter.get(f"{key}.A"), adapter.get(f"{key}.B")
        if weight not in merged or a is None or b is None:
            raise ConfigError(f"the text adapter names {key}, which the encoder does not have")
        if (b.shape[0], a.shape[1]) != merged[weight].shape:
            raise ConfigError(
                f"the text adapter's {key} is {b.shape[0]}×{a.shape[1]}, not {merged[weight].shape}"
            )
        merged[weight] = (merged[weight] + b @ a).astype(np.float32)
    return merged


def save(path: Path, adapter: Mapping[str, Array]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".part.npz")
    arrays: dict[str, Any] = {k: v.astype(np.float16) for k, v in sorted(adapter.items())}
    np.savez_compressed(tmp, allow_pickle=False, **arrays)
    tmp.replace(path)
