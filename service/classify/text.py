"""The text classifier: sentence embeddings + calibrated per-category probes + the lexicon.

A category's score is the larger of the probe's calibrated score and the lexicon's boost. The
probes read English well; Russian and Ukrainian lean on the lexicon (see ``lexicon.py``) until a
multilingual encoder is configured and the probes are retrained on it.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from service.classify.encoder import TextEncoder
from service.classify.lexicon import Lexicon, load_lexicon
from service.classify.model import CATEGORIES, Modality, Scores, SignalState
from service.classify.probes import ProbeSet
from service.classify.registry import Classifier, ClassifyConfig
from service.errors import VigilError

# The default encoder reads English only: on Cyrillic text its probe scores carry little signal
# and some noise, so they count half and the lexicon carries Russian and Ukrainian.
FOREIGN_TRUST = 0.5


def mostly_cyrillic(text: str) -> bool:
    letters = [ch for ch in text if ch.isalpha()]
    cyrillic = sum(1 for ch in letters if "\u0400" <= ch <= "\u04ff")
    return bool(letters) and cyrillic * 2 > len(letters)


class TextClassifier(Classifier):
    name: ClassVar[str] = "text-probe"
    modality: ClassVar[Modality] = Modality.TEXT

    def __init__(self, *, config: ClassifyConfig, encoder: TextEncoder | None = None) -> None:
        self.config = config
        self.encoder = encoder or TextEncoder(path=config.text_encoder_path)
        self.probe_path = config.text_probes or config.policy_dir / "classify" / "text_probes.json"
        self._lock = threading.Lock()
        self._ready: tuple[ProbeSet, Lexicon] | None = None
        self._error: str | None = None
        self._version = ""

    @classmethod
    def from_config(cls, config: ClassifyConfig) -> TextClassifier:
        return cls(config=config)

    @property
    def version(self) -> str:
        return self._version

    def _load(self) -> tuple[ProbeSet, Lexicon] | None:
        with self._lock:
            if self._ready is None and self._error is None:
                try:
                    probes = ProbeSet.load(self.probe_path)
                    lexicon = load_lexicon(self.config.policy_dir / "lexicon")
                    if probes.encoder != self.encoder.name:
                        raise VigilError(
                            f"the probes were trained on {probes.encoder}, the encoder is "
                            f"{self.encoder.name}; run 'vigil classify train'"
                        )
                    self.encoder.load()
                    digest = hashlib.sha256(self.probe_path.read_bytes()).hexdigest()[:12]
                    self._version = f"{self.encoder.name}+probes-{digest}"
                    self._ready = (probes, lexicon)
                except VigilError as exc:
                    self._error = exc.message
            return self._ready

    def status(self) -> tuple[SignalState, str]:
        if self._load() is None:
            return SignalState.UNAVAILABLE, self._error or "not loaded"
        return SignalState.OK, self._version

    def preflight(self) -> tuple[SignalState, str]:
        """Readiness without loading the encoder: its files and the policy files are there."""
        if self._ready is not None or self._error is not None:
            return self.status()
        from service.classify.encoder import default_encoder_path

        encoder = self.encoder.path or default_encoder_path()
        for needed in (encoder / "config.json", self.probe_path, self.config.policy_dir / "lexicon"):
            if not needed.exists():
                return SignalState.UNAVAILABLE, f"{needed} is missing"
        return SignalState.OK, "not loaded yet"

    def classify(self, items: Sequence[Any]) -> list[Scores]:
        texts = [str(t) for t in items]
        refused = self._refusals(len(texts))
        if refused is not None:
            return refused
        ready = self._ready
        assert ready is not None
        probes, lexicon = ready
        if not texts:
            return []
        per_category = probes.score(self.encoder.embed(texts).astype(np.float64))
        results = []
        for i, text in enumerate(texts):
            scan = lexicon.scan(text)
            trust = 1.0 if self.encoder.multilingual or not mostly_cyrillic(text) else FOREIGN_TRUST
            scores = {c: max(trust * float(per_category[c][i]), scan.boosts.get(c, 0.0)) for c in CATEGORIES}
            results.append(
                Scores(
                    classifier=self.name,
                    version=self._version,
                    state=SignalState.OK,
                    scores=scores,
                    evidence=scan.evidence,
                    hits=scan.hits,
                )
            )
        return results
