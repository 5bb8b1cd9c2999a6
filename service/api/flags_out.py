"""What the review API answers about a flag: the flag itself (``FlagOut``) and, for one flag,
everything a reviewer needs (``FlagDetailOut``: texts with highlights, scores with thresholds,
media links, matches, provenance and the consent behind it)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, Field

from service.api.schemas import ReasonOut
from service.pipeline.flag_view import FlagView, ShownText
from service.review.model import Flag, ReviewPolicy, SlaState


class SourceOut(BaseModel):
    kind: Literal["generation", "check", "appeal"]
    id: str


class FlagOut(BaseModel):
    id: UUID
    status: Literal["open", "escalated", "needs_context", "decided"]
    priority: float = Field(description="severity × 2^escalations × 2^(age / age_doubling_hours)")
    due_at: datetime
    sla: SlaState
    source: SourceOut
    category: str
    severity: int
    outcome: Literal["approve", "reject"] | None
    reasons: list[ReasonOut]
    created_at: datetime
    lease_expires_at: datetime | None
    leased_by_you: bool


def flag_out(flag: Flag, policy: ReviewPolicy, key_id: UUID) -> FlagOut:
    now = datetime.now(UTC)
    return FlagOut(
        id=flag.id,
        status=flag.status,
        priority=round(flag.priority(policy, now), 3),
        due_at=flag.due_at,
        sla=flag.sla_state(now),
        source=SourceOut(kind=flag.source_kind, id=flag.source_id),
        category=flag.category,
        severity=flag.severity,
        outcome=flag.outcome,
        reasons=[ReasonOut(**r) for r in flag.reasons],
        created_at=flag.created_at,
        lease_expires_at=flag.lease_expires_at if flag.held_by(key_id, now) else None,
        leased_by_you=flag.held_by(key_id, now),
    )


class HighlightOut(BaseModel):
    start: int
    end: int
    category: str


class TextOut(BaseModel):
    source: str = Field(description="prompt, script, caption, ocr or transcript")
    heading: str
    text: str
    highlights: list[HighlightOut] = Field(description="Character ranges of lexicon terms in the text")


class ScoreOut(BaseModel):
    category: str
    score: float
    threshold: float | None = Field(description="The market policy's review_at for the category")
    at_or_over: bool
    source: str
    signal: str
    evidence: list[dict[str, object]]


class FlagMediaOut(BaseModel):
    sha256: str
    mime: str
    role: str
    url: str


class FlagMatchOut(BaseModel):
    bank: str
    distance: int
    hash_type: str
    labels: list[str]


class GrantOut(BaseModel):
    grant_id: str
    status: str
    subject: str
    subject_kind: str
    vital_status: str
    legal_basis: str
    legal_basis_title: str
    grantors: list[str] = Field(description="Each grantor's relationship and verification (no names)")
    purposes: list[str]
    audiences: list[str]
    markets: list[str]
    modalities: list[str]
    expires_at: datetime


class FlagConsentOut(BaseModel):
    applicable: bool = Field(description="False where no consent record can be behind the item")
    status: str = Field(description="active, revoked, unknown or not_applicable, as it stands now")
    note: str
    grants: list[GrantOut]
    held_elsewhere: int = Field(description="Grants behind the item that another tenant holds (not shown)")


class SymbolHitOut(BaseModel):
    symbol_id: str
    label: str
    category: str
    score: float = Field(description="The matcher's agreement with the reference drawing, 0–1")
    box: list[int] = Field(description="x, y, width, height in the picture's (or frame's) pixels")
    timestamp_s: float | None = Field(None, description="The video frame's time")
    frame_url: str | None = Field(None, description="The video frame it was found on")


class FlagContextOut(BaseModel):
    texts: list[TextOut]
    scores: list[ScoreOut]
    media: list[FlagMediaOut]
    matches: list[FlagMatchOut]
    symbols: list[SymbolHitOut] = Field(default_factory=list, description="Symbols of the symbol bank found")
    consent: FlagConsentOut
    provenance: dict[str, object] | None
    classifier_versions: dict[str, str]
    ids: dict[str, str]
    appeal: dict[str, object] | None = None


class FlagDetailOut(FlagOut):
    context: FlagContextOut


def _highlights(text: ShownText) -> list[HighlightOut]:
    out, at = [], 0
    for seg in text.segments:
        if seg.category is not None:
            out.append(HighlightOut(start=at, end=at + len(seg.text), category=seg.category))
        at += len(seg.text)
    return out


def _media_url(flag: Flag, sha256: str) -> str:
    return f"/v1/flags/{flag.id}/media/{sha256}"


def detail_out(shown: FlagView, policy: ReviewPolicy, key_id: UUID) -> FlagDetailOut:
    flag, ctx, consent = shown.flag, shown.context, shown.consent
    appeal = ctx.extra.get("appeal")
    return FlagDetailOut(
        **flag_out(flag, policy, key_id).model_dump(),
        context=FlagContextOut(
            texts=[TextOut(source=t.source, heading=t.heading, text=t.text, highlights=_highlights(t))
                   for t in shown.texts],
            scores=[
                ScoreOut(category=s.category, score=s.score, threshold=s.threshold, at_or_over=s.at_or_over,
                         source=s.source, signal=s.signal, evidence=[dict(e) for e in s.evidence])
                for s in ctx.scores
            ],
            media=[FlagMediaOut(sha256=m.sha256, mime=m.mime, role=m.role, url=_media_url(flag, m.sha256))
                   for m in ctx.media],
            symbols=[
                SymbolHitOut(
                    symbol_id=x.symbol_id,
                    label=x.label,
                    category=x.category,
                    score=x.score,
                    box=list(x.box),
                    timestamp_s=x.timestamp_s,
                    frame_url=_media_url(flag, x.frame_sha256) if x.frame_sha256 else None,
                )
                for x in ctx.symbols
            ],
            matches=[
                FlagMatchOut(bank=m.bank, distance=m.distance, hash_type=m.hash_type, labels=list(m.labels))
                for m in ctx.matches
            ],
            consent=FlagConsentOut(
                applicable=consent.applicable, status=consent.status, note=consent.note,
                grants=[GrantOut(**{**asdict(g), "grantors": list(g.grantors), "purposes": list(g.purposes),
                                    "audiences": list(g.audiences), "markets": list(g.markets),
                                    "modalities": list(g.modalities)}) for g in consent.grants],
                held_elsewhere=consent.elsewhere,
            ),
            provenance=dict(ctx.provenance) if ctx.provenance is not None else None,
            classifier_versions=dict(ctx.classifier_versions),
            ids=dict(ctx.ids),
            appeal=dict(appeal) if isinstance(appeal, dict) else None,
        ),
    )  # fmt: skip
