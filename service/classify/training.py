"""Training entry points behind ``vigil classify train``: text probes and image probes."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from service.classify.image import CALIBRATION_FILE, PROBES_FILE, ClipClassifier, load_image_file
from service.classify.lexicon import load_lexicon
from service.classify.model import CATEGORIES, Category
from service.classify.probes import fit_platt, train_probes
from service.classify.prompts import save_calibration
from service.classify.registry import ClassifyConfig
from service.classify.text import text_encoder
from service.classify.train import load_examples, split, train_text_probes
from service.errors import ModelUnavailable


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
    probes.save(out)
    used = len(examples) if include_held_out else len(split(examples)[0])
    return TrainReport("text", len(examples), used, (out,))


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
