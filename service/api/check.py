"""``POST /v1/check``: a platform's upload (and/or its caption) in, the Verdict out."""

from __future__ import annotations

from contextlib import ExitStack
from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, File, Form, Request, UploadFile
from pydantic import BaseModel, Field

from service.api.deps import CheckFlowDep, CurrentPlatform, ServicesDep
from service.api.schemas import CodeOut, ReasonOut, SignerOut, TimestampOut
from service.api.uploads import received
from service.errors import Overloaded
from service.media.sniff import CHECKABLE
from service.pipeline import check_store
from service.pipeline.check import CheckOutcome, CheckRequest
from service.policy.model import TextSource, verdict_to_dict
from service.review import queue as review_queue
from service.unstorable import refuse_unstorable

router = APIRouter(prefix="/v1", tags=["check"])

DecisionName = Literal["allow", "label", "review", "block"]


class RequiredLabelOut(BaseModel):
    label: Literal["ai_generated"]
    rule: str


class ProvenanceOut(BaseModel):
    """The ProvenanceReport summary (``POST /v1/verify`` gives the whole report)."""

    state: Literal["trusted", "valid", "invalid", "absent"]
    ai_generated: bool
    recovered_by: Literal["fingerprint"] | None = Field(
        None, description="`fingerprint` when the manifest was found in the repository, not in the file"
    )
    digital_source_type: str | None = None
    codes: list[CodeOut] = Field(default_factory=list)
    signer: SignerOut | None = None
    signed_at: str | None = None
    timestamp: TimestampOut | None = None
    asset_id: str | None = None
    log_index: int | None = None
    fingerprint_distance: int | None = Field(None, description="PDQ bits, when recovered by fingerprint")


class MatchOut(BaseModel):
    bank: str
    distance: int = Field(description="Hamming distance to the bank entry")
    hash_type: Literal["pdq", "phash"]
    kind: Literal["block", "allow"]
    labels: list[str]


class StatementOfReasonsOut(BaseModel):
    """EU DSA Transparency Database fields (2025 schema), valid enum values only."""

    decision_visibility: list[str]
    decision_visibility_other: str | None
    decision_ground: Literal["DECISION_GROUND_ILLEGAL_CONTENT", "DECISION_GROUND_INCOMPATIBLE_CONTENT"]
    legal_ground: str | None = Field(description="illegal_content_legal_ground, for illegal content")
    illegal_content_explanation: str | None
    incompatible_content_ground: str | None
    incompatible_content_explanation: str | None
    decision_ground_reference_url: str | None
    category: str
    category_specification: list[str]
    content_type: list[str]
    automated_detection: Literal["Yes", "No"]
    automated_decision: Literal[
        "AUTOMATED_DECISION_FULLY", "AUTOMATED_DECISION_PARTIALLY", "AUTOMATED_DECISION_NOT_AUTOMATED"
    ]
    source_type: str
    decision_facts: str = Field(max_length=5000)
    territorial_scope: list[str]


class SourceScoresOut(BaseModel):
    """The scores one input got from one signal, named by where the input came from."""

    signal: str = Field(description="The signal that scored it: `text_model`, `image_model`, `ocr`")
    source: str = Field(
        description="What it read: `caption` or `transcript` (the text sent), `ocr` (text read "
        "from the picture), `image` or `video` (the upload)"
    )
    scores: dict[str, float] = Field(description="category → calibrated score in [0, 1]")


class VerdictOut(BaseModel):
    """The Verdict, as docs/check.md shows it."""

    decision: DecisionName
    required_labels: list[RequiredLabelOut]
    reasons: list[ReasonOut]
    provenance: ProvenanceOut | None = Field(description="null for a text-only check")
    consent_status: Literal["active", "revoked", "unknown"]
    matches: list[MatchOut]
    scores: dict[str, float] = Field(description="category → calibrated score in [0, 1]")
    scores_by_source: list[SourceScoresOut] = Field(
        default_factory=list,
        description="Every input's scores under its source (`caption`, `transcript`, `ocr`, `image`, "
        "`video`); `scores` keeps each category's highest",
    )
    classifier_versions: dict[str, str] = Field(
        default_factory=dict,
        description="Each classifier that screened the upload → its version (`text-probe`, `lexicon`, "
        "the image model, `ocr`), or `not_configured` / `unavailable` for one that could not "
        "(`speech` for audio: no speech model ships)",
    )
    missing_signals: list[str] = Field(
        description="signals not configured here (e.g. `image_model`, `ocr`, `speech` for audio); "
        "decided without them"
    )
    policy_version: str
    statement_of_reasons: StatementOfReasonsOut | None = Field(description="null for `allow`")
    check_id: UUID = Field(description="Names this check in the audit log and the review queue")
    flag_id: UUID | None = Field(description="The review flag, for a `review` decision")


def verdict_out(outcome: CheckOutcome) -> VerdictOut:
    data: dict[str, Any] = verdict_to_dict(outcome.verdict)
    data["check_id"] = outcome.check_id
    data["flag_id"] = outcome.flag_id
    return VerdictOut.model_validate(data)


class CheckReviewOut(BaseModel):
    """Where the review of a `review` verdict stands: poll it after the check."""

    check_id: UUID
    flag_id: UUID
    status: Literal["open", "escalated", "needs_context", "decided"]
    outcome: Literal["approve", "reject"] | None = Field(
        description="The decision in force once `status` is `decided` (an overturned appeal changes it)"
    )
    decided_at: datetime | None
    due_at: datetime = Field(description="When the review is due under the category's SLA")
    appeal_status: Literal["open", "upheld", "overturned"] | None = None
    statement_of_reasons: StatementOfReasonsOut | None = Field(
        None,
        description="Once a reviewer's `reject` is in force: the DSA statement to file for removing "
        "the content (`automated_decision`: `AUTOMATED_DECISION_NOT_AUTOMATED`); null otherwise",
    )


class PastVerdictOut(VerdictOut):
    checked_at: datetime = Field(description="When the check was answered")
    market: str


@router.get("/checks/{check_id}")
def get_check(check_id: UUID, who: CurrentPlatform, services: ServicesDep) -> PastVerdictOut:
    """A past check's verdict, exactly as it was answered (the caption is not kept)."""
    with services.db.tenant(who.tenant_id) as conn:
        return PastVerdictOut.model_validate(check_store.get(conn, check_id))


@router.get("/checks/{check_id}/review")
def check_review(check_id: UUID, who: CurrentPlatform, services: ServicesDep) -> CheckReviewOut:
    """The review a check was sent to: open until a reviewer decides, then its outcome
    (a reject also blocks the same picture for this tenant's later checks)."""
    with services.db.tenant(who.tenant_id) as conn:
        found = review_queue.review_of(conn, source_kind="check", source_id=str(check_id))
    return CheckReviewOut.model_validate({"check_id": check_id, **found.summary()})


@router.post("/check")
def check_upload(
    request: Request,
    who: CurrentPlatform,
    services: ServicesDep,
    flow: CheckFlowDep,
    file: Annotated[
        UploadFile | None,
        File(description="the image, video or audio to check; a PDF or SVG: provenance only"),
    ] = None,
    text: Annotated[
        str | None, Form(description="caption or transcript sent with it", max_length=20000)
    ] = None,
    market: Annotated[str, Form(description="default, eu, cn or us-ca")] = "default",
    text_source: Annotated[
        Literal["caption", "transcript"],
        Form(description="what `text` is: the upload's `caption` (default) or a `transcript` of its audio"),
    ] = "caption",
) -> VerdictOut:
    """Provenance, consent status, hash banks, classifiers and policy: one decision with reasons.

    A `review` decision also puts the item in the caller's review queue (`flag_id`).
    """
    refuse_unstorable({"text": text, "market": market}, "form")  # before any work: nothing half-done
    with ExitStack() as stack:
        media = stack.enter_context(received(file, services, accept=CHECKABLE)) if file is not None else None
        try:
            outcome = flow.check(
                CheckRequest(
                    tenant_id=who.tenant_id,
                    market=market,
                    media=media,
                    text=text,
                    text_source=TextSource(text_source),
                ),
            )
        except Overloaded:
            request.app.state.metrics.checks_shed.inc()
            raise
    request.app.state.metrics.count_check(outcome.verdict.decision.value)
    return verdict_out(outcome)
