"""An operator's emblems found by local features (no I/O; OpenCV only).

The learned verifier knows the shipped symbols only; an emblem an operator adds is found here:

1. each emblem's drawing is rendered once as a few grey views (dark on light and light on dark,
   at two sizes) and its ORB keypoints and descriptors are kept with the drawing's ink mask;
2. a picture's grey working copy (longer side at most ``WORK_SIDE``) gets its own ORB keypoints;
3. descriptors are matched view by view (nearest two, Lowe's ratio test), and a similarity
   transform (any position, scale and rotation) is fitted to the matches by RANSAC, so a part of
   the emblem may be hidden as long as ``MIN_INLIERS`` keypoints agree;
4. the transform is verified by laying the drawing's outline over the picture's edges: a hit
   needs ``MIN_OUTLINE`` of the outline to run along an edge of the picture, which a chance set
   of agreeing keypoints on a textured photo does not give.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

WORK_SIDE = 1024  # longer side of the picture's working copy
VIEW_SIDES = (320, 128)  # longer side of the rendered views of a drawing
MIN_INLIERS = 5  # keypoints that must agree on one transform
MIN_OUTLINE = 0.6  # share of the drawing's outline that must lie on an edge of the picture
RATIO = 0.85  # Lowe's ratio test for a descriptor match
MIN_SHARE = 0.04  # smallest emblem found, as a share of the picture's longer side

U8 = npt.NDArray[np.uint8]
F32 = npt.NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class _View:
    ref: int  # index of the reference this view renders
    points: F32  # (n, 2) keypoint positions in the view
    descriptors: U8
    outline: F32  # (m, 2) points along the drawing's outline, in the view's pixels
    size: tuple[int, int]  # the view's (width, height)


def _orb(features: int) -> cv2.Feature2D:
    orb: cv2.Feature2D = cv2.ORB.create(nfeatures=features, scaleFactor=1.2, nlevels=8, edgeThreshold=15,
                                        patchSize=31, fastThreshold=10)  # fmt: skip
    return orb


def _outline(mask: U8, limit: int = 400) -> F32:
    contours, _ = cv2.findContours(mask, cv2.RETR_LIST, cv2.CHAIN_APPROX_NONE)
    points = np.concatenate([c.reshape(-1, 2) for c in contours]) if contours else np.zeros((0, 2))
    step = max(1, len(points) // limit)
    return np.asarray(points[::step], np.float32)


def _views(ref: int, mask: U8) -> list[_View]:
    """Grey renderings of a drawing's ink ``mask`` (0/1): both polarities, two sizes."""
    ys, xs = np.nonzero(mask)
    if len(xs) == 0:
        return []
    ink = mask[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
    orb = _orb(500)
    out = []
    for side in VIEW_SIDES:
        scale = side / max(ink.shape)
        size = (max(1, round(ink.shape[1] * scale)), max(1, round(ink.shape[0] * scale)))
        small = np.asarray(cv2.resize(ink * 255, size, interpolation=cv2.INTER_AREA) >= 128, np.uint8)
        pad = max(16, side // 8)
        small = np.asarray(
            cv2.copyMakeBorder(small, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=0), np.uint8
        )
        outline = _outline(small)
        for ink_level, ground in ((30, 225), (225, 30)):
            grey = np.asarray(
                cv2.GaussianBlur(np.where(small > 0, ink_level, ground).astype(np.uint8), (3, 3), 0)
            )
            keypoints, descriptors = orb.detectAndCompute(grey, None)
            if len(keypoints) < MIN_INLIERS:  # (no descriptors at all comes with no keypoints)
                continue
            points = np.asarray([k.pt for k in keypoints], np.float32)
            view = _View(
                ref, points, np.asarray(descriptors, np.uint8), outline, (small.shape[1], small.shape[0])
            )
            out.append(view)
    return out


class EmblemIndex:
    """Keypoints of a set of drawings, ready to be looked for in pictures (thread-safe)."""

    def __init__(self, masks: Sequence[tuple[int, U8]]) -> None:
        self._views = [v for ref, mask in masks for v in _views(ref, mask)]
        self._matcher = cv2.BFMatcher(cv2.NORM_HAMMING)

    def __bool__(self) -> bool:
        return bool(self._views)

    def match(self, grey: U8) -> list[tuple[int, float, tuple[float, ...]]]:
        """(ref index, outline agreement, box in ``grey``'s pixels) for every emblem found."""
        h, w = grey.shape
        scale = min(1.0, WORK_SIDE / max(h, w))
        work = grey if scale == 1.0 else cv2.resize(grey, (round(w * scale), round(h * scale)),
                                                     interpolation=cv2.INTER_AREA)  # fmt: skip
        keypoints, found_descriptors = _orb(4000).detectAndCompute(work, None)
        if len(keypoints) < MIN_INLIERS:
            return []
        points = np.asarray([k.pt for k in keypoints], np.float32)
        descriptors = np.asarray(found_descriptors, np.uint8)
        canny = cv2.Canny(cv2.GaussianBlur(work, (3, 3), 0), 40, 120)
        edges = np.asarray(cv2.dilate(canny, np.ones((5, 5), np.uint8)), np.uint8)
        found: dict[int, tuple[float, tuple[float, ...]]] = {}
        for view in self._views:
            hit = self._match_view(view, points, descriptors, edges)
            if hit is not None and hit[0] > found.get(view.ref, (0.0,))[0]:
                score, (x, y, bw, bh) = hit
                found[view.ref] = (score, (x / scale, y / scale, bw / scale, bh / scale))
        return [(ref, score, box) for ref, (score, box) in found.items()]

    def _match_view(
        self, view: _View, points: F32, descriptors: U8, edges: U8
    ) -> tuple[float, tuple[float, float, float, float]] | None:
        pairs = self._matcher.knnMatch(view.descriptors, descriptors, k=2)
        good = [p[0] for p in pairs if len(p) == 2 and p[0].distance < RATIO * p[1].distance]
        if len(good) < MIN_INLIERS:
            return None
        src = view.points[[m.queryIdx for m in good]]
        dst = points[[m.trainIdx for m in good]]
        side = max(view.size)
        transform, inliers = cv2.estimateAffinePartial2D(
            src, dst, method=cv2.RANSAC, ransacReprojThreshold=max(3.0, 0.02 * side), maxIters=500
        )
        if np.count_nonzero(inliers) < MIN_INLIERS:  # (no transform comes with no inliers)
            return None
        found_scale = float(np.hypot(transform[0, 0], transform[1, 0]))
        h, w = edges.shape
        if found_scale * side < MIN_SHARE * max(h, w) or found_scale * side > 1.5 * max(h, w):
            return None
        outline = cv2.transform(view.outline.reshape(-1, 1, 2), transform).reshape(-1, 2)
        inside = (outline[:, 0] >= 0) & (outline[:, 0] < w) & (outline[:, 1] >= 0) & (outline[:, 1] < h)
        if inside.mean() < 0.5:
            return None
        px = outline[inside].astype(np.int32)
        agreement = float((edges[px[:, 1], px[:, 0]] > 0).sum()) / len(outline)
        if agreement < MIN_OUTLINE:
            return None
        x0, y0 = np.maximum(outline.min(0), 0)
        x1, y1 = np.minimum(outline.max(0), (w, h))
        return agreement, (float(x0), float(y0), float(x1 - x0), float(y1 - y0))


__all__ = ["MIN_INLIERS", "MIN_OUTLINE", "EmblemIndex"]
