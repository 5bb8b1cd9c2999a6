"""The text classifier: sentence embeddings + calibrated per-category probes + the lexicon.

A category's score is the larger of the probe's calibrated score and the lexicon's boost. The
default encoder (multilingual-e5-small) reads English, Russian and Ukrainian alike, and the
probes are trained on all three (``policies/classify/corpus/``). With the English-only MiniLM
configured instead, probe scores on Cyrillic text count for less (``FOREIGN_TRUST``) and Russian
and Ukrainian lean on the lexicon (``lexicon.py``).
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from service.classify import e5
from service.classify.encoder import TextEncoder, encoder_source
from service.classify.lexicon import LEXICON_NEEDS, Lexicon, load_lexicon
from service.classify.model import CATEGORIES, Modality, Scores
from service.classify.probes import ProbeSet
from service.classify.registry import Classifier, ClassifyConfig
from service.errors import VigilError
from service.vocabulary import SignalState

# The English MiniLM (an option) reads English only: on Cyrillic text its probe scores carry
# little signal and some noise, so they count half and the lexicon carries Russian and Ukrainian.
FOREIGN_TRUST = 0.5


# A caption, prompt or post is scored whole, as the heads were trained (the encoder reads 256
# tokens, about 100 words of Russian): cut into pieces, a post that quotes a slogan to criticise
# it would be judged on the quote alone. Longer scripts and transcripts are scored in windows of
# whole sentences and each category keeps its highest window (a passage is not diluted by the
# rest of an hour of speech).
WHOLE_WORDS = 100
CHUNK_WORDS = 30
MAX_CHUNKS = 256
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+")


def chunk_words(text: str) -> list[str]:
    """A text of up to ``WHOLE_WORDS`` words stays whole; a longer one becomes whole sentences
    packed into windows of at most ``CHUNK_WORDS`` words (a longer sentence is cut)."""
    if len(text.split()) <= WHOLE_WORDS:
        return [text]
    chunks: list[str] = []
    current: list[str] = []
    for sentence in _SENTENCE_END.split(text.strip()):
        words = sentence.split()
        while len(words) > CHUNK_WORDS:
            chunks.append(" ".join(words[:CHUNK_WORDS]))
            words = words[CHUNK_WORDS:]
        if current and len(current) + len(words) > CHUNK_WORDS:
            chunks.append(" ".join(current))
            current = []
        current += words
    if current:
        chunks.append(" ".join(current))
    return chunks


def mostly_cyrillic(text: str) -> bool:
    letters = [ch for ch in text if ch.isalpha()]
    cyrillic = sum(1 for ch in letters if "\u0400" <= ch <= "\u04ff")
    return bool(letters) and cyrillic * 2 > len(letters)


def text_encoder(config: ClassifyConfig) -> TextEncoder:
    """The configured encoder on the configured backend (screening and training use the same)."""
    return TextEncoder(
        path=config.text_encoder_path,
        model_root=config.model_root,
        threads=config.torch_threads,
        onnx_dir=config.model_root / ".text-onnx" if config.text_backend != "torch" else None,
        int8=config.text_backend == "onnx-int8",
        bf16=config.cpu_bf16,
        adapter=config.adapter_file(),
    )


class TextClassifier(Classifier):
    name: ClassVar[str] = "text-probe"
    modality: ClassVar[Modality] = Modality.TEXT

    def __init__(self, *, config: ClassifyConfig, encoder: TextEncoder | None = None) -> None:
        self.config = config
        self.encoder = encoder or text_encoder(config)
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
                except Exception as exc:  # an encoder that fails to load is unavailable, whatever the cause
                    self._error = f"the text encoder failed to load: {exc.__class__.__name__}: {exc}"
            return self._ready

    def status(self) -> tuple[SignalState, str]:
        if self._load() is None:
            return SignalState.UNAVAILABLE, self._error or "not loaded"
        return SignalState.OK, f"{self._version}: {self.describe()}"

    def preflight(self) -> tuple[SignalState, str]:
        """Readiness without loading the encoder: its files and the policy files are there."""
        if self._ready is not None or self._error is not None:
            return self.status()
        for needed in (
            encoder_source(self.encoder.path),
            self.probe_path,
            self.config.policy_dir / "lexicon",
        ):
            if not needed.exists():
                return SignalState.UNAVAILABLE, f"{needed} is missing"
        return SignalState.OK, f"{self.describe()}; not loaded yet"

    def describe(self) -> str:
        """The encoder as an operator needs to know it: which model, from which pinned file."""
        if self.encoder.path is None:
            return (
                f"{e5.NAME} ({e5.WEIGHTS_FILE} sha256:{e5.WEIGHTS_SHA256[:12]}, {self.config.text_backend})"
            )
        return f"{self.encoder.name} ({self.config.text_backend})"

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
        chunks: list[str] = []
        owner: list[int] = []
        truncated: set[int] = set()
        for i, text in enumerate(texts):
            pieces = chunk_words(text)
            if len(pieces) > MAX_CHUNKS:
                pieces = pieces[:MAX_CHUNKS]
                truncated.add(i)
            chunks += pieces
            owner += [i] * len(pieces)
        per_chunk = probes.score(self.encoder.embed(chunks).astype(np.float64), chunks)
        owners = np.asarray(owner)
        results = []
        for i, text in enumerate(texts):
            trust = 1.0 if self.encoder.multilingual or not mostly_cyrillic(text) else FOREIGN_TRUST
            mine = owners == i
            probe = {c: float(per_chunk[c][mine].max()) if mine.any() else 0.0 for c in CATEGORIES}
            ordinary = probes.any_category is not None and max(probe.values()) < LEXICON_NEEDS
            scan = lexicon.scan(text, ordinary=ordinary)
            scores = {c: max(trust * probe[c], scan.boosts.get(c, 0.0)) for c in CATEGORIES}
            results.append(
                Scores(
                    classifier=self.name,
                    version=self._version,
                    state=SignalState.OK,
                    scores=scores,
                    evidence=scan.evidence,
                    hits=scan.hits,
                    detail=f"probes read the first {MAX_CHUNKS} chunks only" if i in truncated else "",
                )
            )
        return results
