"""Video screening: frames at about 1 fps plus scene cuts, near-duplicates skipped, then max and
top-k mean per category, with the arg-max frames kept as evidence.

Frames are decoded at a few times the target rate (``service.media.intake.iter_frames``) so that
a cut between two 1 fps samples is seen; a frame is kept when a second has passed since the last
kept frame or the picture changed abruptly, and dropped when it is a near-duplicate of the last
kept frame (a 16×16 colour thumbnail differs by less than ``dup_threshold``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from PIL import Image

from service.classify.model import CATEGORIES, ScoreEvidence, Scores
from service.media.model import Frame
from service.vocabulary import Category, SignalState

OVERSAMPLE = 4  # decode rate relative to the target fps, to see scene cuts between samples


@dataclass(frozen=True, slots=True)
class FramePlan:
    fps: float = 1.0
    cut_threshold: float = 0.15  # mean abs difference (0..1) of thumbnails that counts as a cut
    dup_threshold: float = 0.02  # below this a frame repeats the last kept one
    max_frames: int = 64
    top_k: int = 3


def _thumb(image: Image.Image) -> npt.NDArray[np.float32]:
    return (
        np.asarray(image.convert("RGB").resize((16, 16), Image.Resampling.BILINEAR), dtype=np.float32) / 255.0
    )


def select_frames(frames: Iterable[Frame], plan: FramePlan) -> list[Frame]:
    kept: list[Frame] = []
    last_kept: npt.NDArray[np.float32] | None = None
    previous: npt.NDArray[np.float32] | None = None
    last_t = -1e9
    for frame in frames:
        thumb = _thumb(frame.image)
        cut = previous is not None and float(np.abs(thumb - previous).mean()) >= plan.cut_threshold
        previous = thumb
        due = frame.t - last_t >= 1.0 / plan.fps - 1e-6
        if not (due or cut):
            continue
        if last_kept is not None and float(np.abs(thumb - last_kept).mean()) < plan.dup_threshold:
            last_t = frame.t  # the scene holds still: nothing new to score this second
            continue
        kept.append(frame)
        last_kept, last_t = thumb, frame.t
        if len(kept) >= plan.max_frames:
            break
    return kept


def aggregate(
    frames: list[Frame], per_frame: list[Scores], *, classifier: str, version: str, top_k: int
) -> Scores:
    """Max and top-k mean per category over frame results; any frame not ``ok`` spoils the lot."""
    for result in per_frame:
        if result.state is not SignalState.OK:
            return result
    if not per_frame:
        return Scores.unavailable(classifier, version, "the video yielded no frames to score")
    maxima: dict[Category, float] = {}
    topk: dict[Category, float] = {}
    evidence: list[ScoreEvidence] = []
    for category in CATEGORIES:
        values = np.array([r.scores[category] for r in per_frame])
        best = int(values.argmax())
        maxima[category] = float(values[best])
        topk[category] = float(np.sort(values)[::-1][:top_k].mean())
        evidence.append(
            ScoreEvidence(
                category=category, score=maxima[category], frame_index=frames[best].index, t=frames[best].t
            )
        )
    return Scores(
        classifier=classifier,
        version=version,
        state=SignalState.OK,
        scores=maxima,
        evidence=tuple(evidence),
        topk_mean=topk,
        detail=f"{len(frames)} frames scored",
    )
