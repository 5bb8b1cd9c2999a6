"""The symbol bank: finds war and extremist symbols anywhere in a picture (no I/O but loading).

A ``SymbolMatcher`` holds reference drawings (the shipped ones in ``policies/symbols/``, written
by ``symbol_drawings.py``, plus any an operator adds with ``with_refs``) and, for the shipped
ones, the learned verifier that ``symbol_train.py`` trained on them (``verifier.json`` beside
``symbols.yaml``). ``match(image)`` is a pure function of the picture and the bank:

1. reduce the picture to a small copy (``symbol_net.small_copy``, shorter side about 320);
2. propose candidate boxes on it (``symbol_net.propose``: both polarities against a local mean,
   their eroded and strong-contrast copies, the ribbon's orange, paint far in colour; close
   pieces joined in pairs; at most ``symbol_net.MAX_CANDIDATES``, and a box found by colour a
   second time to be looked at by its colour, as a red marking as light as its wall is seen);
3. cut every candidate as a crop and classify all of them in one call of the verifier (a look by
   colour never names a symbol that has its own colours, the ribbon: it sees a shape only); a
   candidate whose most probable class is a symbol with calibrated probability of at least
   ``MATCH_THRESHOLD`` (``SYMBOL_THRESHOLDS`` for some) is a hit;
4. look again at each hit with its box moved and scaled a little (``JITTERS``): leaving out the
   worst look (``JITTER_DROP``), the mean probability of the others must reach the threshold,
   which a chance arrangement of shapes that looks like a symbol in one framing rarely does;
5. references the verifier was not trained on (an operator's emblem, or a shipped id whose
   drawing was replaced) are looked for by local features instead (``symbol_keypoints``: ORB
   keypoints, a similarity transform fitted by RANSAC, the drawing's outline checked against the
   picture's edges); that costs about 25 ms more per picture, only when the bank has such
   references;
6. keep the best of overlapping hits (an emblem found by its keypoints is kept beside a shipped
   symbol over it) and map the boxes back to the original picture's pixels.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import yaml
from PIL import Image

from service.classify import symbol_keypoints as keypoints
from service.classify import symbol_net as net
from service.errors import ConfigError
from service.vocabulary import Category

# The calibrated verifier probability a hit needs, tuned on bench seed 1 (the verifier trained on
# 16,000 pictures: 0.93 -> 0.90 took recall from 0.893 to 0.905 at 0.38 % false positives).
MATCH_THRESHOLD = 0.90
# Where a symbol is also an everyday shape, more: a V is a letter, a tick, a fold, a roof line
# (bench seed 1: 3 of 4 false positives on pictures without symbols were V at 0.93); a Z learned
# from many hands is also near a 2 or a Z inside a word, and the ribbon near striped flags (seed
# 1 with the verifier trained on varied drawings: false positives 1.35 % at 0.90, 0.58 % with
# these two at 0.95; recall 0.948 -> 0.943, other hands' drawings 0.673 -> 0.640). That verifier
# also read a V at 0.993 in two narrow ellipses side by side on a generated still; the V at
# 0.995 costs seed 1 some of its V (0.933 -> 0.883; other hands' V 0.344 -> 0.200).
SYMBOL_THRESHOLDS = {"v_marking": 0.995, "z_marking": 0.95, "st_george_ribbon": 0.95}
# A hit is looked at again with its box moved and scaled a little (a chance arrangement of shapes
# rarely survives being reframed). The worst look is set aside (a box moved past the picture's
# edge or onto a cover hides part of a real symbol) and the mean of the others must reach the
# threshold (bench_symbols seeds 1, 3 and 4, overlapping looks merged: recall 0.907 -> 0.910,
# false positives 0.51 -> 0.45 % against all five looks at 0.95 of the threshold).
JITTERS = ((0.08, 0.0, 1.0), (-0.08, 0.0, 1.0), (0.0, 0.08, 1.0), (0.0, -0.08, 1.0), (0.0, 0.0, 1.15))
JITTER_DROP = 1
SYMBOL_CATEGORIES = (Category.WAR_GLORIFICATION, Category.EXTREMIST_SYMBOLS)
# How candidates are proposed and looked at, in the bank's version beside its drawings and
# verifier: a verdict's symbols version changes when the same bank would find other symbols.
METHOD = "looks-by-colour"
_MIN_SIDE = 32  # pictures smaller than this on either side cannot show a 5 % symbol
_DEFAULT_DIR = Path(__file__).resolve().parents[2] / "policies" / "symbols"


@dataclass(frozen=True, slots=True)
class SymbolRef:
    """A reference drawing with what a hit on it means."""

    id: str
    label: str
    category: Category
    note: str
    image: Image.Image


@dataclass(frozen=True, slots=True)
class SymbolHit:
    """One symbol found: ``box`` is (x, y, width, height) in the original picture's pixels."""

    symbol_id: str
    label: str
    category: Category
    score: float
    box: tuple[int, int, int, int]


def _ink(image: Image.Image) -> np.ndarray[Any, np.dtype[np.uint8]]:
    """The drawing's symbol pixels: not the background colour (read from the border)."""
    rgb = np.asarray(
        image.convert("RGBA").convert("RGB") if image.mode in ("RGBA", "LA", "P") else image.convert("RGB")
    )
    if image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info):
        alpha = np.asarray(image.convert("RGBA"))[..., 3]
        if int(alpha.min()) < 128:
            return np.asarray(alpha >= 128, np.uint8)
    grey = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2GRAY)
    border = np.concatenate([grey[0], grey[-1], grey[:, 0], grey[:, -1]])
    background = float(np.median(border))
    return np.asarray(np.abs(grey.astype(np.float32) - background) > 60, np.uint8)


def _prepare(ref: SymbolRef) -> np.ndarray[Any, np.dtype[np.uint8]]:
    """The drawing's ink mask, or a ``ConfigError`` saying why the reference cannot be used."""
    if ref.category not in SYMBOL_CATEGORIES:
        raise ConfigError(f"symbol {ref.id!r}: category must be one of {[str(c) for c in SYMBOL_CATEGORIES]}")
    mask = _ink(ref.image)
    if int(mask.sum()) < 64:
        raise ConfigError(f"symbol {ref.id!r}: the drawing has no visible symbol on a plain background")
    return mask


def _rgb(image: Image.Image) -> np.ndarray[Any, np.dtype[np.uint8]]:
    if image.mode == "RGB":
        return np.asarray(image, np.uint8)
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        flat = Image.new("RGB", image.size, (255, 255, 255))
        flat.paste(image.convert("RGBA"), mask=image.convert("RGBA").getchannel("A"))
        return np.asarray(flat, np.uint8)
    return np.asarray(image.convert("RGB"), np.uint8)


def _box_overlap(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> float:
    ix = max(0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = ix * iy
    return inter / max(1, min(a[2] * a[3], b[2] * b[3]))


def _merge_looks(hits: list[SymbolHit]) -> list[SymbolHit]:
    """Overlapping hits of one symbol are looks at the same one (the verifier also knows a symbol
    from a candidate holding part of it): one hit, the best score, a box covering every look."""
    merged: list[SymbolHit] = []
    rest = list(hits)  # best score first
    while rest:
        first, rest = rest[0], rest[1:]
        grew = True
        while grew:  # a grown box may now overlap looks it did not before
            looks = [h.symbol_id == first.symbol_id and _box_overlap(first.box, h.box) > 0.5 for h in rest]
            same = [h for h, look in zip(rest, looks, strict=True) if look]
            rest = [h for h, look in zip(rest, looks, strict=True) if not look]
            for other in same:
                first = replace(first, box=_union(first.box, other.box))
            grew = bool(same)
        merged.append(first)
    return merged


def _union(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
    x, y = min(a[0], b[0]), min(a[1], b[1])
    return x, y, max(a[0] + a[2], b[0] + b[2]) - x, max(a[1] + a[3], b[1] + b[3]) - y


class SymbolMatcher:
    """A bank of prepared references; ``match`` is safe to call from several threads."""

    def __init__(self, *, refs: Sequence[SymbolRef], verifier: net.Verifier | None = None) -> None:
        ids = [r.id for r in refs]
        if len(set(ids)) != len(ids):
            raise ConfigError(f"symbol ids must be unique: {ids}")
        masks = [_prepare(r) for r in refs]
        self._refs = tuple(refs)
        self._verifier = verifier
        digest = hashlib.sha256(f"{METHOD}\0".encode())
        learned: dict[int, int] = {}  # verifier class -> index of the ref it stands for
        for n, r in enumerate(refs):
            pixels = r.image.convert("RGBA").tobytes()
            digest.update(f"{r.id}\0{r.category}\0".encode())
            digest.update(pixels)
            if verifier is not None and verifier.drawings.get(r.id) == net.drawing_sha256(pixels):
                learned[verifier.classes.index(r.id)] = n
        if verifier is not None:
            digest.update(verifier.sha256.encode())
        self._learned = learned
        # a look by colour sees a paint's shape, not its colours: not a symbol in its own colours
        self._own_colours = [k for k, n in learned.items() if net.coloured(refs[n].image)]
        self._thresholds = [MATCH_THRESHOLD] * len(verifier.classes) if verifier is not None else []
        for k, n in learned.items():
            self._thresholds[k] = SYMBOL_THRESHOLDS.get(refs[n].id, MATCH_THRESHOLD)
        self._emblems = keypoints.EmblemIndex(
            [(n, masks[n]) for n in range(len(refs)) if n not in learned.values()]
        )
        self.version = f"symbols-{digest.hexdigest()[:12]}"

    @property
    def refs(self) -> tuple[SymbolRef, ...]:
        return self._refs

    @classmethod
    def from_dir(cls, path: Path = _DEFAULT_DIR) -> SymbolMatcher:
        """The bank described by ``path/symbols.yaml`` and the drawings beside it."""
        return cls(refs=load_refs(path), verifier=load_verifier(path))

    def with_refs(self, refs: Sequence[SymbolRef]) -> SymbolMatcher:
        """This bank plus ``refs`` (an operator's emblems); a ref with a known id replaces it."""
        added = {r.id for r in refs}
        return SymbolMatcher(
            refs=[*(r for r in self.refs if r.id not in added), *refs], verifier=self._verifier
        )

    def match(self, image: Image.Image) -> list[SymbolHit]:
        """Every symbol of the bank found in ``image``, best score first."""
        width, height = image.size
        if min(width, height) < _MIN_SIDE or not self._refs:
            return []
        found = self._learned_hits(image) if self._learned else []
        if self._emblems:
            grey = np.asarray(cv2.cvtColor(_rgb(image), cv2.COLOR_RGB2GRAY), np.uint8)
            found += self._emblems.match(grey)  # (5)
        learned = {self._refs[n].id for n in self._learned.values()}
        hits: list[SymbolHit] = []
        for n, score, (x, y, w, h) in sorted(found, key=lambda f: -f[1]):  # (6)
            ref = self._refs[n]
            box = (max(0, round(x)), max(0, round(y)), round(w), round(h))
            box = (box[0], box[1], min(box[2], width - box[0]), min(box[3], height - box[1]))
            if any(  # an emblem verified by its keypoints is not hidden by a verifier's guess over it
                kept.symbol_id != ref.id
                and _box_overlap(box, kept.box) > 0.5
                and (kept.symbol_id in learned) == (ref.id in learned)
                for kept in hits
            ):
                continue
            hits.append(SymbolHit(ref.id, ref.label, ref.category, round(min(1.0, score), 3), box))
        return _merge_looks(hits)

    def _learned_hits(self, image: Image.Image) -> list[tuple[int, float, tuple[float, ...]]]:
        assert self._verifier is not None
        small, scale = net.small_copy(image)  # (1)
        grey = np.asarray(cv2.cvtColor(small, cv2.COLOR_RGB2GRAY), np.uint8)
        cands = net.propose(small, grey)  # (2)
        probs = self._verifier.probabilities(net.crops(small, cands))  # (3)
        if len(probs) == 0:
            return []
        probs[:, [k for k in range(probs.shape[1]) if k not in self._learned]] = 0.0
        probs[np.ix_(cands.polarity == net.BY_COLOUR, self._own_colours)] = 0.0
        best = probs.argmax(1)
        score = probs[np.arange(len(best)), best]
        needed = np.asarray([self._thresholds[int(k)] for k in best], np.float32)
        sure = np.flatnonzero(score >= needed)
        if len(sure) and JITTERS:  # (4) a symbol stays one when its box moves a little
            boxes = cands.boxes[sure]
            moved = np.concatenate([_jittered(boxes, j) for j in JITTERS])
            polarity = np.tile(cands.polarity[sure], len(JITTERS))
            again = self._verifier.probabilities(net.crops(small, net.Candidates(moved, polarity)))
            again = again.reshape(len(JITTERS), len(sure), -1)[:, np.arange(len(sure)), best[sure]]
            kept_looks = np.sort(again, axis=0)[JITTER_DROP:]  # one framing may cut the symbol off
            score[sure] = np.minimum(score[sure], kept_looks.mean(0))
            sure = sure[score[sure] >= needed[sure]]
        out = []
        for i in sure.tolist():
            n = self._learned[int(best[i])]
            out.append((n, float(score[i]), tuple(float(v) / scale for v in cands.boxes[i])))
        return out


def _jittered(boxes: net.F32, jitter: tuple[float, float, float]) -> net.F32:
    """``boxes`` (x, y, w, h) moved by ``dx``, ``dy`` of their size and scaled by ``grow``."""
    dx, dy, grow = jitter
    x, y, w, h = boxes[:, 0], boxes[:, 1], boxes[:, 2], boxes[:, 3]
    cx, cy = x + w / 2 + dx * w, y + h / 2 + dy * h
    return np.stack([cx - w * grow / 2, cy - h * grow / 2, w * grow, h * grow], 1).astype(np.float32)


def _index(path: Path) -> tuple[Path, dict[str, Any]]:
    """``path/symbols.yaml`` read, or a ``ConfigError`` saying why not."""
    index = path / "symbols.yaml"
    try:
        doc = yaml.safe_load(index.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{index}: cannot read the symbol bank: {exc}") from exc
    return index, doc if isinstance(doc, dict) else {}


def load_verifier(path: Path) -> net.Verifier | None:
    """The learned verifier named by ``path/symbols.yaml``'s ``verifier`` key (none without one)."""
    index, doc = _index(path)
    name = doc.get("verifier")
    if name is None:
        return None
    if not isinstance(name, str):
        raise ConfigError(f"{index}: verifier: expected a file name")
    return net.Verifier(path / name)


def load_refs(path: Path) -> list[SymbolRef]:
    """The references of ``path/symbols.yaml``; a malformed entry is a ``ConfigError`` naming it."""
    index, doc = _index(path)
    entries = doc.get("symbols")
    if not isinstance(entries, list) or not entries:
        raise ConfigError(f"{index}: expected a non-empty list under 'symbols'")
    refs = []
    for n, entry in enumerate(entries):
        where = f"{index}: symbols[{n}]"
        if not isinstance(entry, dict):
            raise ConfigError(f"{where}: expected a mapping")
        missing = [
            k for k in ("id", "label", "category", "note", "file") if not isinstance(entry.get(k), str)
        ]
        if missing:
            raise ConfigError(f"{where}: missing or non-text keys {missing}")
        try:
            category = Category(entry["category"])
        except ValueError as exc:
            raise ConfigError(f"{where}: {exc}") from exc
        try:
            with Image.open(path / entry["file"]) as opened:
                image = opened.copy()
        except OSError as exc:
            raise ConfigError(f"{where}.file: cannot read {entry['file']}: {exc}") from exc
        refs.append(SymbolRef(entry["id"], entry["label"], category, entry["note"], image))
    return refs


__all__ = [
    "MATCH_THRESHOLD", "SYMBOL_THRESHOLDS", "SymbolHit", "SymbolMatcher", "SymbolRef",
    "load_refs", "load_verifier",
]  # fmt: skip
