"""Review API: the flag queue, claims (leases), decisions, appeals and QA statistics."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field

from service.api.deps import CurrentPrincipal, CurrentReviewer, ServicesDep
from service.api.flags_out import FlagDetailOut, FlagOut, detail_out, flag_out
from service.auth import Role
from service.errors import Forbidden, NotFound
from service.pipeline import flag_view
from service.review import queue, store
from service.review.model import Appeal, ReviewDecision
from service.services import Services

router = APIRouter(prefix="/v1", tags=["review"])


class FlagList(BaseModel):
    flags: list[FlagOut]


class DecisionIn(BaseModel):
    decision: ReviewDecision
    rationale: str = Field(min_length=1, max_length=5000)
    policy_citation: str | None = Field(None, max_length=200)


class EffectOut(BaseModel):
    target: str = Field(description="What the effect acted on: generation:<id>, bank:<name>, webhooks")
    result: str = Field(description="released, withheld, denied, banked, unbanked, queued or nothing")
    detail: str


class ReviewDecisionOut(BaseModel):
    id: UUID
    flag_id: UUID
    decision: ReviewDecision
    final: bool
    flag_status: str
    outcome: str | None
    effects_run: int
    appeal_status: str | None = None
    effects: list[EffectOut] = Field(
        default_factory=list,
        description="What the decision did to its subject, e.g. a generation released, or denied "
        "because its consent was withdrawn while it waited.",
    )


class AppealIn(BaseModel):
    statement: str = Field(min_length=1, max_length=5000)


class AppealOut(BaseModel):
    id: UUID
    flag_id: UUID
    appeal_flag_id: UUID
    status: str
    filed_at: datetime
    open_until: datetime = Field(description="Appeals stay open at least six months after the decision.")


class AgreementOut(BaseModel):
    category: str
    pairs: int
    observed_agreement: float | None
    kappa: float | None


class StatsOut(BaseModel):
    queue: dict[str, int]
    agreement: list[AgreementOut]


def lease(services: Services) -> timedelta:
    return timedelta(minutes=services.settings.review_lease_minutes)


Statuses = Literal["open", "escalated", "needs_context", "decided"]


@router.get("/flags")
def list_flags(
    reviewer: CurrentReviewer,
    services: ServicesDep,
    status: Annotated[list[Statuses] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> FlagList:
    """The tenant's flags, most urgent first (default: everything not yet decided)."""
    wanted = status or ["open", "escalated", "needs_context"]
    with services.db.tenant(reviewer.tenant_id) as conn:
        flags = store.list_flags(conn, statuses=wanted, limit=limit)
    return FlagList(flags=[flag_out(f, services.review_policy, reviewer.key_id) for f in flags])


@router.get("/flags/{flag_id}")
def get_flag(flag_id: UUID, reviewer: CurrentReviewer, services: ServicesDep) -> FlagDetailOut:
    """One flag with everything a reviewer needs: every text under its source, the scores with
    their thresholds, matches, provenance, links to the media, and the consent behind it."""
    with services.db.tenant(reviewer.tenant_id) as conn:
        flag = store.get_flag(conn, flag_id)
        if flag is None:
            raise NotFound(f"No flag {flag_id}.")
        shown = flag_view.view(services, conn, flag)
    return detail_out(shown, services.review_policy, reviewer.key_id)


@router.get(
    "/flags/{flag_id}/media/{sha256}",
    response_class=Response,
    responses={
        200: {"content": {"image/*": {}, "video/*": {}, "audio/*": {}, "application/octet-stream": {}}}
    },
)
def flag_media(flag_id: UUID, sha256: str, reviewer: CurrentReviewer, services: ServicesDep) -> Response:
    """A picture, video or sound the flag's context names (404 for anything else)."""
    with services.db.tenant(reviewer.tenant_id) as conn:
        data, mime = flag_view.media_of(services, conn, flag_id, sha256)
    headers = {"Cache-Control": "private, max-age=300", "X-Content-Type-Options": "nosniff"}
    return Response(data, media_type=mime, headers=headers)


@router.post(
    "/flags/claim", response_model=FlagDetailOut, responses={204: {"description": "The queue is empty."}}
)
def claim(reviewer: CurrentReviewer, services: ServicesDep) -> FlagDetailOut | Response:
    """Lease the most urgent flag to the caller (default 10 minutes), or 204 when none is waiting;
    the answer carries the flag's full context, as ``GET /v1/flags/{id}`` does."""
    with services.db.tenant(reviewer.tenant_id) as conn:
        flag = queue.claim(
            conn, tenant_id=reviewer.tenant_id, reviewer=reviewer.key_id, lease=lease(services)
        )
        if flag is None:
            return Response(status_code=204)
        shown = flag_view.view(services, conn, flag)
    return detail_out(shown, services.review_policy, reviewer.key_id)


@router.post("/flags/{flag_id}/claim")
def claim_one(flag_id: UUID, reviewer: CurrentReviewer, services: ServicesDep) -> FlagDetailOut:
    """Lease one named flag (one a reviewer opened from the list); 409 says why it cannot be
    theirs: decided, held by another reviewer, waiting for context, or theirs to stay out of."""
    with services.db.tenant(reviewer.tenant_id) as conn:
        flag = queue.claim_flag(conn, flag_id=flag_id, reviewer=reviewer.key_id, lease=lease(services))
        shown = flag_view.view(services, conn, flag)
    return detail_out(shown, services.review_policy, reviewer.key_id)


@router.post("/flags/{flag_id}/renew")
def renew(flag_id: UUID, reviewer: CurrentReviewer, services: ServicesDep) -> FlagOut:
    """Extend the caller's lease; 409 when the caller does not hold the flag."""
    with services.db.tenant(reviewer.tenant_id) as conn:
        flag = queue.renew(conn, flag_id=flag_id, reviewer=reviewer.key_id, lease=lease(services))
    return flag_out(flag, services.review_policy, reviewer.key_id)


@router.post("/flags/{flag_id}/release", status_code=204)
def release(flag_id: UUID, reviewer: CurrentReviewer, services: ServicesDep) -> None:
    """Give a held flag back to the queue undecided."""
    with services.db.tenant(reviewer.tenant_id) as conn:
        queue.release(conn, flag_id=flag_id, reviewer=reviewer.key_id)


@router.post("/flags/{flag_id}/decision")
def decide(
    flag_id: UUID, body: DecisionIn, reviewer: CurrentReviewer, services: ServicesDep
) -> ReviewDecisionOut:
    """Decide a flag the caller holds (409 otherwise, and on a second decision)."""
    with services.db.tenant(reviewer.tenant_id) as conn:
        done = queue.decide(
            conn,
            flag_id=flag_id,
            reviewer=reviewer.key_id,
            decision=body.decision,
            rationale=body.rationale,
            policy_citation=body.policy_citation,
            policy=services.review_policy,
            effects=services.review_effects,
        )
    return ReviewDecisionOut(
        id=done.record.id,
        flag_id=flag_id,
        decision=body.decision,
        final=done.record.final,
        flag_status=done.flag.status,
        outcome=done.flag.outcome,
        effects_run=done.effects_run,
        appeal_status=done.appeal.status if done.appeal else None,
        effects=[EffectOut(target=e.target, result=e.result, detail=e.detail) for e in done.effects],
    )


def appeal_out(appeal: Appeal, services: Services, decided_at: datetime) -> AppealOut:
    window = timedelta(days=services.settings.review_appeal_window_days)
    return AppealOut(
        id=appeal.id,
        flag_id=appeal.flag_id,
        appeal_flag_id=appeal.appeal_flag_id,
        status=appeal.status,
        filed_at=appeal.filed_at,
        open_until=decided_at + window,
    )


@router.post("/flags/{flag_id}/appeal", status_code=201)
def appeal(flag_id: UUID, body: AppealIn, principal: CurrentPrincipal, services: ServicesDep) -> AppealOut:
    """Appeal a decided flag (the studio or platform it concerns, or an admin). A reviewer who did
    not decide it decides the appeal."""
    if principal.role not in (Role.STUDIO, Role.PLATFORM, Role.ADMIN):
        raise Forbidden("Appeals are filed by the studio or platform the decision concerns, or an admin.")
    window = timedelta(days=services.settings.review_appeal_window_days)
    with services.db.tenant(principal.tenant_id) as conn:
        filed = queue.appeal(
            conn,
            flag_id=flag_id,
            filed_by=principal.key_id,
            statement=body.statement,
            policy=services.review_policy,
            window=window,
        )
        original = store.get_flag(conn, flag_id)
    decided_at = original.decided_at if original is not None else None
    return appeal_out(filed, services, decided_at or filed.filed_at)


@router.get("/review/stats")
def stats(reviewer: CurrentReviewer, services: ServicesDep) -> StatsOut:
    """Queue counts and inter-reviewer agreement (Cohen's kappa) per category."""
    with services.db.tenant(reviewer.tenant_id) as conn:
        counts = store.counts(conn)
        agreement = queue.agreement(conn)
    return StatsOut(
        queue=counts,
        agreement=[AgreementOut(category=a.category, pairs=a.pairs, observed_agreement=a.observed,
                                kappa=a.kappa) for a in agreement],
    )  # fmt: skip
