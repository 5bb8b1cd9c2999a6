"""Screening results as policy signals: what the classifiers and hash banks found, in the
vocabulary of ``service.policy`` (signal names ``text_model``, ``lexicon``, ``image_model``,
``speech``, ``hash_banks`` as in ``policies/default.yaml``). A signal that could not run is
``unavailable`` (or ``not_configured``), never clean. Every text keeps the name of
its source (``prompt``, ``script``, ``caption``, ...) through to the reasons, and every
classifier that screened the content is recorded with its version for the verdict and the
signed ``vigil.moderation`` assertion.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from uuid import UUID

from service.classify.builtins import TEXT_DEFAULT
from service.classify.classifiers import Classifiers
from service.classify.model import Scores
from service.db import Database
from service.errors import VigilError
from service.match.matching import BankIndex, match_media
from service.media import MediaInfo, MediaLimits
from service.pipeline import pictures
from service.policy.model import LexiconSignal, MatchSignal, ScoreSignal, SymbolSignal, TextSource
from service.symbols.bank import SymbolBank
from service.vocabulary import SignalState

log = logging.getLogger(__name__)

LEXICON = "lexicon"


@dataclass
class Screening:
    """Signals gathered across the screening steps (text first, then media)."""

    scores: list[ScoreSignal] = field(default_factory=list)
    lexicon: list[LexiconSignal] = field(default_factory=list)
    matches: list[MatchSignal] = field(default_factory=list)
    states: dict[str, SignalState] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)  # classifier -> version (for the manifest)
    words: list[str] = field(default_factory=list)  # text read from the picture, for the reviewer
    symbols: list[SymbolSignal] = field(default_factory=list)  # symbols of the bank found on it

    def audit_fields(self) -> dict[str, str | int | dict[str, str]]:
        return {
            "states": {name: state.value for name, state in sorted(self.states.items())},
            "scores": len(self.scores),
            "lexicon_hits": len(self.lexicon),
            "matches": len(self.matches),
            "classifier_versions": {_code(k): _code(v) for k, v in sorted(self.versions.items())},
        }


def _code(value: str) -> str:
    """A classifier name or version as the audit log takes it (a plugin's may hold spaces)."""
    return re.sub(r"[^A-Za-z0-9_.:/@+=-]", "_", value)[:200]


def record_version(versions: dict[str, str], result: Scores, classifiers: Classifiers) -> None:
    """``classifier -> version`` for a result that ran (the lexicon too, for a text), or the
    state of one that could not (``not_configured`` / ``unavailable``); a version beats a state."""
    if result.state is SignalState.OK:
        versions[result.classifier] = result.version or "unversioned"
        if result.classifier == TEXT_DEFAULT:  # the built-in text classifier reads the lexicon
            versions[LEXICON] = classifiers.lexicon_version()
    else:
        versions.setdefault(result.classifier, result.state.value)


def _add_scores(
    screening: Screening, classifiers: Classifiers, signal: str, result: Scores, *, origin: str
) -> None:
    state = result.state
    # The worst state of a signal wins: one text that could not be read makes the signal unavailable.
    previous = screening.states.get(signal)
    if previous is None or previous is SignalState.OK:
        screening.states[signal] = state
    record_version(screening.versions, result, classifiers)
    for category, score in result.scores.items():
        screening.scores.append(ScoreSignal(signal, str(category), float(score), origin=origin))


@dataclass(frozen=True, kw_only=True, slots=True)
class Screener:
    """Steps 2 and 4 of the generation flow: what the classifiers, the symbol bank and the hash
    banks find in a generation's texts and in its output."""

    classifiers: Classifiers  # every step: text, image, words, speech
    limits: MediaLimits  # how much of the output's frames may be read
    db: Database  # the symbol bank and the hash banks, in system() transactions
    symbol_bank: SymbolBank
    match_index: BankIndex

    def text(self, texts: Sequence[tuple[TextSource, str | None]]) -> Screening:
        """Step 2: the prompt, script and caption through the text classifier and its lexicon;
        each score and lexicon hit keeps the name of the text it came from. Empty texts are
        skipped."""
        screening = Screening()
        present = [(source, text) for source, text in texts if text and text.strip()]
        if not present:
            return screening
        classifiers = self.classifiers
        try:
            results = classifiers.classify_text([text for _, text in present])
        except VigilError as exc:
            log.warning("text screening unavailable: %s", exc.code)
            screening.states["text_model"] = SignalState.UNAVAILABLE
            screening.states[LEXICON] = SignalState.UNAVAILABLE
            screening.versions[classifiers.text.name] = SignalState.UNAVAILABLE.value
            return screening
        for (source, _), result in zip(present, results, strict=True):
            _add_scores(screening, classifiers, "text_model", result, origin=source.value)
            screening.states.setdefault(LEXICON, result.state)
            for hit in result.hits:
                if not hit.review:  # a both-sides greeting or a quoted slogan: its capped score only
                    continue
                screening.lexicon.append(
                    LexiconSignal(term=hit.term_id, category=str(hit.category), origin=source.value)
                )
        return screening

    def words(self, screening: Screening, info: MediaInfo) -> None:
        """Words printed on the output (a poster's slogan, a caption burned into a frame): read
        on the picture, or on the sampled frames of a video as a check reads them, and scored by
        the text classifier under the source ``ocr``. Without Tesseract the ``ocr`` signal is
        ``not_configured`` (the policy says what that means); a read that fails is
        ``unavailable``, never clean."""
        if info.kind.value not in ("image", "video"):
            return
        classifiers = self.classifiers
        try:
            read = classifiers.read_video_words(info, limits=self.limits)
        except VigilError as exc:
            log.warning("words in the picture could not be read: %s", exc.code)
            screening.states["ocr"] = SignalState.UNAVAILABLE
            screening.versions["ocr"] = SignalState.UNAVAILABLE.value
            return
        if read.scores.state is not SignalState.OK:
            screening.states["ocr"] = read.scores.state
            screening.versions.setdefault("ocr", read.scores.state.value)
            return
        screening.states.setdefault("ocr", SignalState.OK)
        screening.versions["ocr"] = classifiers.ocr.version()
        if read.text:
            screening.words.append(read.text)
        _add_scores(screening, classifiers, "ocr", read.scores, origin=TextSource.OCR.value)
        screening.lexicon += [
            LexiconSignal(term=hit.term_id, category=str(hit.category), origin=TextSource.OCR.value)
            for hit in read.scores.hits
            if hit.review
        ]

    def symbols(self, screening: Screening, info: MediaInfo, *, tenant_id: UUID) -> None:
        """Symbols of the symbol bank (the shipped drawings and the tenant's emblems) on the
        output: the picture, or the video's sampled frames. A bank that cannot run is
        ``unavailable``."""
        if info.kind.value not in ("image", "video"):
            return
        try:
            with self.db.system() as conn:
                bound = self.symbol_bank.bind(conn, tenant_id)
            found = pictures.symbols_of(info, bound, classifiers=self.classifiers, limits=self.limits)
        except VigilError as exc:
            log.warning("symbol screening unavailable: %s", exc.code)
            screening.states["symbols"] = SignalState.UNAVAILABLE
            screening.versions["symbols"] = SignalState.UNAVAILABLE.value
            return
        screening.states["symbols"] = found.state
        screening.versions["symbols"] = found.version
        screening.symbols.extend(found.hits)

    def speech(self, screening: Screening, info: MediaInfo) -> None:
        """What is said in an audio track (audio, or video with a voice): no speech model ships,
        so ``speech`` is ``not_configured`` and the policy decides what that means for the flow."""
        if not info.has_audio:
            return
        result = self.classifiers.classify_speech(info)
        screening.states[result.classifier] = result.state
        record_version(screening.versions, result, self.classifiers)

    def media(self, screening: Screening, info: MediaInfo, *, tenant_id: UUID) -> None:
        """Step 4: the still or sampled frames through the image classifier, the audio track
        through speech (not shipped: named as missing); fingerprints against the hash banks."""
        classifiers = self.classifiers
        try:
            result = classifiers.classify_video(info, limits=self.limits)
            _add_scores(screening, classifiers, "image_model", result, origin=info.kind.value)
        except VigilError as exc:
            log.warning("image screening unavailable: %s", exc.code)
            screening.states["image_model"] = SignalState.UNAVAILABLE
            screening.versions[classifiers.image.name] = SignalState.UNAVAILABLE.value
        self.speech(screening, info)
        try:
            with self.db.system() as conn:
                report = match_media(
                    conn, self.match_index, tenant_id=tenant_id, info=info, limits=self.limits
                )
        except VigilError as exc:
            log.warning("hash bank screening unavailable: %s", exc.code)
            screening.states["hash_banks"] = SignalState.UNAVAILABLE
            return
        screening.states["hash_banks"] = SignalState.OK
        for m in report.matches:
            screening.matches.append(
                MatchSignal(
                    bank=m.bank,
                    kind=m.kind.value,
                    distance=m.distance,
                    hash_type=m.hash_type.value,
                    labels=tuple(m.labels),
                    item=str(m.frame),
                )
            )
