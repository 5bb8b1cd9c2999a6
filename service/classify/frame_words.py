"""Words burned into a video: read on the sampled frames, scored, and the frames that fired kept.

The frames are the ones the image screening samples (about 1 fps plus scene cuts, still scenes
skipped: ``video.select_frames``). On each, the line finder runs first (a few milliseconds); a
frame is read only when it has lines and they are not the ones already read on the frame before
(a caption stays on screen for seconds: same boxes, same pixels inside them). At most
``MAX_READ`` frames are read per video.

Every frame's words are scored by the text classifier; the result is the maximum per category,
with the frame that gave it as evidence (its index and time), the lexicon hits of every frame,
and the distinct lines in the order they first appeared (what the reviewer reads).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from PIL import Image

from service.classify.model import CATEGORIES, LexiconHit, ScoreEvidence, Scores
from service.classify.ocr import OcrText, TesseractOcr
from service.classify.textfind import TextBox, find_text, grey_array
from service.media.model import Frame
from service.vocabulary import Category, SignalState

MAX_READ = 16  # frames read per video (the line finder looks at every sampled frame)
SAME_LINES = 6.0  # mean grey difference inside the boxes under which a caption has not changed


@dataclass(frozen=True, slots=True)
class FrameWords:
    scores: Scores
    text: str = ""  # distinct lines, in the order they first appeared
    frames: Mapping[int, Frame] = field(default_factory=dict)  # evidence frames by index
    looked: int = 0  # frames the line finder looked at
    read: int = 0  # frames OCR read


def _signature(grey: npt.NDArray[np.uint8], boxes: Sequence[TextBox]) -> list[npt.NDArray[np.float32]]:
    """The pixels inside each box, small: a caption that holds still gives the same signature."""
    out = []
    for b in sorted(boxes, key=lambda b: (b.y, b.x)):
        crop = Image.fromarray(grey[b.y : b.y + b.h, b.x : b.x + b.w]).resize((64, 8))
        out.append(np.asarray(crop, dtype=np.float32))
    return out


def _unchanged(a: list[npt.NDArray[np.float32]], b: list[npt.NDArray[np.float32]]) -> bool:
    return len(a) == len(b) and all(
        float(np.abs(x - y).mean()) < SAME_LINES for x, y in zip(a, b, strict=True)
    )


def read_frames(
    frames: Sequence[Frame],
    ocr: TesseractOcr,
    classify: Callable[[list[str]], list[Scores]],
) -> FrameWords:
    """Read and score the words on ``frames`` (see the module docstring)."""
    state, detail = ocr.status()
    if state is SignalState.NOT_CONFIGURED:
        return FrameWords(Scores.not_configured("ocr", detail))
    read_on: list[tuple[Frame, OcrText]] = []
    previous: list[npt.NDArray[np.float32]] = []
    for frame in frames:
        boxes = find_text(frame.image)
        if not boxes:
            previous = []
            continue
        signature = _signature(grey_array(frame.image), boxes)
        if _unchanged(signature, previous):
            continue
        previous = signature
        if len(read_on) >= MAX_READ:
            break
        read = ocr.read(frame.image, boxes=boxes)
        if read.state is not SignalState.OK:
            return FrameWords(Scores.unavailable("ocr", ocr.version(), read.detail), looked=len(frames))
        if read.text:
            read_on.append((frame, read))
    lines: list[str] = []
    for _, read in read_on:
        lines += [line.text for line in read.lines if line.text not in lines]
    if not read_on:
        empty = Scores(classifier="ocr", version=ocr.version(), state=SignalState.OK)
        return FrameWords(empty, looked=len(frames))
    per_frame = classify([read.text for _, read in read_on])
    for result in per_frame:
        if result.state is not SignalState.OK:
            return FrameWords(result, looked=len(frames), read=len(read_on))
    maxima: dict[Category, float] = {}
    evidence: list[ScoreEvidence] = []
    kept: dict[int, Frame] = {}
    for category in CATEGORIES:
        values = [r.scores.get(category, 0.0) for r in per_frame]
        best = int(np.argmax(values))
        frame = read_on[best][0]
        maxima[category] = float(values[best])
        evidence.append(
            ScoreEvidence(category=category, score=maxima[category], frame_index=frame.index, t=frame.t)
        )
        kept[frame.index] = frame
    hits: dict[str, LexiconHit] = {}
    for result in per_frame:
        hits.update({h.term_id: h for h in result.hits})
    scores = Scores(
        classifier=per_frame[0].classifier,
        version=per_frame[0].version,
        state=SignalState.OK,
        scores=maxima,
        evidence=tuple(evidence),
        hits=tuple(hits.values()),
        detail=f"words read on {len(read_on)} of {len(frames)} frames",
    )
    return FrameWords(scores, " ".join(lines), kept, looked=len(frames), read=len(read_on))
