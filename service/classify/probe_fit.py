"""Fitting probes (probes.py holds the model and its file): class-balanced logistic regression by
Newton steps, Platt's calibration, linear probes per category (image probes) and probes through a
shared hidden layer trained with PyTorch (text heads)."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from service.classify.probes import Array, HiddenLayer, Probe, ProbeSet, platt, sigmoid
from service.errors import ConfigError
from service.vocabulary import Category


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
        p = sigmoid(xb @ theta)
        grad = xb.T @ (sample_w * (p - y)) + reg * theta
        hess = (xb * (sample_w * p * (1 - p))[:, None]).T @ xb + np.diag(reg + 1e-6)
        step = np.linalg.solve(hess, grad)
        theta -= step
        if float(np.abs(step).max()) < 1e-6:
            break
    return theta[:-1], float(theta[-1])


def fit_platt(z: Array, y: Array, *, iters: int = 100) -> tuple[float, float]:
    """Platt's sigmoid on logits ``z``: ``p = 1 / (1 + exp(a z + b))`` with smoothed targets.
    Newton steps, halved until the cross-entropy falls (wide logits would overshoot)."""
    pos = float(y.sum())
    neg = float(len(y) - pos)
    t = np.where(y > 0.5, (pos + 1) / (pos + 2), 1 / (neg + 2))

    def cost(a: float, b: float) -> float:
        m = a * z + b  # p = sigmoid(-m): -log p = log(1 + e^m), -log(1 - p) = log(1 + e^-m)
        return float((t * np.logaddexp(0.0, m) + (1 - t) * np.logaddexp(0.0, -m)).sum())

    a, b = -1.0, 0.0
    current = cost(a, b)
    for _ in range(iters):
        p = sigmoid(-(a * z + b))
        # gradient/hessian of the cross-entropy in (a, b); p = sigmoid(-(a z + b))
        d = t - p
        g = np.array([float((d * z).sum()), float(d.sum())])
        w = p * (1 - p)
        h = np.array(
            [[float((w * z * z).sum()), float((w * z).sum())], [float((w * z).sum()), float(w.sum())]]
        )
        h += np.eye(2) * 1e-9
        step = np.linalg.solve(h, g)
        scale = 1.0
        while scale > 1e-6 and cost(a - scale * step[0], b - scale * step[1]) > current:
            scale /= 2
        if scale <= 1e-6:
            break
        a, b = a - scale * step[0], b - scale * step[1]
        current = cost(a, b)
        if float(np.abs(scale * step).max()) < 1e-9:
            break
    return float(a), float(b)


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
    with_any: bool = False,
) -> HiddenFit:
    """Probes through a shared hidden layer, Platt-calibrated on out-of-fold logits. Returns the
    probes, each category's calibrated out-of-fold scores (to choose operating points on the
    training split without touching the held-out one) and the raw out-of-fold logits (texts ×
    categories, folds ``i % folds``); ``with_any``: the layer also learns an "any category"
    output, returned beside them (its logits in the last column)."""
    categories = list(Category)
    y = np.array([[1.0 if c in ls else 0.0 for c in categories] for ls in labels])
    if with_any:
        y = np.hstack([y, y.max(axis=1, keepdims=True)])
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
    probe_set = ProbeSet(encoder=encoder, dim=x.shape[1], probes=probes, hidden=layer)
    any_output = (tuple(float(v) for v in w[:, -1]), float(b[-1])) if with_any else None
    return HiddenFit(probe_set, calibrated, oof, any_output)


@dataclass(frozen=True, slots=True)
class HiddenFit:
    probes: ProbeSet
    calibrated: dict[Category, Array]  # out-of-fold, Platt-calibrated
    raw: Array  # out-of-fold logits, texts × (categories, then "any" where learnt)
    any_output: tuple[tuple[float, ...], float] | None  # the "any" output's weights and bias
