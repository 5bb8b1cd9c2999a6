"""The CLIP-family image classifier: zero-shot prompt ensembles, Platt calibration, probes.

For each category, its raw score is the softmax share of the category's class embedding against
every contrast class and the neutral class; other categories are left out of
that softmax so the categories stay independent. The share's log-odds go through the stored Platt
parameters. Where a linear probe was trained for the model (``vigil classify train --kind
image``), the probe's calibrated score replaces the zero-shot one for its category.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from PIL import Image

from service.classify.model import CATEGORIES, Modality, Scores
from service.classify.modelstore import ModelStore
from service.classify.probes import ProbeSet, platt
from service.classify.prompts import load_calibration, load_prompts
from service.classify.registry import Classifier, ClassifyConfig
from service.classify.tower import ClipTower
from service.errors import VigilError
from service.vocabulary import Category, SignalState

PROBES_FILE = "image_probes.json"
# A failed load is retried after this long, so a model pulled while Vigil runs is picked up
# (and /readyz recovers) without a restart.
RETRY_AFTER_S = 30.0
CALIBRATION_FILE = "calibration.yaml"
NOT_A_NUMBER = (
    "the image model's scores are not numbers (NaN or infinite): its weights or its backend are "
    "broken; pull the model again ('vigil models pull') or switch VIGIL_CLASSIFY_IMAGE_BACKEND"
)


class ClipClassifier(Classifier):
    name: ClassVar[str] = "clip-zero-shot"
    modality: ClassVar[Modality] = Modality.IMAGE

    def __init__(self, *, config: ClassifyConfig, retry_after_s: float = RETRY_AFTER_S) -> None:
        self.config = config
        self.retry_after_s = retry_after_s
        self.store = ModelStore(root=config.model_root)
        self._lock = threading.Lock()
        self._tower: ClipTower | None = None
        self._error: str | None = None
        self._failed_at = 0.0
        self._version = ""
        self._classes = np.zeros((0, 0), dtype=np.float32)
        self._calibration: dict[Category, tuple[float, float]] = {}
        self._probes: ProbeSet | None = None

    @classmethod
    def from_config(cls, config: ClassifyConfig) -> ClipClassifier:
        return cls(config=config)

    @property
    def version(self) -> str:
        return self._version

    @property
    def tower(self) -> ClipTower | None:
        self._load()
        return self._tower

    def status(self) -> tuple[SignalState, str]:
        if self.config.image_model is None:
            return SignalState.NOT_CONFIGURED, "no image model configured (VIGIL_CLASSIFY_IMAGE_MODEL)"
        self._load()
        if self._tower is None:
            return SignalState.UNAVAILABLE, self._error or "not loaded"
        return SignalState.OK, self._version

    def reload(self) -> None:
        """Forget a loaded (or failed) model; the next call verifies and loads again."""
        with self._lock:
            self._tower, self._error = None, None

    def _load(self) -> None:
        name = self.config.image_model
        with self._lock:
            if name is None or self._tower is not None:
                return
            if self._error is not None and time.monotonic() - self._failed_at < self.retry_after_s:
                return
            self._error = None
            try:
                stored = self.store.verify(name)
                weights = stored.files.get("model.safetensors", "")[:12]
                tower = ClipTower(
                    stored.path,
                    backend=self.config.image_backend,
                    onnx_dir=stored.path / "onnx" / weights,
                    threads=self.config.torch_threads,
                    bf16=self.config.cpu_bf16,
                )
                prompts = load_prompts(self.config.policy_dir / "classify" / "prompts.yaml")
                classes = []
                for _, texts in prompts.classes():
                    mean = tower.embed_texts(texts).mean(axis=0)
                    classes.append(mean / max(float(np.linalg.norm(mean)), 1e-12))
                own = stored.path / CALIBRATION_FILE
                calibration = load_calibration(
                    own if own.is_file() else self.config.policy_dir / "classify" / CALIBRATION_FILE
                )
                probe_file = stored.path / PROBES_FILE
                self._probes = ProbeSet.load(probe_file) if probe_file.is_file() else None
                self._classes = np.stack(classes).astype(np.float32)
                self._calibration = calibration
                self._version = f"{name}@{weights}/{self.config.image_backend}"
                self._tower = tower
            except VigilError as exc:
                self._error, self._failed_at = exc.message, time.monotonic()
            except Exception as exc:  # a model that fails to load is unavailable, whatever the cause
                self._error = f"the image model {name!r} failed to load: {exc.__class__.__name__}: {exc}"
                self._failed_at = time.monotonic()

    def embed(self, images: Sequence[Image.Image]) -> np.ndarray[Any, np.dtype[np.float32]]:
        tower = self.tower
        if tower is None:
            raise VigilError(self._error or "image model not loaded")
        return tower.embed_images(images)

    def score_embeddings(self, x: np.ndarray[Any, np.dtype[np.float32]]) -> list[dict[Category, float]]:
        tower = self._tower
        assert tower is not None
        logits = tower.logit_scale * (x @ self._classes.T)
        n_cat = len(CATEGORIES)
        rest = logits[:, n_cat:]
        rest_lse = np.logaddexp.reduce(rest, axis=1)
        probe_scores = self._probes.score(x.astype(np.float64)) if self._probes is not None else {}
        out: list[dict[Category, float]] = [{} for _ in range(x.shape[0])]
        for j, category in enumerate(CATEGORIES):
            z = logits[:, j] - rest_lse  # log-odds of the category against contrast + neutral
            a, b = self._calibration.get(category, (-1.0, 0.0))
            calibrated = np.clip(platt(z.astype(np.float64), a, b), 0.0, 1.0)
            if category in probe_scores:
                calibrated = probe_scores[category]
            for i in range(x.shape[0]):
                out[i][category] = float(calibrated[i])
        return out

    def classify(self, items: Sequence[Any], *, batch_size: int = 16) -> list[Scores]:
        refused = self._refusals(len(items))
        if refused is not None:
            return refused
        results: list[Scores] = []
        for start in range(0, len(items), batch_size):
            batch = list(items[start : start + batch_size])
            # weights that overflow give no verdict: never a crash, never a clean score
            x = self.embed(batch)
            finite = np.isfinite(x).all(axis=1)
            scored = iter(self.score_embeddings(x[finite]))
            for ok in finite.tolist():
                scores = next(scored) if ok else {}
                if ok and all(math.isfinite(v) for v in scores.values()):
                    results.append(Scores(self.name, self._version, SignalState.OK, scores))
                else:
                    results.append(Scores.unavailable(self.name, self._version, NOT_A_NUMBER))
        return results


def load_image_file(path: Path) -> Image.Image:
    with Image.open(path) as img:
        return img.convert("RGB")
