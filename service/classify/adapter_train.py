"""Training the low-rank adapter (``adapter.py`` holds its file format and the merge): the
adapter and a linear head per category, on the corpus's train split less a calibration split."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from service.classify import e5
from service.classify.adapter import MAX_TOKENS, RANK, SCALE, TARGETS, Array
from service.classify.encoder import encoder_input, middle_layer, quiet_transformers
from service.classify.model import CATEGORIES


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
    embedding, pooled as the encoder pools it) with class-weighted binary cross-entropy, AdamW
    and a one-cycle schedule. Returns (adapter matrices, head weights (categories × dim), head biases)."""
    import torch
    from transformers import AutoModel

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
    head = torch.nn.Linear(2 * model.config.hidden_size, len(CATEGORIES))
    params = [p for lora in adapted.values() for p in (lora.a, lora.b)] + list(head.parameters())
    y = torch.tensor([[c in ls for c in CATEGORIES] for ls in labels], dtype=torch.float32)
    positive_weight = ((len(texts) - y.sum(0)) / y.sum(0).clamp(min=1)).clamp(max=20)
    loss_fn = torch.nn.BCEWithLogitsLoss(pos_weight=positive_weight)
    optimiser = torch.optim.AdamW(params, lr=lr, weight_decay=0.01)
    steps = epochs * math.ceil(len(texts) / batch)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, max_lr=lr, total_steps=steps)

    def embed(chunk: list[str]) -> Any:
        read = [encoder_input(t, e5.PREFIX) for t in chunk]
        enc = tokenizer(read, max_length=MAX_TOKENS, return_tensors="pt")
        states = model(**enc, output_hidden_states=True).hidden_states
        mask = enc["attention_mask"].unsqueeze(-1).float()
        means = [(states[i] * mask).sum(1) / mask.sum(1) for i in (middle_layer(len(states) - 1), -1)]
        both = torch.cat([torch.nn.functional.normalize(m, dim=1) for m in means], dim=1)
        return both / math.sqrt(2.0) * SCALE  # the encoder's own pooling (encoder.POOLING)

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
