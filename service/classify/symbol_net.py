"""Candidates and the learned verifier of the symbol matcher (no I/O but loading the model).

``propose`` finds where a symbol could be on a small copy of the picture (shorter side about
``WORK_SIDE``): it binarises the grey levels both ways against a local mean (a block of 0.15 of
the shorter side, ``LOCAL`` grey levels apart), adds the St George ribbon's orange (with the
black touching it) when the picture has enough orange, labels each layer once, filters the
components with numpy (size, fill, aspect), adds the union of each pair of close, comparable
components of one layer (a symbol cut in two by an occluder, the two SS runes), and the
components, labelled at half size, of the eroded layer (a symbol merged with a neighbour of the
same paint) and of the layer at ``STRONG`` contrast (a symbol touching a dark patch of another
paint), and the components of the pixels far in colour from the local mean colour (CIELAB a*
and b*, ``CHROMA`` apart: a red or blue paint whose grey level is close to the photo's); then it
drops near-duplicate boxes and keeps the ``MAX_CANDIDATES`` boxes with the most strongly
painted pixels (``STRONG`` grey levels from the local mean, or far in colour). A kept box found by
its colour is also proposed a second time (at most ``COLOUR_LOOKS`` of them) to be verified on
its colour instead of its grey levels (polarity ``BY_COLOUR``): a red or blue paint whose grey
level is the photo's is invisible in grey but plain in colour.

``crops`` cuts every candidate out of the small copy (a square ``CROP`` x ``CROP`` window with a
margin, so a letter's neighbours in a word are seen) as two channels: the grey levels
normalised so the candidate's paint is dark (for a look by colour: each pixel's distance in
colour from the crop's ground, turned the same way), and the orange mask. ``Verifier`` runs the
small CNN that ``symbol_train`` trains on those crops (one onnxruntime session, one thread, every
candidate of a picture in one call); its outputs are calibrated probabilities, one column per
shipped symbol plus "none" (column 0).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
from PIL import Image

from service.errors import ConfigError

WORK_SIDE = 320  # shorter side of the small copy: a 5 % symbol is 16 pixels there
MAX_ASPECT = 4.0
CROP = 32  # side of a verifier crop
MARGIN = 0.22  # context around a candidate's box in its crop, as a share of its longer side
MAX_CANDIDATES = 64  # per picture, after de-duplication
MIN_FRACTION = 0.035  # smallest candidate, as a share of the shorter side (5 % with margin)
MAX_FRACTION = 0.62  # largest (40 %, turned by 30 degrees, with margin)
STRONG = 70  # grey levels from the local mean of a strongly painted pixel
LOCAL = 26  # grey levels between a candidate pixel and the local mean
CHROMA = 30  # a*+b* (CIELAB) between a candidate pixel's colour and the local mean colour
# At most this many boxes found by colour (the first kept: the largest, or the most strongly
# painted) are looked at again by colour. On the tuning seed 1 of bench_symbols, 8 looks found
# 0.950 of the symbols, 16 and 32 both 0.952, at the same false positives; each look costs one
# more crop for the verifier (about 50 us).
COLOUR_LOOKS = 8
BY_COLOUR = 2.0  # the polarity of a candidate looked at by its colour

U8 = npt.NDArray[np.uint8]
F32 = npt.NDArray[np.float32]
I32 = npt.NDArray[np.int32]


@dataclass(frozen=True, slots=True)
class Candidates:
    """Boxes (x, y, w, h) on the small copy and each one's polarity (+1: paint darker)."""

    boxes: F32
    polarity: F32  # +1 paint darker, -1 lighter, 0 own colours, BY_COLOUR: look at its colour


def small_copy(image: Image.Image) -> tuple[U8, float]:
    """The picture as RGB reduced by a whole factor so its shorter side is about ``WORK_SIDE``
    (PIL's box reduction: the cheapest good downscale of a large picture); and that scale."""
    w, h = image.size
    factor = max(1, round(min(w, h) / WORK_SIDE), int(np.ceil(max(w, h) / (WORK_SIDE * MAX_ASPECT))))
    if factor > 1 and image.mode in ("RGB", "RGBA", "L", "LA"):
        image = image.reduce(factor)
    elif factor > 1:
        image = image.convert("RGBA").reduce(factor)
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        flat = Image.new("RGB", image.size, (255, 255, 255))
        flat.paste(image.convert("RGBA"), mask=image.convert("RGBA").getchannel("A"))
        image = flat
    elif image.mode != "RGB":
        image = image.convert("RGB")
    rgb = np.asarray(image, np.uint8)
    return rgb, rgb.shape[0] / h


def orange(rgb: U8) -> U8:
    """0/1 mask of ribbon-orange pixels (saturated hue 4-24 in OpenCV's 0-179)."""
    hsv = cv2.cvtColor(rgb, cv2.COLOR_RGB2HSV)
    return np.asarray(cv2.inRange(hsv, np.array([4, 110, 110]), np.array([24, 255, 255])) // 255, np.uint8)


def _stats(mask: U8) -> I32:
    _, _, stats, _ = cv2.connectedComponentsWithStatsWithAlgorithm(mask, 8, cv2.CV_32S, cv2.CCL_BBDT)
    return np.asarray(stats[1:], np.int32)


def _pooled(mask: U8) -> U8:
    """Half-size copy of a 0/1 mask where a pixel is set when any of its four was (thin strokes
    stay connected; labelling costs a quarter)."""
    h, w = mask.shape
    m = mask[: h // 2 * 2, : w // 2 * 2]
    return np.asarray(m[0::2, 0::2] | m[1::2, 0::2] | m[0::2, 1::2] | m[1::2, 1::2], np.uint8)


def _plausible(stats: I32, short: int) -> I32:
    lo, hi = MIN_FRACTION * short, MAX_FRACTION * short
    w, h, area = stats[:, 2], stats[:, 3], stats[:, 4]
    longest, shortest = np.maximum(w, h), np.maximum(1, np.minimum(w, h))
    fill = area / np.maximum(1, w * h)
    keep = (longest >= lo) & (longest <= hi) & (longest / shortest <= 4.0) & (fill > 0.1) & (fill < 0.9)
    return np.asarray(stats[keep], np.int32)


def _pairs(stats: I32, short: int, limit: int = 14) -> I32:
    """Union boxes of pairs of close, comparable components (largest ``limit`` of a layer)."""
    lo, hi = MIN_FRACTION * short, MAX_FRACTION * short
    w, h = stats[:, 2], stats[:, 3]
    size = np.maximum(w, h)
    top = stats[(size >= 0.5 * lo) & (size <= hi)]
    top = top[np.argsort(-top[:, 4], kind="stable")[:limit]]
    if len(top) < 2:
        return np.zeros((0, 5), np.int32)
    x0, y0 = top[:, 0].astype(np.float32), top[:, 1].astype(np.float32)
    x1, y1 = x0 + top[:, 2], y0 + top[:, 3]
    size = np.maximum(top[:, 2], top[:, 3]).astype(np.float32)
    gx = np.maximum(x0[:, None] - x1[None, :], x0[None, :] - x1[:, None])
    gy = np.maximum(y0[:, None] - y1[None, :], y0[None, :] - y1[:, None])
    big = np.maximum(size[:, None], size[None, :])
    ux0, uy0 = np.minimum(x0[:, None], x0[None, :]), np.minimum(y0[:, None], y0[None, :])
    ux1, uy1 = np.maximum(x1[:, None], x1[None, :]), np.maximum(y1[:, None], y1[None, :])
    ulong = np.maximum(ux1 - ux0, uy1 - uy0)
    ok = (np.maximum(gx, gy) < 0.3 * big) & (ulong < 1.7 * big) & (ulong <= hi) & (ulong >= lo)
    ok &= np.triu(np.ones_like(ok), 1).astype(bool)
    i, j = np.nonzero(ok)
    area = top[i, 4] + top[j, 4]
    return np.stack([ux0[i, j], uy0[i, j], ux1[i, j] - ux0[i, j], uy1[i, j] - uy0[i, j], area], 1).astype(
        np.int32
    )


def _dedupe(boxes: F32, limit: int) -> npt.NDArray[np.intp]:
    """Indices of boxes kept largest first, dropping one that overlaps a kept box (IoU > 0.75)."""
    order = np.argsort(-(boxes[:, 2] * boxes[:, 3]), kind="stable")
    b = boxes[order]
    x0, y0, x1, y1 = b[:, 0], b[:, 1], b[:, 0] + b[:, 2], b[:, 1] + b[:, 3]
    area = b[:, 2] * b[:, 3]
    iw = np.clip(np.minimum(x1[:, None], x1[None, :]) - np.maximum(x0[:, None], x0[None, :]), 0, None)
    ih = np.clip(np.minimum(y1[:, None], y1[None, :]) - np.maximum(y0[:, None], y0[None, :]), 0, None)
    inter = iw * ih
    close = inter / (area[:, None] + area[None, :] - inter) > 0.75
    alive = np.ones(len(b), bool)
    kept: list[int] = []
    for i in range(len(b)):
        if not alive[i]:
            continue
        kept.append(i)
        if len(kept) >= limit:
            break
        alive &= ~close[i]
    return np.asarray(order[kept], np.intp)


# In 8 bits throughout (OpenCV's own loops): a level shifted past 0 or 255 stops there, where no
# grey level can pass it, so the masks are those of the same sums in 16 bits.
_SHIFTS = {
    by: np.clip(np.arange(256) + by, 0, 255).astype(np.uint8) for by in (-STRONG, -LOCAL, LOCAL, STRONG)
}


def _shifted(levels: U8, by: int) -> U8:
    return np.asarray(cv2.LUT(levels, _SHIFTS[by]), np.uint8)


def _below(a: U8, b: U8) -> U8:
    """0/1 mask of ``a < b``, pixel by pixel (``b - a``, stopped at 0, is over 0)."""
    return _over(np.asarray(cv2.subtract(b, a), np.uint8), 0)


def _over(levels: U8, limit: int) -> U8:
    """0/1 mask of ``levels > limit``."""
    return np.asarray(cv2.threshold(levels, limit, 1, cv2.THRESH_BINARY)[1], np.uint8)


def propose(rgb: U8, grey: U8) -> Candidates:
    """Where a symbol could be on the small copy (see the module docstring)."""
    h, w = grey.shape
    short = min(h, w)
    block = max(3, int(0.15 * short) | 1)
    mean = np.asarray(cv2.blur(grey, (block, block)), np.uint8)
    layers = [(_below(grey, _shifted(mean, -LOCAL)), 1.0), (_below(_shifted(mean, LOCAL), grey), -1.0)]
    lo = MIN_FRACTION * short
    paint = orange(rgb)
    found: list[I32] = []
    signs: list[F32] = []
    by_colour: list[npt.NDArray[np.bool_]] = []
    if cv2.countNonZero(paint) >= lo * lo / 2:
        near = cv2.dilate(paint, np.ones((5, 5), np.uint8))
        layers.append((paint | (near & (grey < 90).astype(np.uint8)), 0.0))
    # paint of another colour at a grey level close to the photo's: far from the local mean colour
    _, a_star, b_star = cv2.split(cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB))
    a_off = cv2.absdiff(a_star, cv2.blur(a_star, (block, block)))
    b_off = cv2.absdiff(b_star, cv2.blur(b_star, (block, block)))
    far = _over(np.asarray(cv2.add(a_off, b_off), np.uint8), CHROMA)
    darker = 1 - _below(mean, grey)  # grey <= mean
    coloured = [(far & darker, 1.0), (far & (1 - darker), -1.0)]
    kernel = np.ones((3, 3), np.uint8)
    half = short // 2
    for mask, sign in coloured:
        stats = _stats(mask)
        for p in (_plausible(stats, short), _pairs(stats, short)):
            found.append(p)
            signs.append(np.full(len(p), sign, np.float32))
            by_colour.append(np.ones(len(p), bool))
    for mask, sign in layers:
        stats = _stats(mask)
        parts = [_plausible(stats, short), _pairs(stats, short)]
        if sign != 0:  # a symbol merged with a neighbour comes apart when eroded (same paint) or
            # at a stronger contrast (another paint); both labelled at half size
            strong = (
                _below(grey, _shifted(mean, -STRONG)) if sign > 0 else _below(_shifted(mean, STRONG), grey)
            )
            for extra in (np.asarray(cv2.erode(mask, kernel), np.uint8), strong):
                more = _plausible(_stats(_pooled(extra)), half)
                more[:, :4] *= 2
                parts.append(more)
        for p in parts:
            found.append(p)
            signs.append(np.full(len(p), sign, np.float32))
            by_colour.append(np.full(len(p), sign == 0))  # the orange layer is colour too
    stats = np.concatenate(found)
    boxes = stats[:, :4].astype(np.float32)
    polarity = np.concatenate(signs)
    keep = _dedupe(boxes, 10_000) if len(boxes) else np.zeros(0, np.intp)
    if len(keep) > MAX_CANDIDATES:  # the most strongly painted first: pixels > STRONG in the box
        integral = cv2.integral(_over(np.asarray(cv2.absdiff(grey, mean), np.uint8), STRONG) | far)
        b = boxes[keep].astype(np.int64)
        x0, y0, x1, y1 = b[:, 0], b[:, 1], b[:, 0] + b[:, 2], b[:, 1] + b[:, 3]
        strong_px = integral[y1, x1] - integral[y0, x1] - integral[y1, x0] + integral[y0, x0]
        keep = keep[np.argsort(-strong_px, kind="stable")[:MAX_CANDIDATES]]
    again = keep[np.concatenate(by_colour)[keep]][:COLOUR_LOOKS]
    return Candidates(
        np.concatenate([boxes[keep], boxes[again]]).reshape(-1, 4),
        np.concatenate([polarity[keep], np.full(len(again), BY_COLOUR, np.float32)]),
    )


def _cut(image: U8, boxes: F32) -> U8:
    """(n, CROP, CROP[, channels]): each box widened by ``MARGIN`` to a square, cut out of
    ``image`` (H, W[, channels]) from the level of a small pyramid where it is at most twice
    ``CROP`` (cheap to reduce), the picture's edge repeated where the square leaves it."""
    n = len(boxes)
    cut = np.zeros((n, CROP, CROP, *image.shape[2:]), np.uint8)
    levels = [image]
    while min(levels[-1].shape[:2]) > 4 * CROP:
        levels.append(np.asarray(cv2.pyrDown(levels[-1]), np.uint8))
    for i, (x, y, bw, bh) in enumerate(boxes.tolist()):
        side = max(bw, bh) * (1 + 2 * MARGIN)
        k = min(len(levels) - 1, max(0, int(np.ceil(np.log2(max(1.0, side / (2 * CROP)))))))
        f = 0.5**k
        src = levels[k]
        h, w = src.shape[:2]
        s = max(2, round(side * f))
        x0, y0 = round((x + bw / 2) * f - s / 2), round((y + bh / 2) * f - s / 2)
        cx0, cy0, cx1, cy1 = max(0, x0), max(0, y0), min(w, x0 + s), min(h, y0 + s)
        if cx1 <= cx0 or cy1 <= cy0:
            continue
        part: U8 = src[cy0:cy1, cx0:cx1]
        pad = (cy0 - y0, y0 + s - cy1, cx0 - x0, x0 + s - cx1)
        if any(pad):
            part = np.asarray(cv2.copyMakeBorder(part, *pad, cv2.BORDER_REPLICATE), np.uint8)
        cut[i] = cv2.resize(part, (CROP, CROP), interpolation=cv2.INTER_AREA)
    return cut


def crops(rgb: U8, cands: Candidates) -> F32:
    """(n, 2, CROP, CROP) verifier input: polarity-normalised grey (the colour distance for a
    ``BY_COLOUR`` look) and the orange mask."""
    n = len(cands.boxes)
    out = np.zeros((n, 2, CROP, CROP), np.float32)
    if n == 0:
        return out
    tall = _cut(rgb, cands.boxes).reshape(n * CROP, CROP, 3)
    grey = cv2.cvtColor(tall, cv2.COLOR_RGB2GRAY).reshape(n, -1).astype(np.float32)
    sign = np.where(cands.polarity < 0, -1.0, 1.0).astype(np.float32)[:, None]
    looks = np.flatnonzero(cands.polarity == BY_COLOUR)
    if len(looks):  # the paint is far in colour from the crop's ground: high, so turned
        seen = tall.reshape(n, CROP, CROP, 3)[looks].reshape(-1, CROP, 3)
        lab = np.asarray(cv2.cvtColor(seen, cv2.COLOR_RGB2LAB), np.uint8).reshape(len(looks), CROP, CROP, 3)
        grey[looks] = _from_ground(lab[..., 1:]).reshape(len(looks), -1)
        sign[looks] = -1.0
    norm = (grey - grey.mean(1, keepdims=True)) / (grey.std(1, keepdims=True) + 4.0) * sign
    out[:, 0] = np.clip(norm, -3, 3).reshape(n, CROP, CROP)
    out[:, 1] = orange(tall).reshape(n, CROP, CROP)
    return out


def _from_ground(ab: U8) -> F32:
    """(n, CROP, CROP): how far each pixel of a crop is in colour (CIELAB a*, b*, given as
    (n, CROP, CROP, 2)) from the crop's ground, the median colour of its border."""
    edge = np.concatenate([ab[:, 0], ab[:, -1], ab[:, :, 0], ab[:, :, -1]], axis=1).astype(np.float32)
    ground = np.median(edge, axis=1)
    return np.asarray(np.abs(ab.astype(np.float32) - ground[:, None, None, :]).sum(-1), np.float32)


def coloured(image: Image.Image) -> bool:
    """Whether a drawing has its own colours (saturated pixels, the ribbon), not just ink on a
    ground: such a symbol is painted in its own colours, any other in a colour of the picture's."""
    hsv = np.asarray(image.convert("RGB").convert("HSV"))
    return bool(((hsv[..., 1] >= 120) & (hsv[..., 2] >= 120)).sum() >= 32)


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class Verifier:
    """The learned verifier: calibrated class probabilities for a batch of crops."""

    def __init__(self, sidecar: Path) -> None:
        try:
            meta = json.loads(sidecar.read_text(encoding="utf-8"))
            model = sidecar.parent / str(meta["model"])
            classes = [str(c) for c in meta["classes"]]
            drawings = {str(k): str(v) for k, v in meta["drawings"].items()}
            if file_sha256(model) != meta["sha256"]:
                raise ConfigError(f"{model}: SHA-256 differs from {sidecar.name}")
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ConfigError(f"{sidecar}: cannot load the symbol verifier: {exc}") from exc
        import onnxruntime as ort  # only a bank with a verifier needs it

        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        self._session = ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
        self.classes = tuple(classes)  # classes[0] is "none"
        self.drawings = drawings  # symbol id -> SHA-256 of the drawing's RGBA pixels it was trained on
        self.sha256 = str(meta["sha256"])

    def probabilities(self, batch: F32) -> F32:
        if len(batch) == 0:
            return np.zeros((0, len(self.classes)), np.float32)
        (out,) = self._session.run(None, {"crops": batch})
        return np.asarray(out, np.float32)


def drawing_sha256(pixels: bytes) -> str:
    return hashlib.sha256(pixels).hexdigest()
