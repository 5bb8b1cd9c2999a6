"""``Classifiers``: the object the pipelines hold (``services.classifiers``).

    classify_text(texts)          -> list[TextScores]   one per text, in order
    classify_image(image)         -> ImageScores
    classify_video(info, limits)  -> VideoScores        frames, then max / top-k mean + evidence
    classify_image_text(image)    -> TextScores         text inside the image (OCR), if installed
    read_words(image)             -> (TextScores, OcrText)  the same, with the words read and where
    read_video_words(info, limits) -> FrameWords        words burned into the sampled frames
    classify_speech(info)         -> TextScores         what is said in an audio track: no model
                                                        ships, so ``not_configured``
    signals()                     -> {name: (state, detail)} for a verdict's reasons
    lexicon_version()             -> "lexicon-<hash>" of the lexicon files the text classifier reads

Models load on first use, not when the process starts; ``readiness_*`` report the state for
``/readyz`` (image: ``not_configured`` keeps 200, ``unavailable`` gives 503).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from PIL import Image

from service.classify.builtins import IMAGE_DEFAULT, TEXT_DEFAULT, ensure_registered
from service.classify.frame_words import FrameWords, read_frames
from service.classify.lexicon import lexicon_version
from service.classify.model import ImageScores, Scores, TextScores, VideoScores
from service.classify.ocr import OcrText, TesseractOcr
from service.classify.registry import REGISTRY, Classifier, ClassifyConfig
from service.classify.video import FramePlan, aggregate, select_frames
from service.errors import UnsupportedMediaType
from service.health import ComponentStatus
from service.media.intake import iter_frames
from service.media.model import Frame, MediaInfo, MediaLimits
from service.settings import Settings
from service.vocabulary import MediaKind, SignalState

SPEECH = "speech"
SPEECH_NOT_CONFIGURED = "no speech-to-text model ships with Vigil; send the transcript as text"


@dataclass
class Classifiers:
    config: ClassifyConfig
    text: Classifier
    image: Classifier
    ocr: TesseractOcr = field(default_factory=TesseractOcr.find)
    _lexicon_version: str | None = field(default=None, init=False, repr=False)

    @classmethod
    def from_config(cls, config: ClassifyConfig) -> Classifiers:
        ensure_registered(REGISTRY)
        return cls(
            config=config,
            text=REGISTRY.create(TEXT_DEFAULT, config),
            image=REGISTRY.create(IMAGE_DEFAULT, config),
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> Classifiers:
        return cls.from_config(ClassifyConfig.from_settings(settings))

    def classify_text(self, texts: Sequence[str]) -> list[TextScores]:
        return self.text.classify(list(texts))

    def classify_image(self, image: Image.Image) -> ImageScores:
        return self.image.classify([image])[0]

    def classify_video(self, info: MediaInfo, *, limits: MediaLimits) -> VideoScores:
        if info.kind is MediaKind.IMAGE:
            from service.media.intake import decode_image

            return self.classify_image(decode_image(info).image)
        if info.kind is not MediaKind.VIDEO:
            raise UnsupportedMediaType(
                f"{info.type.name} has no frames to screen; send its transcript as text."
            )
        state, _ = self.image.status()
        if state is not SignalState.OK:  # do not decode a video nothing can score
            return self.image.classify([None])[0]
        plan = FramePlan(fps=self.config.video_fps, max_frames=self.config.video_max_frames)
        frames = select_frames(iter_frames(info, fps=plan.fps * 4, limits=limits), plan)
        per_frame = self.image.classify([f.image for f in frames])
        return aggregate(
            frames, per_frame, classifier=self.image.name, version=self.image.version, top_k=plan.top_k
        )

    def classify_image_text(self, image: Image.Image) -> TextScores:
        """The text classifier over what OCR reads in the image."""
        return self.read_words(image)[0]

    def read_words(
        self, image: Image.Image, sharper: Callable[[], Image.Image] | None = None
    ) -> tuple[TextScores, OcrText]:
        """The words printed on ``image`` and their scores. A picture with no words costs the
        line finder only and answers ``ok`` with no scores (nothing was there to read).
        ``sharper``: the picture at full size where ``image`` is a reduced decode of it."""
        read = self.ocr.read(image, sharper)
        if read.state is SignalState.NOT_CONFIGURED:
            return Scores.not_configured("ocr", read.detail), read
        if read.state is SignalState.UNAVAILABLE:
            return Scores.unavailable("ocr", "tesseract", read.detail), read
        if not read.text.strip():
            return Scores(classifier="ocr", version=self.ocr.version(), state=SignalState.OK), read
        return self.text.classify([read.text])[0], read

    def sample_frames(self, info: MediaInfo, *, limits: MediaLimits) -> list[Frame]:
        """A video's frames at about 1 fps plus scene cuts, still scenes skipped (what every
        per-frame signal reads)."""
        plan = FramePlan(fps=self.config.video_fps, max_frames=self.config.video_max_frames)
        return select_frames(iter_frames(info, fps=plan.fps * 4, limits=limits), plan)

    def read_frame_words(self, frames: Sequence[Frame]) -> FrameWords:
        """Words burned into ``frames``, scored, with the frames that fired."""
        return read_frames(frames, self.ocr, self.classify_text)

    def read_video_words(self, info: MediaInfo, *, limits: MediaLimits) -> FrameWords:
        if self.ocr.status()[0] is not SignalState.OK:  # do not decode a video nothing can read
            return read_frames([], self.ocr, self.classify_text)
        return self.read_frame_words(self.sample_frames(info, limits=limits))

    def lexicon_version(self) -> str:
        """The lexicon's version, hashed once (the text classifier also reads it once); an
        unreadable lexicon directory is ``unavailable`` (the text classifier says why)."""
        if self._lexicon_version is None:
            try:
                self._lexicon_version = lexicon_version(self.config.policy_dir / "lexicon")
            except OSError:
                return SignalState.UNAVAILABLE.value
        return self._lexicon_version

    def classify_speech(self, info: MediaInfo) -> TextScores:
        """What is said in the audio track of ``info``. No speech-to-text model ships with Vigil,
        so every file with audio answers ``not_configured`` (never a clean score): the verdict
        names ``speech`` as missing and a platform may send the transcript as text."""
        return Scores.not_configured(SPEECH, f"{SPEECH_NOT_CONFIGURED} ({info.type.name} with audio)")

    def signals(self) -> dict[str, tuple[SignalState, str]]:
        """Each classifier's state for a verdict's reasons (``not_configured`` is named there)."""
        out = {c.name: c.preflight() for c in (self.text, self.image)}
        out["ocr"] = self.ocr.status()
        out[SPEECH] = (SignalState.NOT_CONFIGURED, SPEECH_NOT_CONFIGURED)
        return out

    def readiness_image(self) -> ComponentStatus:
        return _component(*self.image.preflight())

    def readiness_text(self) -> ComponentStatus:
        return _component(*self.text.preflight())


def _component(state: SignalState, detail: str) -> ComponentStatus:
    return ComponentStatus(state, detail)
