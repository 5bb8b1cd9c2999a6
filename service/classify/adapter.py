"""A low-rank adapter (LoRA) for the default text encoder, and how it is trained.

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
import math
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from service.classify.model import CATEGORIES
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


def train(
    model_dir: Path,
    texts: Sequence[str],
    labels: Sequence[frozenset[Any]],
    *,
    epochs: int = 4,
    lr: float = 1e-3,
    batch: int = 16,
    seed: int = 0,
    progress: Callable[[str], None] = lambda _: None,
) -> tuple[dict[str, Array], Array, Array]:
    """Train the adapter and a linear head (one logit per category over ``SCALE`` × the unit
    mean-pooled embedding) with class-weighted binary cross-entropy, AdamW and a one-cycle
    schedule. Returns (adapter matrices, head weights (categories × dim), head biases)."""
    import torch
    from transformers import AutoModel

    from service.classify import e5
    from service.classify.encoder import quiet_transformers

    quiet_transformers()
    torch.manual_seed(seed)
    tokenizer = e5.E5Tokenizer(model_dir)
    model = AutoModel.from_pretrained(str(model_dir), local_files_only=True, add_pooling_layer=False)  # nosec B615
    for p in model.parameters():
        p.requires_grad = False

    class LoRA(torch.nn.Module):
        def __init__(self, base: Any) -> None:
            super().__init__()
            self.base = base
            self.a = torch.nn.Parameter(torch.randn(RANK, base.in_features) / math.sqrt(base.in_features))
            self.b = torch.nn.Parameter(torch.zeros(base.out_features, RANK))

        def forward(self, x: Any) -> Any:
            return self.base(x) + (x @ self.a.T) @ self.b.T

    adapted: dict[str, LoRA] = {}
    for i, layer in enumerate(model.encoder.layer):
        for target in TARGETS:
            owner = layer
            *path, last = target.split(".")
            for part in path:
                owner = getattr(owner, part)
            lora = LoRA(getattr(owner, last))
            setattr(owner, last, lora)
            adapted[f"encoder.layer.{i}.{target}"] = lora
    head = torch.nn.Linear(model.config.hidden_size, len(CATEGORIES))
    params = [p for lora in adapted.values() for p in (lora.a, lora.b)] + list(head.parameters())
    y = torch.tensor([[c in ls for c in CATEGORIES] for ls in labels], dtype=torch.float32)
    positive_weight = ((len(texts) - y.sum(0)) / y.sum(0).clamp(min=1)).clamp(max=20)
    loss_fn = torch.nn.BCEWithLogitsLoss(pos_weight=positive_weight)
    optimiser = torch.optim.AdamW(params, lr=lr, weight_decay=0.01)
    steps = epochs * math.ceil(len(texts) / batch)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, max_lr=lr, total_steps=steps)

    def embed(chunk: list[str]) -> Any:
        enc = tokenizer([e5.PREFIX + t.strip() for t in chunk], max_length=MAX_TOKENS, return_tensors="pt")
        hidden = model(**enc).last_hidden_state
        mask = enc["attention_mask"].unsqueeze(-1).float()
        pooled = (hidden * mask).sum(1) / mask.sum(1)
        return torch.nn.functional.normalize(pooled, dim=1) * SCALE

    started = time.monotonic()
    model.train()
    for epoch in range(epochs):
        order = np.random.default_rng(seed + epoch).permutation(len(texts))
        total = 0.0
        for start in range(0, len(texts), batch):
            idx = order[start : start + batch]
            optimiser.zero_grad()
            loss = loss_fn(head(embed([texts[i] for i in idx])), y[idx])
            loss.backward()
            optimiser.step()
            schedule.step()
            total += float(loss.item())
        progress(f"epoch {epoch + 1}/{epochs}: loss {total:.1f} ({time.monotonic() - started:.0f} s)")
    matrices: dict[str, Array] = {}
    for key, lora in adapted.items():
        matrices[f"{key}.A"] = lora.a.detach().numpy().astype(np.float32)
        matrices[f"{key}.B"] = lora.b.detach().numpy().astype(np.float32)
    weights = head.weight.detach().numpy().astype(np.float32) * SCALE  # over the unit embedding
    return matrices, weights, head.bias.detach().numpy().astype(np.float32)
