"""Train the symbol verifier on synthetic crops and export it to ONNX (``policies/symbols/``).

``python -m service.classify.symbol_train [--seed 7] [--pictures 16000] [--epochs 18]`` makes
``--pictures`` synthetic pictures (``symbol_synth``: training photos only), runs the matcher's
own candidate generator (``symbol_net.propose``) on each and labels every candidate by its
overlap with the planted symbol (IoU >= 0.5: that symbol; < 0.3: "none"; between: unused; of
the "none" crops at most ``NEG_PER_PICTURE``, up to ``HARD_PER_PICTURE`` of them on the letters
and figures stamped as clutter), adds two jittered crops of each planted symbol's true box (most
symbols painted as ``symbol_synth.varied`` draws them), and trains a small CNN (``Net``) on
``--workers`` CPU threads. The last tenth of the pictures is held out: it calibrates the probabilities (one
temperature, fitted by log loss) and gives the validation figures. Writes ``verifier.onnx`` (the
calibrated softmax) and ``verifier.json`` (classes, the SHA-256 of the model and of every drawing
it was trained on, the recipe, the figures). Same seed, same arguments: same crops and weights
(``--workers`` processes make the crops, the same for any number; as many threads train, and a
different number of threads sums in another order, so weights agree only for the same number).
The shipped verifier was made with the defaults: 20 minutes on 2 cores (4 to make the crops).
"""

from __future__ import annotations

import argparse
import json
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch
from torch import nn

from service.classify import symbol_net as net
from service.classify import symbol_synth as synth
from service.classify.symbols import SymbolRef, load_refs

OUT_DIR = Path(__file__).resolve().parents[2] / "policies" / "symbols"
NEG_PER_PICTURE = 8
HARD_PER_PICTURE = 4  # of those, at most this many on the letters and figures stamped as clutter
WIDTHS = (16, 32, 64, 128)  # channels of the four conv blocks
F32 = np.ndarray[Any, np.dtype[np.float32]]


class Net(nn.Module):
    """Four 3x3 conv blocks (``widths`` channels, batch norm, max pool) and one linear layer."""

    def __init__(self, classes: int, widths: tuple[int, ...] = WIDTHS) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        width = 2
        for out in widths:
            layers += [
                nn.Conv2d(width, out, 3, padding=1, bias=False),
                nn.BatchNorm2d(out),
                nn.ReLU(),
                nn.MaxPool2d(2),
            ]
            width = out
        self.features = nn.Sequential(*layers)
        side = net.CROP // 2 ** len(widths)
        self.head = nn.Sequential(nn.Flatten(), nn.Dropout(0.2), nn.Linear(width * side * side, classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.head(self.features(x))
        return out


class Calibrated(nn.Module):
    def __init__(self, inner: Net, temperature: float) -> None:
        super().__init__()
        self.inner, self.temperature = inner, temperature

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.inner(x) / self.temperature, dim=1)


def _iou(boxes: F32, truth: tuple[float, float, float, float]) -> F32:
    x, y, w, h = truth
    iw = np.clip(np.minimum(boxes[:, 0] + boxes[:, 2], x + w) - np.maximum(boxes[:, 0], x), 0, None)
    ih = np.clip(np.minimum(boxes[:, 1] + boxes[:, 3], y + h) - np.maximum(boxes[:, 1], y), 0, None)
    inter = iw * ih
    return np.asarray(inter / (boxes[:, 2] * boxes[:, 3] + w * h - inter), np.float32)


def picture_samples(
    seed: int, index: int, refs: list[SymbolRef], own: list[bool]
) -> tuple[F32, np.ndarray[Any, Any]]:
    """The crops and labels (0 none, k: refs[k - 1]) of synthetic picture ``index``; ``own``:
    whether a drawing is painted in its own colours (as it is drawn; the others ``varied``)."""
    rng = np.random.default_rng([seed, index])
    short = int(rng.uniform(300, 720))
    long = int(short * rng.uniform(1.0, 1.5))
    size = (long, short) if rng.random() < 0.6 else (short, long)
    img, area = synth.background(rng, size)
    label, truth, sign = 0, (0.0, 0.0, 0.0, 0.0), 1.0
    stamped: list[tuple[int, int, int, int]] = []
    if rng.random() < 0.6:
        label = 1 + int(rng.integers(len(refs)))
        ref = refs[label - 1]
        drawing = ref.image if own[label - 1] else synth.varied(rng, ref.image, ref.id)
        truth_i, sign = synth.paint_symbol(rng, img, drawing, area, own[label - 1])
        truth = tuple(float(v) for v in truth_i)  # type: ignore[assignment]
        if rng.random() < 0.4:
            stamped = synth.clutter(rng, img, int(rng.integers(1, 4)))
    else:
        stamped = synth.clutter(rng, img, int(rng.integers(0, 6)))
    img = synth.finish(rng, img)
    small, scale = net.small_copy(img)
    grey = np.asarray(cv2.cvtColor(small, cv2.COLOR_RGB2GRAY), np.uint8)
    cands = net.propose(small, grey)
    grey_looks = cands.polarity != net.BY_COLOUR  # the verifier learns from grey looks only
    boxes, polarity = cands.boxes[grey_looks], cands.polarity[grey_looks]
    labels = np.zeros(len(boxes), np.int64)
    keep = np.ones(len(boxes), bool)
    if label:
        t = tuple(v * scale for v in truth)
        iou = _iou(boxes, t)  # type: ignore[arg-type]
        labels[iou >= 0.5] = label
        keep = (iou >= 0.5) | (iou < 0.3)
        x, y, w, h = t
        jitter = [
            (
                x + rng.uniform(-0.1, 0.1) * w,
                y + rng.uniform(-0.1, 0.1) * h,
                w * rng.uniform(0.9, 1.15),
                h * rng.uniform(0.9, 1.15),
            )
            for _ in range(2)
        ]
        boxes = np.concatenate([boxes, np.asarray(jitter, np.float32).reshape(-1, 4)])
        polarity = np.concatenate([polarity, np.full(2, 0.0 if own[label - 1] else sign, np.float32)])
        labels = np.concatenate([labels, np.full(2, label)])
        keep = np.concatenate([keep, np.ones(2, bool)])
    negatives = np.flatnonzero(keep & (labels == 0))
    if len(negatives) > NEG_PER_PICTURE:  # the boxes on stamped letters and figures first
        on_stamp = np.zeros(len(boxes), bool)
        for box in stamped:
            on_stamp |= _iou(boxes, tuple(float(v) * scale for v in box)) >= 0.3  # type: ignore[arg-type]
        hard = rng.permutation(negatives[on_stamp[negatives]])[:HARD_PER_PICTURE]
        rest = rng.permutation(np.setdiff1d(negatives, hard))[: NEG_PER_PICTURE - len(hard)]
        keep[np.setdiff1d(negatives, np.concatenate([hard, rest]))] = False
    chosen = net.Candidates(boxes[keep], polarity[keep])
    return net.crops(small, chosen), labels[keep]


def _fit_temperature(logits: torch.Tensor, labels: torch.Tensor) -> float:
    grid = np.linspace(0.5, 4.0, 71)
    losses = [float(nn.functional.cross_entropy(logits / t, labels)) for t in grid]
    return float(grid[int(np.argmin(losses))])


def _samples_of(seed: int, indices: range, out_dir: Path) -> list[tuple[F32, np.ndarray[Any, Any]]]:
    """``picture_samples`` of every picture in ``indices`` (one worker's share)."""
    cv2.setNumThreads(1)
    refs = load_refs(out_dir)
    own = [net.coloured(r.image) for r in refs]  # the ribbon is painted in its own colours
    return [picture_samples(seed, i, refs, own) for i in indices]


def train(
    seed: int,
    pictures: int,
    epochs: int,
    out_dir: Path,
    widths: tuple[int, ...] = WIDTHS,
    workers: int = 1,
) -> dict[str, Any]:
    """Make the crops (``workers`` processes; the same crops for any number), train on
    ``workers`` threads, calibrate, export."""
    torch.set_num_threads(workers)
    cv2.setNumThreads(1)
    torch.manual_seed(seed)
    started = time.perf_counter()
    refs = load_refs(out_dir)
    classes = ["none", *(r.id for r in refs)]
    step = 250
    shares = [range(k, min(pictures, k + step)) for k in range(0, pictures, step)]
    with ProcessPoolExecutor(max_workers=workers) as pool:
        done = list(pool.map(_samples_of, [seed] * len(shares), shares, [out_dir] * len(shares)))
    xs, ys, owner = [], [], []
    for share, samples in zip(shares, done, strict=True):
        for i, (x, y) in zip(share, samples, strict=True):
            xs.append(x)
            ys.append(y)
            owner.append(np.full(len(y), i))
    data_s = time.perf_counter() - started
    x_all = torch.from_numpy(np.concatenate(xs))
    y_all = torch.from_numpy(np.concatenate(ys))
    held = torch.from_numpy(np.concatenate(owner) >= int(pictures * 0.9))
    xt, yt, xv, yv = x_all[~held], y_all[~held], x_all[held], y_all[held]
    model = Net(len(classes), widths)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=1e-4)
    batch = 128
    steps = epochs * ((len(xt) + batch - 1) // batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=steps)
    gen = torch.Generator().manual_seed(seed)
    for epoch in range(epochs):
        model.train()
        order = torch.randperm(len(xt), generator=gen)
        total = 0.0
        for k in range(0, len(xt), batch):
            idx = order[k : k + batch]
            xb = xt[idx]
            shift = torch.randint(-2, 3, (2,), generator=gen).tolist()
            xb = torch.roll(xb, shifts=(shift[0], shift[1]), dims=(2, 3))
            loss = nn.functional.cross_entropy(model(xb), yt[idx], label_smoothing=0.02)
            opt.zero_grad()
            loss.backward()  # type: ignore[no-untyped-call]
            opt.step()
            sched.step()
            total += loss.item() * len(idx)
        print(
            f"epoch {epoch}: loss {total / len(xt):.4f} ({time.perf_counter() - started:.0f} s)", flush=True
        )
    model.eval()
    with torch.no_grad():
        logits = torch.cat([model(xv[k : k + 1024]) for k in range(0, len(xv), 1024)])
    temperature = _fit_temperature(logits, yv)
    probs = torch.softmax(logits / temperature, 1)
    pred = probs.argmax(1)
    per_class = {
        c: round(float((pred[yv == k] == k).float().mean()), 3)
        for k, c in enumerate(classes)
        if bool((yv == k).any())
    }
    onnx_path = out_dir / "verifier.onnx"
    torch.onnx.export(
        Calibrated(model, temperature), (torch.zeros(1, 2, net.CROP, net.CROP),), str(onnx_path),
        input_names=["crops"], output_names=["probs"], dynamic_axes={"crops": {0: "n"}, "probs": {0: "n"}},
        opset_version=17, dynamo=False,
    )  # fmt: skip
    meta = {
        "model": onnx_path.name,
        "sha256": net.file_sha256(onnx_path),
        "classes": classes,
        "drawings": {r.id: net.drawing_sha256(r.image.convert("RGBA").tobytes()) for r in refs},
        "crop": net.CROP,
        "temperature": temperature,
        "parameters": sum(p.numel() for p in model.parameters()),
        "recipe": {
            "command": "python -m service.classify.symbol_train "
            + f"--seed {seed} --pictures {pictures} --epochs {epochs} "
            + f"--widths {','.join(map(str, widths))} --workers {workers}",
            "max_candidates": net.MAX_CANDIDATES,
            "train_photos": list(synth.TRAIN_PHOTOS),
            "held_out_photos": list(synth.HELD_OUT_PHOTOS),
            "torch": torch.__version__,
        },
        "validation": {
            "crops": len(yv),
            "accuracy_per_class": per_class,
            "none_called_symbol": round(float((pred[yv == 0] != 0).float().mean()), 4),
        },
        "train_crops": len(yt),
        "data_seconds": round(data_s),
        "train_seconds": round(time.perf_counter() - started - data_s),
    }
    (out_dir / "verifier.json").write_text(
        json.dumps(meta, indent=1, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    return meta


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--pictures", type=int, default=16000)
    parser.add_argument("--epochs", type=int, default=18)
    parser.add_argument("--out", type=Path, default=OUT_DIR)
    parser.add_argument("--widths", default=",".join(map(str, WIDTHS)), help="channels of the conv blocks")
    parser.add_argument("--workers", type=int, default=2, help="processes making crops, threads training")
    args = parser.parse_args()
    widths = tuple(int(w) for w in args.widths.split(","))
    meta = train(args.seed, args.pictures, args.epochs, args.out, widths, args.workers)
    print(
        json.dumps(
            {k: meta[k] for k in ("validation", "temperature", "parameters", "train_seconds")}, indent=1
        )
    )


if __name__ == "__main__":
    main()
