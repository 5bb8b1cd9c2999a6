"""What is printed or painted on a picture, or on a video's sampled frames: words and symbols.

Both flows ask the same two questions of every picture they screen (a platform's upload, a
generated output) and of a video's frames (about 1 fps plus scene cuts, decoded once for both):

- words (OCR, scored by the text classifier under the source ``ocr``), where switched on;
- symbols of the symbol bank as the tenant sees it (the shipped drawings and its emblems).

The answer names every signal's state (``ok``, ``not_configured``, ``unavailable``), never an empty
"clean" answer from a reader or matcher that could not run, and keeps the video frames that are
evidence (the frame a score or a symbol came from) for the reviewer.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

from PIL import Image

from service.classify.classifiers import Classifiers
from service.classify.model import Scores
from service.errors import VigilError
from service.media import MediaInfo, MediaLimits
from service.media.intake import decode_image
from service.media.model import Frame
from service.policy.model import SymbolSignal
from service.symbols.bank import BoundSymbols
from service.vocabulary import MediaKind, SignalState

# Symbols are looked for here while the caller reads the words. Both spend much of their time in
# OpenCV, ONNX Runtime or Tesseract, which let go of the GIL, though not all of it (NumPy's small
# steps and Python loops hold it): on 1 MP photos with neither, 13.3 ms p50 side by side against
# 15.8 ms one after the other, in process on two cores (bench_words.py). The threads are shared
# by every request, so a busy server queues the looks here instead of starting more threads than
# it has cores.
_LOOKERS = ThreadPoolExecutor(max_workers=2, thread_name_prefix="vigil-look")


@dataclass(frozen=True, slots=True)
class SymbolsFound:
    state: SignalState
    version: str
    hits: tuple[SymbolSignal, ...] = ()


@dataclass(frozen=True, slots=True)
class PictureSignals:
    ocr: Scores | None  # None: words are not read in this flow (switched off)
    words: str = ""
    symbols: SymbolsFound | None = None  # None: no symbol bank asked
    frames: Mapping[int, Frame] = field(default_factory=dict)  # video frames kept as evidence


def _scale(info: MediaInfo | None, image: Image.Image) -> float:
    """Original pixels per decoded pixel: a large JPEG is decoded at a fraction of its size, and
    a box is reported in the picture's own pixels (EXIF orientation applied)."""
    if info is None or not info.width or not info.height:
        return 1.0
    return max(info.width, info.height) / max(1, max(image.size))


def _scaled(box: tuple[int, int, int, int], scale: float) -> tuple[int, int, int, int]:
    x, y, w, h = box
    return round(x * scale), round(y * scale), round(w * scale), round(h * scale)


def _symbols_on(
    bound: BoundSymbols, frames: Sequence[Frame], origin: str, info: MediaInfo | None = None
) -> tuple[SymbolsFound, dict[int, Frame]]:
    """Every symbol found on ``frames``, each once (its best frame), and the frames it was on."""
    best: dict[str, tuple[SymbolSignal, Frame]] = {}
    for frame in frames:
        found = bound.match(frame.image)
        if found.state is not SignalState.OK:
            return SymbolsFound(found.state, found.state.value), {}
        scale = _scale(info, frame.image)
        for hit in found.hits:
            seen = best.get(hit.symbol_id)
            if seen is None or hit.score > seen[0].score:
                signal = SymbolSignal(
                    symbol=hit.symbol_id,
                    label=hit.label,
                    category=hit.category.value,
                    score=hit.score,
                    box=_scaled(hit.box, scale),
                    origin=origin,
                    t=frame.t if origin == "video" else None,
                )
                best[hit.symbol_id] = (signal, frame)
    hits = tuple(sorted((s for s, _ in best.values()), key=lambda s: -s.score))
    kept = {f.index: f for _, f in best.values()} if origin == "video" else {}
    return SymbolsFound(SignalState.OK, bound.version, hits), kept


def _full_size(info: MediaInfo | None, image: Image.Image) -> Callable[[], Image.Image] | None:
    """Where ``image`` is a reduced decode of the upload, a way to decode it at full size (only
    called when there are words to read); a decode that fails there keeps the reduced one."""
    if info is None or info.kind is not MediaKind.IMAGE or _scale(info, image) <= 1.0:
        return None

    def full() -> Image.Image:
        try:
            return decode_image(info).image
        except VigilError:
            return image

    return full


def read_picture(
    image: Image.Image,
    bound: BoundSymbols | None,
    info: MediaInfo | None = None,
    *,
    classifiers: Classifiers,
    read_words: bool,
) -> PictureSignals:
    """Words (when ``read_words``) and symbols on a still picture, side by side; ``info`` is the
    upload's (boxes in its pixels)."""
    looking: Future[tuple[SymbolsFound, dict[int, Frame]]] | None = None
    if bound is not None:
        looking = _LOOKERS.submit(_symbols_on, bound, [Frame(index=0, t=0.0, image=image)], "image", info)
    ocr: Scores | None = None
    words = ""
    try:
        if read_words:
            ocr, read = classifiers.read_words(image, _full_size(info, image))
            words = read.text
    finally:  # the symbols are waited for even when reading failed (no look outlives its check)
        symbols = looking.result()[0] if looking is not None else None
    return PictureSignals(ocr, words, symbols)


def symbols_of(
    info: MediaInfo, bound: BoundSymbols, *, classifiers: Classifiers, limits: MediaLimits
) -> SymbolsFound:
    """The symbols on a picture, or on a video's sampled frames (a generated output)."""
    if bound.state is not SignalState.OK:
        return SymbolsFound(bound.state, bound.state.value)
    if info.kind is MediaKind.IMAGE:
        frames = [Frame(index=0, t=0.0, image=decode_image(info).image)]
        return _symbols_on(bound, frames, "image")[0]
    return _symbols_on(bound, classifiers.sample_frames(info, limits=limits), "video")[0]


def read_video(
    info: MediaInfo,
    bound: BoundSymbols | None,
    *,
    classifiers: Classifiers,
    limits: MediaLimits,
    read_words: bool,
) -> PictureSignals:
    """Words (when ``read_words``) and symbols on a video's sampled frames, sampled once for both."""
    want_words = read_words and classifiers.ocr.status()[0] is SignalState.OK
    want_symbols = bound is not None and bound.state is SignalState.OK
    frames = classifiers.sample_frames(info, limits=limits) if want_words or want_symbols else []
    ocr: Scores | None = None
    words = ""
    kept: dict[int, Frame] = {}
    if read_words:
        read = classifiers.read_frame_words(frames)
        ocr, words = read.scores, read.text
        kept.update(read.frames)
    symbols = None
    if bound is not None:
        if want_symbols:
            symbols, on = _symbols_on(bound, frames, "video", info)
            kept.update(on)
        else:
            symbols = SymbolsFound(bound.state, bound.state.value)
    return PictureSignals(ocr, words, symbols, kept)
