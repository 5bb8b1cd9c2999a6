"""What a reviewer is shown about a flag: a typed value written by both flows, read by the page
and the API (no I/O).

Stored as JSON in ``flags.context``; ``FlagContext.from_json`` also reads rows written before the
type existed (a bare ``caption``, texts without a source). Consent is kept as ids and a status
here; the people behind the grants (subject, grantors, legal basis, scope) are looked up when a
reviewer opens the item, so a name erased from the consent records is not kept in the queue.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from service.policy.model import TextSource

# What a reviewer reads above each text.
TEXT_HEADINGS = {
    TextSource.PROMPT: "Generation prompt",
    TextSource.SCRIPT: "Voice script",
    TextSource.CAPTION: "Caption",
    TextSource.OCR: "Words read from the picture",
    TextSource.TRANSCRIPT: "Transcript",
}


@dataclass(frozen=True, slots=True)
class SourceText:
    source: str  # a TextSource value
    text: str

    @property
    def heading(self) -> str:
        try:
            return TEXT_HEADINGS[TextSource(self.source)]
        except ValueError:
            return self.source.capitalize()


@dataclass(frozen=True, slots=True)
class ScoreLine:
    category: str
    score: float
    threshold: float | None  # the market policy's review_at; None for a category it does not set
    source: str  # prompt, script, caption, ocr, transcript, image, video
    signal: str  # the classifier that produced it
    evidence: tuple[Mapping[str, Any], ...] = ()  # video: {"timestamp_s", "score", "frame_sha256"?}

    @property
    def at_or_over(self) -> bool:
        """At or above the threshold: the score that sent the item here (drawn as such)."""
        return self.threshold is not None and self.score >= self.threshold


@dataclass(frozen=True, slots=True)
class MediaRef:
    sha256: str
    mime: str
    role: str  # upload, output, source photo, frame

    @property
    def kind(self) -> str:
        return self.mime.split("/", 1)[0] if "/" in self.mime else "file"


@dataclass(frozen=True, slots=True)
class MatchLine:
    bank: str
    distance: int
    hash_type: str
    labels: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SymbolLine:
    """A symbol of the symbol bank found on the item: where, and on which video frame."""

    symbol_id: str
    label: str
    category: str
    score: float
    box: tuple[int, int, int, int]  # x, y, width, height in the picture's (or frame's) pixels
    timestamp_s: float | None = None
    frame_sha256: str | None = None  # the video frame it was found on, kept for the reviewer

    def to_json(self) -> dict[str, Any]:
        return {
            "symbol_id": self.symbol_id,
            "label": self.label,
            "category": self.category,
            "score": self.score,
            "box": list(self.box),
            "timestamp_s": self.timestamp_s,
            "frame_sha256": self.frame_sha256,
        }

    @classmethod
    def from_json(cls, raw: Any) -> SymbolLine | None:
        if not isinstance(raw, Mapping) or not raw.get("symbol_id"):
            return None
        box = [int(v) for v in _list(raw.get("box"))[:4]] + [0, 0, 0, 0]
        t = raw.get("timestamp_s")
        frame = raw.get("frame_sha256")
        return cls(
            str(raw["symbol_id"]),
            str(raw.get("label") or raw["symbol_id"]),
            str(raw.get("category") or ""),
            float(raw.get("score") or 0.0),
            (box[0], box[1], box[2], box[3]),
            float(t) if isinstance(t, int | float) else None,
            str(frame) if frame else None,
        )


@dataclass(frozen=True, slots=True)
class ConsentRef:
    """The consent behind an item, as ids: ``applicable`` is False where no consent record can be
    behind it (a text-only check, an upload Vigil did not make)."""

    applicable: bool
    status: str  # active, revoked, unknown, not_applicable
    grant_ids: tuple[str, ...] = ()
    asset_id: str | None = None
    note: str = ""


NOT_APPLICABLE = ConsentRef(
    applicable=False,
    status="not_applicable",
    note="No consent record is behind this item: it is not a Vigil output made under a grant.",
)


@dataclass(frozen=True, slots=True)
class FlagContext:
    texts: tuple[SourceText, ...] = ()
    scores: tuple[ScoreLine, ...] = ()
    media: tuple[MediaRef, ...] = ()
    matches: tuple[MatchLine, ...] = ()
    symbols: tuple[SymbolLine, ...] = ()
    consent: ConsentRef = NOT_APPLICABLE
    provenance: Mapping[str, Any] | None = None
    classifier_versions: Mapping[str, str] = field(default_factory=dict)
    ids: Mapping[str, str] = field(default_factory=dict)
    # What other stages keep with the flag (fingerprints for the bank, the DSA statement a
    # rejection files, an appeal's statement, suppressed matches): carried through as they are.
    extra: Mapping[str, Any] = field(default_factory=dict)

    def media_shas(self) -> set[str]:
        """Every blob a reviewer of this flag may fetch: the media and the video frames that fired."""
        shas = {m.sha256 for m in self.media}
        shas.update(s.frame_sha256 for s in self.symbols if s.frame_sha256)
        for line in self.scores:
            shas.update(str(e["frame_sha256"]) for e in line.evidence if e.get("frame_sha256"))
        return shas

    def fired_terms(self) -> tuple[str, ...]:
        """Lexicon terms the flow recorded as having fired (highlighted in the texts)."""
        terms = self.extra.get("fired_terms")
        return tuple(str(t) for t in terms) if isinstance(terms, list) else ()

    def to_json(self) -> dict[str, Any]:
        return {
            **dict(self.extra),
            "texts": [{"source": t.source, "text": t.text} for t in self.texts],
            "scores": [
                {
                    "category": s.category,
                    "score": s.score,
                    "threshold": s.threshold,
                    "source": s.source,
                    "signal": s.signal,
                    "evidence": [dict(e) for e in s.evidence],
                }
                for s in self.scores
            ],
            "media": [{"sha256": m.sha256, "mime": m.mime, "role": m.role} for m in self.media],
            "matches": [
                {"bank": m.bank, "distance": m.distance, "hash_type": m.hash_type, "labels": list(m.labels)}
                for m in self.matches
            ],
            "symbols": [s.to_json() for s in self.symbols],
            "consent": {
                "applicable": self.consent.applicable,
                "status": self.consent.status,
                "grant_ids": list(self.consent.grant_ids),
                "asset_id": self.consent.asset_id,
                "note": self.consent.note,
            },
            "provenance": dict(self.provenance) if self.provenance is not None else None,
            "classifier_versions": dict(self.classifier_versions),
            "ids": dict(self.ids),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> FlagContext:
        """Read a stored context, tolerating rows older than this type and missing keys."""
        known = {"texts", "scores", "media", "matches", "symbols", "consent", "provenance",
                 "classifier_versions", "ids", "caption"}  # fmt: skip
        texts = [t for t in (_text(raw) for raw in _list(data.get("texts"))) if t is not None]
        if not texts and isinstance(data.get("caption"), str) and data["caption"]:
            texts = [SourceText(TextSource.CAPTION.value, data["caption"])]
        provenance = data.get("provenance")
        return cls(
            texts=tuple(texts),
            scores=tuple(s for s in (_score(x) for x in _list(data.get("scores"))) if s is not None),
            media=tuple(
                MediaRef(
                    str(m["sha256"]),
                    str(m.get("mime") or "application/octet-stream"),
                    str(m.get("role") or ""),
                )
                for m in _list(data.get("media"))
                if isinstance(m, Mapping) and m.get("sha256")
            ),
            matches=tuple(
                MatchLine(
                    str(m.get("bank", "")),
                    int(m.get("distance") or 0),
                    str(m.get("hash_type", "")),
                    tuple(str(x) for x in _list(m.get("labels"))),
                )
                for m in _list(data.get("matches"))
                if isinstance(m, Mapping)
            ),
            symbols=tuple(s for s in (SymbolLine.from_json(x) for x in _list(data.get("symbols"))) if s),
            consent=_consent(data.get("consent")),
            provenance=dict(provenance) if isinstance(provenance, Mapping) else None,
            classifier_versions={str(k): str(v) for k, v in _map(data.get("classifier_versions")).items()},
            ids={str(k): str(v) for k, v in _map(data.get("ids")).items()},
            extra={k: v for k, v in data.items() if k not in known},
        )


def _list(value: Any) -> Sequence[Any]:
    return value if isinstance(value, list) else []


def _map(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _text(raw: Any) -> SourceText | None:
    if not isinstance(raw, Mapping) or not isinstance(raw.get("text"), str):
        return None
    return SourceText(str(raw.get("source") or TextSource.CAPTION.value), raw["text"])


def _score(raw: Any) -> ScoreLine | None:
    if not isinstance(raw, Mapping) or "category" not in raw:
        return None
    threshold = raw.get("threshold")
    return ScoreLine(
        category=str(raw["category"]),
        score=float(raw.get("score") or 0.0),
        threshold=float(threshold) if isinstance(threshold, int | float) else None,
        source=str(raw.get("source") or ""),
        signal=str(raw.get("signal") or ""),
        evidence=tuple(e for e in _list(raw.get("evidence")) if isinstance(e, Mapping)),
    )


def _consent(raw: Any) -> ConsentRef:
    if not isinstance(raw, Mapping):
        return NOT_APPLICABLE
    grants = tuple(str(g) for g in _list(raw.get("grant_ids")))
    status = str(raw.get("status") or "unknown")
    applicable = raw.get("applicable")
    if not isinstance(applicable, bool):  # rows older than the type: applicable if anything is known
        applicable = bool(grants) or status not in ("unknown", "not_applicable")
    if not applicable:
        return ConsentRef(False, "not_applicable", (), None, str(raw.get("note") or NOT_APPLICABLE.note))
    asset = raw.get("asset_id")
    return ConsentRef(True, status, grants, str(asset) if asset else None, str(raw.get("note") or ""))
