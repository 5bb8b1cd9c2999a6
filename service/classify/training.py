"""Training entry points behind ``vigil classify train``: text probes and image probes."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from service.classify import adapter as lora
from service.classify import adapter_train
from service.classify.encoder import resolve_encoder
from service.classify.image import CALIBRATION_FILE, PROBES_FILE, ClipClassifier, load_image_file
from service.classify.lexicon import load_lexicon
from service.classify.model import CATEGORIES
from service.classify.probe_fit import fit_platt, train_probes
from service.classify.probe_train import load_examples, operating_point, split, train_text_probes
from service.classify.probes import Probe, ProbeSet
from service.classify.prompts import save_calibration
from service.classify.registry import ClassifyConfig
from service.classify.text import text_encoder
from service.errors import ModelUnavailable
from service.vocabulary import Category


@dataclass(frozen=True, slots=True)
class TrainReport:
    kind: str
    examples: int
    trained_on: int
    written: tuple[Path, ...]


def train_text(config: ClassifyConfig, data: Path, out: Path, *, include_held_out: bool) -> TrainReport:
    examples = load_examples(data, kind="text")
    encoder = text_encoder(config)
    lexicon = load_lexicon(config.policy_dir / "lexicon")
    probes = train_text_probes(examples, encoder, include_held_out=include_held_out, lexicon=lexicon)
    out.parent.mkdir(parents=True, exist_ok=True)
    written = probes.save(out)
    used = len(examples) if include_held_out else len(split(examples)[0])
    return TrainReport("text", len(examples), used, written)


def finetune_text(
    config: ClassifyConfig,
    data: Path,
    adapter_out: Path,
    probes_out: Path,
    *,
    epochs: int = 4,
    seed: int = 0,
    progress: Callable[[str], None] = lambda _: None,
) -> TrainReport:
    """Train the text adapter and its heads (adapter.py): the adapter and a linear head per
    category on four fifths of the train split, then, with the adapter merged and the encoder on
    its serving backend, Platt scaling of each head and the operating points on the calibration
    fifth. The held-out split is not read."""
    examples = load_examples(data, kind="text")
    train_split = split(examples)[0]
    calibration = [e for e in train_split if lora.calibration_line(e.content)]
    fit = [e for e in train_split if not lora.calibration_line(e.content)]
    progress(
        f"{len(fit)} texts train the adapter, {len(calibration)} calibrate it; the held-out split is not read"
    )
    plain = replace(config, text_adapter=None, text_encoder_path=None)
    base_dir = resolve_encoder(None, plain.model_root)
    matrices, weights, biases = adapter_train.train(
        base_dir,
        [e.content for e in fit],
        [e.labels for e in fit],
        epochs=epochs,
        seed=seed,
        progress=progress,
    )
    lora.save(adapter_out, matrices)
    encoder = text_encoder(replace(plain, text_adapter=adapter_out))
    progress(f"embedding the calibration split with {encoder.name}")
    x = encoder.embed([e.content for e in calibration]).astype(np.float64)
    probes: dict[Category, Probe] = {}
    for j, category in enumerate(CATEGORIES):
        z = x @ weights[j].astype(np.float64) + float(biases[j])
        y = np.array([1.0 if category in e.labels else 0.0 for e in calibration])
        a, b = fit_platt(z, y)
        probes[category] = Probe(category, tuple(float(w) for w in weights[j]), float(biases[j]), a, b)
    probe_set = ProbeSet(encoder=encoder.name, dim=x.shape[1], probes=probes)
    scores = probe_set.score(x)
    strongest = np.max(np.stack([scores[c] for c in CATEGORIES], axis=1), axis=1)
    lexicon = load_lexicon(config.policy_dir / "lexicon")
    asks = np.zeros(len(calibration), dtype=bool)
    for i, example in enumerate(calibration):
        scan = lexicon.scan(example.content)
        strongest[i] = max(strongest[i], *scan.boosts.values(), 0.0)
        asks[i] = any(hit.review for hit in scan.hits)
    negatives = np.array([not e.labels for e in calibration])
    trained = {
        "method": "lora-adapter",
        "adapter": lora.tag(adapter_out),
        "fit_examples": len(fit),
        "calibration_examples": len(calibration),
        "held_out_included": False,
        "epochs": epochs,
        "seed": seed,
        "texts_sha256": hashlib.sha256("\n".join(sorted(e.content for e in fit)).encode("utf-8")).hexdigest(),
        # The lowest review_at at which at most this share of the calibration negatives would
        # reach a person (with the lexicon, as the text classifier combines them).
        "operating_points": {
            f"negatives_flagged_{share}": operating_point(strongest[negatives], asks[negatives], share)
            for share in (0.01, 0.015, 0.02)
        },
    }
    replace(probe_set, trained=trained).save(probes_out)
    return TrainReport("text", len(examples), len(fit) + len(calibration), (adapter_out, probes_out))


def train_image(config: ClassifyConfig, data: Path, *, include_held_out: bool) -> TrainReport:
    """Linear probes over the configured image model's embeddings, plus Platt parameters for its
    zero-shot scores, both written next to the model in the store."""
    if config.image_model is None:
        raise ModelUnavailable("No image model is configured: set VIGIL_CLASSIFY_IMAGE_MODEL.")
    classifier = ClipClassifier(config=config)
    tower = classifier.tower
    if tower is None:
        raise ModelUnavailable(classifier.status()[1])
    examples = load_examples(data, kind="image")
    chosen = examples if include_held_out else split(examples)[0]
    x = np.concatenate(
        [
            classifier.embed([load_image_file(Path(e.content)) for e in chosen[i : i + 16]])
            for i in range(0, len(chosen), 16)
        ]
    )
    labels = [e.labels for e in chosen]
    model_dir = classifier.store.path(config.image_model)
    probes = train_probes(x.astype(np.float64), labels, encoder=config.image_model, folds=min(4, len(chosen)))
    probes.save(model_dir / PROBES_FILE)
    # Platt parameters for the zero-shot scores, refitted on the same labels (kept for when the
    # probe file is removed).
    logits = tower.logit_scale * (x @ classifier._classes.T)
    rest = np.logaddexp.reduce(logits[:, len(CATEGORIES) :], axis=1)
    params: dict[Category, tuple[float, float]] = {}
    for j, category in enumerate(CATEGORIES):
        y = np.array([1.0 if category in ls else 0.0 for ls in labels])
        params[category] = fit_platt((logits[:, j] - rest).astype(np.float64), y)
    save_calibration(model_dir / CALIBRATION_FILE, params)
    classifier.reload()
    return TrainReport(
        "image", len(examples), len(chosen), (model_dir / PROBES_FILE, model_dir / CALIBRATION_FILE)
    )
