"""Classify benchmark: text throughput and quality, image latency (torch and ONNX int8).

Prints one JSON object. The image model is a CLIP of ViT-B/32 size (CLIPConfig defaults) with
random weights, built here from its config, so the cost measured is the real one; the text
figures use the shipped encoder, probes and lexicon on the held-out split of the seed set.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
from PIL import Image

from service.classify.encoder import native_bf16
from service.classify.model import CATEGORIES
from service.classify.registry import DEFAULT_POLICY_DIR, ClassifyConfig
from service.classify.text import TextClassifier
from service.classify.train import average_precision, load_examples, split

THRESHOLD = 0.5  # the operating point at which the memorial false-positive rate is read


def _text_rate(classifier: TextClassifier, texts: list[str]) -> float:
    start = time.perf_counter()
    classifier.classify(texts)
    return len(texts) / (time.perf_counter() - start)


def _quality(classifier: TextClassifier, held: list[Any]) -> tuple[dict[str, object], list[Any]]:
    results = classifier.classify([e.content for e in held])
    pr_auc = {
        c.value: round(average_precision([r.scores[c] for r in results], [c in e.labels for e in held]), 3)
        for c in CATEGORIES
    }
    memorial = [r for r, e in zip(results, held, strict=True) if e.slice == "private_memorial"]
    negatives = [r for r, e in zip(results, held, strict=True) if not e.labels]
    flagged = sum(1 for r in memorial if max(r.scores.values()) >= THRESHOLD)
    neg_flagged = sum(1 for r in negatives if max(r.scores.values()) >= THRESHOLD)
    return {
        "held_out_pr_auc": pr_auc,
        "memorial_slice_fpr": round(flagged / max(len(memorial), 1), 3),
        "all_negatives_fpr": round(neg_flagged / max(len(negatives), 1), 3),
    }, results


def bench_text() -> dict[str, object]:
    """Every text backend on the same texts (the seed set twice, 508 texts of 36 tokens on
    average): throughput, held-out quality, and how far its scores sit from PyTorch fp32's."""
    examples = load_examples(DEFAULT_POLICY_DIR / "classify" / "text_seed.jsonl")
    _, held = split(examples)
    texts = [e.content for e in examples] * 2
    onnx_root = Path(tempfile.mkdtemp())
    backends: dict[str, ClassifyConfig] = {
        "onnx_int8": ClassifyConfig(
            policy_dir=DEFAULT_POLICY_DIR, model_root=onnx_root, text_backend="onnx-int8"
        ),
        "onnx_fp32": ClassifyConfig(policy_dir=DEFAULT_POLICY_DIR, model_root=onnx_root, text_backend="onnx"),
        "torch_bf16": ClassifyConfig(policy_dir=DEFAULT_POLICY_DIR, model_root=onnx_root, cpu_bf16=True),
        "torch_fp32": ClassifyConfig(policy_dir=DEFAULT_POLICY_DIR, model_root=onnx_root),
    }
    out: dict[str, object] = {"text_texts_per_s_target": 300, "text_batch": len(texts)}
    scored: dict[str, list[Any]] = {}
    for name, config in backends.items():  # the fastest first, before PyTorch's threads are up
        classifier = TextClassifier(config=config)
        classifier.classify(["warm up"])
        _text_rate(classifier, texts[:64])
        rate = max(_text_rate(classifier, texts) for _ in range(2))
        quality, scored[name] = _quality(classifier, held)
        out[f"text_{name}"] = {"texts_per_s": round(rate, 1), **quality}
    for name, results in scored.items():
        pairs = zip(results, scored["torch_fp32"], strict=True)
        drift = max(abs(a.scores[c] - b.scores[c]) for a, b in pairs for c in CATEGORIES)
        out[f"text_{name}"]["max_score_difference_to_torch_fp32"] = round(drift, 4)  # type: ignore[index]
    out["text_bf16_native"] = native_bf16()
    out["held_out_examples"] = len(held)
    out["held_out_positives"] = {c.value: sum(c in e.labels for e in held) for c in CATEGORIES}
    out["memorial_slice_size"] = sum(1 for e in held if e.slice == "private_memorial")
    out["fpr_threshold"] = THRESHOLD
    return out


def build_vit_b32(directory: Path) -> Path:
    import torch
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel, CLIPTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    torch.manual_seed(0)
    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    for ch in "abcdefghijklmnopqrstuvwxyz.,'-":
        vocab[ch] = len(vocab)
        vocab[ch + "</w>"] = len(vocab)
    config = CLIPConfig()  # the defaults are openai/clip-vit-base-patch32's sizes
    CLIPModel(config).eval().save_pretrained(directory)
    CLIPTokenizer(vocab=vocab, merges=[]).save_pretrained(directory)
    CLIPImageProcessor(size={"shortest_edge": 224}, crop_size={"height": 224, "width": 224}).save_pretrained(
        directory
    )
    return directory


def _latency_ms(embed: object, images: list[Image.Image], runs: int) -> float:
    times = []
    for i in range(runs):
        start = time.perf_counter()
        embed([images[i % len(images)]])  # type: ignore[operator]
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def bench_image() -> dict[str, object]:
    import torch

    from service.classify.tower import ClipTower

    rng = np.random.default_rng(0)
    images = [Image.fromarray(rng.integers(0, 255, (480, 640, 3), dtype=np.uint8)) for _ in range(4)]
    with tempfile.TemporaryDirectory() as tmp:
        path = build_vit_b32(Path(tmp) / "vit-b32")
        default_threads = torch.get_num_threads()
        tower = ClipTower(path)
        params = sum(p.numel() for p in tower.model.vision_model.parameters())
        for image in images:
            tower.embed_images([image])
        torch_ms = _latency_ms(tower.embed_images, images, 10)
        torch.set_num_threads(1)
        torch_ms_1 = _latency_ms(tower.embed_images, images, 10)
        torch.set_num_threads(default_threads)
        bf16 = ClipTower(path, bf16=True)
        for image in images:
            bf16.embed_images([image])
        bf16_ms = _latency_ms(bf16.embed_images, images, 10)
        torch.set_num_threads(1)
        bf16_ms_1 = _latency_ms(bf16.embed_images, images, 10)
        torch.set_num_threads(default_threads)
        bf16_agreement = float(
            np.mean(np.sum(tower.embed_images(images) * bf16.embed_images(images), axis=1))
        )
        tower.export_onnx(path / "onnx")
        onnx = ClipTower(path, backend="onnx", onnx_dir=path / "onnx")
        for image in images:
            onnx.embed_images([image])
        onnx_ms = _latency_ms(onnx.embed_images, images, 20)
        onnx_1 = ClipTower(path, backend="onnx", onnx_dir=path / "onnx", threads=1)
        onnx_ms_1 = _latency_ms(onnx_1.embed_images, images, 20)
        torch.set_num_threads(default_threads)
        a, b = tower.embed_images(images), onnx.embed_images(images)
        agreement = float(np.mean(np.sum(a * b, axis=1)))
    return {
        "image_vision_params_m": round(params / 1e6, 1),
        "image_torch_ms_per_image": round(torch_ms, 1),
        "image_torch_ms_per_image_1_thread": round(torch_ms_1, 1),
        "image_torch_ms_target": 60,
        "image_torch_bf16_ms_per_image": round(bf16_ms, 1),
        "image_torch_bf16_ms_per_image_1_thread": round(bf16_ms_1, 1),
        "image_torch_bf16_native": bf16.bf16,
        "bf16_vs_fp32_cosine": round(bf16_agreement, 4),
        "image_onnx_int8_ms_per_image": round(onnx_ms, 1),
        "image_onnx_int8_ms_per_image_1_thread": round(onnx_ms_1, 1),
        "image_onnx_int8_ms_target": 25,
        "onnx_int8_vs_torch_cosine": round(agreement, 4),
        "torch_threads_default": default_threads,
        "load_average_1m": round(os.getloadavg()[0], 2),
        "cpu_count": os.cpu_count(),
    }


def main() -> None:
    out: dict[str, object] = {"bench": "classify"}
    only = sys.argv[1:] or ["text", "image"]
    if "text" in only:
        out.update(bench_text())
    if "image" in only:
        out.update(bench_image())
    print(json.dumps(out))


if __name__ == "__main__":
    main()
