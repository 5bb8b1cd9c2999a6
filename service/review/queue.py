"""The review workflow: enqueue, claim (leases), decide, appeal, and QA agreement.

Every function runs in the caller's transaction and appends its audit event there.

A verdict (approve or reject) is *final* unless the flag was sampled for double review:
then the first verdict goes back to the queue for a second, independent reviewer; if the two
agree the second is final, if they disagree the flag is escalated and the next verdict (by a
third reviewer) is final. Effects run once, on the final verdict. An appeal is a new flag that
the original deciders may not take; its final verdict upholds the original outcome or, when it
differs, overturns it and runs the original source's effects for the new outcome.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from service.audit import Event, EventName, append
from service.db import Conn
from service.errors import Conflict, MalformedRequest, NotFound
from service.policy.categories import FlagCategory
from service.review import store
from service.review.effects import Effect, Effects, Settled
from service.review.model import (
    Agreement,
    Appeal,
    AppealStatus,
    DecisionRecord,
    Flag,
    FlagStatus,
    ReviewDecision,
    ReviewPolicy,
    SourceKind,
    cohens_kappa,
)

APPEAL_CATEGORY = FlagCategory.APPEAL.value


def _now() -> datetime:
    return datetime.now(UTC)


def create_flag(
    conn: Conn,
    *,
    tenant_id: UUID,
    source_kind: SourceKind | str,
    source_id: str,
    category: str,
    reasons: Sequence[Mapping[str, str]],
    context: Mapping[str, Any],
    policy: ReviewPolicy,
    severity: int | None = None,
    excluded_reviewers: Sequence[UUID] = (),
) -> Flag:
    """Put an item in ``tenant_id``'s queue. Severity, SLA and QA sample come from the policy's
    entry for ``category`` (``default`` if it has none) unless ``severity`` is given."""
    kind = SourceKind(source_kind)
    rules = policy.category(category)
    severity = rules.severity if severity is None else severity
    if not 1 <= severity <= 5:
        raise MalformedRequest(f"severity must be 1 to 5, not {severity}.")
    for reason in reasons:
        if set(reason) != {"rule", "source", "detail"}:
            raise MalformedRequest("each reason needs exactly rule, source and detail.")
    flag_id = uuid.uuid4()
    created = _now()
    flag = store.insert_flag(
        conn,
        flag_id=flag_id,
        tenant_id=tenant_id,
        source_kind=kind.value,
        source_id=source_id,
        category=category,
        severity=severity,
        reasons=[dict(r) for r in reasons],
        context=dict(context),
        double_review=policy.sampled(category, flag_id),
        excluded_reviewers=excluded_reviewers,
        created_at=created,
        due_at=created + rules.sla,
        rank_at=created - policy.rank_offset(severity, 0),
    )
    append(
        conn,
        Event(
            EventName.FLAG_CREATED,
            str(flag.id),
            tenant_id,
            {"source_kind": kind.value, "source_id": source_id, "category": category, "severity": severity},
        ),
    )
    return flag


@dataclass(frozen=True, slots=True)
class SourceReview:
    """Where the review of one source stands, for the party that sent it (no reviewer identity,
    no rationale: those stay with the reviewers and the audit log)."""

    flag: Flag
    appeal: Appeal | None

    def summary(self) -> dict[str, Any]:
        """As JSON values: what ``GET /v1/checks/{id}/review`` answers and a webhook carries."""
        flag = self.flag
        return {
            "flag_id": str(flag.id),
            "status": flag.status,
            "outcome": flag.outcome,
            "decided_at": flag.decided_at.isoformat() if flag.decided_at else None,
            "due_at": flag.due_at.isoformat(),
            "appeal_status": self.appeal.status if self.appeal else None,
            "statement_of_reasons": self.statement_of_reasons(),
        }

    def statement_of_reasons(self) -> dict[str, Any] | None:
        """The DSA statement for a reviewer's ``reject`` in force (decided by a person, so
        ``AUTOMATED_DECISION_NOT_AUTOMATED``), as the flow stored it when it queued the flag;
        None while undecided, for an approval (nothing restricted) or a flag without one."""
        flag = self.flag
        if flag.status != FlagStatus.DECIDED or flag.outcome != ReviewDecision.REJECT:
            return None
        stored = flag.context.get("statement_if_rejected")
        return dict(stored) if isinstance(stored, Mapping) else None


def review_of(conn: Conn, *, source_kind: str, source_id: str) -> SourceReview:
    """The review of ``source_id`` in the caller's tenant; NotFound if it was never flagged."""
    flag = store.flag_for_source(conn, source_kind=source_kind, source_id=source_id)
    if flag is None:
        raise NotFound(
            f"No review of {source_kind} {source_id} in this tenant (only review verdicts have one)."
        )
    return SourceReview(flag=flag, appeal=store.latest_appeal(conn, flag.id))


def claim(conn: Conn, *, tenant_id: UUID, reviewer: UUID, lease: timedelta) -> Flag | None:
    """Lease the most urgent flag of ``tenant_id`` this reviewer may take, or None when there is none."""
    return store.claim(conn, tenant_id=tenant_id, key_id=reviewer, lease=lease)


def claim_flag(conn: Conn, *, flag_id: UUID, reviewer: UUID, lease: timedelta) -> Flag:
    """Lease the flag a reviewer opened (from the queue list, a link, a colleague's message).
    Conflict says why it cannot be theirs: decided, held by someone else, or theirs to stay out of."""
    flag = store.claim_flag(conn, flag_id, key_id=reviewer, lease=lease)
    if flag is not None:
        return flag
    current = store.get_flag(conn, flag_id)
    if current is None:
        raise NotFound(f"No flag {flag_id}.")
    if current.status == FlagStatus.DECIDED:
        raise Conflict(f"Flag {flag_id} is already decided; file an appeal to revisit it.")
    if current.status == FlagStatus.NEEDS_CONTEXT:
        raise Conflict(f"Flag {flag_id} waits for context from its source; add context to put it back.")
    if reviewer in current.excluded_reviewers:
        raise Conflict(
            f"You already decided flag {flag_id} (or the decision it appeals); another reviewer must."
        )
    raise Conflict(f"Another reviewer holds flag {flag_id} until {current.lease_expires_at:%H:%M} UTC.")


def _held(conn: Conn, flag_id: UUID, reviewer: UUID) -> Flag:
    flag = store.get_flag(conn, flag_id, lock=True)
    if flag is None:
        raise NotFound(f"No flag {flag_id}.")
    if flag.status == FlagStatus.DECIDED:
        raise Conflict(f"Flag {flag_id} is already decided; file an appeal to revisit it.")
    if not flag.held_by(reviewer, _now()):
        raise Conflict(f"You do not hold flag {flag_id} (or your lease expired); claim it first.")
    return flag


def renew(conn: Conn, *, flag_id: UUID, reviewer: UUID, lease: timedelta) -> Flag:
    _held(conn, flag_id, reviewer)
    store.set_lease(conn, flag_id, key_id=reviewer, lease=lease)
    flag = store.get_flag(conn, flag_id)
    assert flag is not None
    return flag


def release(conn: Conn, *, flag_id: UUID, reviewer: UUID) -> None:
    """Give a held flag back to the queue undecided."""
    _held(conn, flag_id, reviewer)
    store.set_lease(conn, flag_id, key_id=None, lease=None)


def add_context(conn: Conn, *, flag_id: UUID, context: Mapping[str, Any]) -> Flag:
    """Merge ``context`` into a flag's and put a flag parked as needs-context back in the queue."""
    flag = store.get_flag(conn, flag_id, lock=True)
    if flag is None:
        raise NotFound(f"No flag {flag_id}.")
    if flag.status == FlagStatus.DECIDED:
        raise Conflict(f"Flag {flag_id} is already decided.")
    status = FlagStatus.OPEN if flag.status == FlagStatus.NEEDS_CONTEXT else FlagStatus(flag.status)
    return store.update_context(conn, flag_id, context={**flag.context, **context}, status=status.value)


@dataclass(frozen=True, slots=True)
class Decided:
    flag: Flag
    record: DecisionRecord
    effects_run: int
    appeal: Appeal | None = None
    effects: tuple[Effect, ...] = ()  # what the effects did (released, withheld, denied, ...)


def decide(
    conn: Conn,
    *,
    flag_id: UUID,
    reviewer: UUID,
    decision: ReviewDecision | str,
    rationale: str,
    policy_citation: str | None,
    policy: ReviewPolicy,
    effects: Effects,
) -> Decided:
    """Record ``reviewer``'s decision on a flag they hold, and apply it (see module docstring)."""
    decision = ReviewDecision(decision)
    if not rationale.strip():
        raise MalformedRequest("A decision needs a rationale: say why, for the appeal and the audit.")
    flag = _held(conn, flag_id, reviewer)
    if reviewer in flag.excluded_reviewers:
        raise Conflict(
            f"You already decided flag {flag_id} (or the decision it appeals); another reviewer must."
        )
    earlier = [d for d in store.decisions(conn, flag_id) if ReviewDecision(d.decision).verdict]
    final = False
    if decision is ReviewDecision.ESCALATE:  # someone else looks next: the escalating reviewer steps aside
        flag = store.update_flag(
            conn, flag_id, status=FlagStatus.ESCALATED, escalations=flag.escalations + 1,
            rank_at=flag.rank_at - policy.age_doubling, exclude=reviewer,
        )  # fmt: skip
    elif decision is ReviewDecision.NEEDS_CONTEXT:
        flag = store.update_flag(conn, flag_id, status=FlagStatus.NEEDS_CONTEXT)
    elif flag.double_review and not earlier:
        flag = store.update_flag(conn, flag_id, status=flag.status, exclude=reviewer)
    elif flag.double_review and len(earlier) == 1 and earlier[0].decision != decision.value:
        flag = store.update_flag(
            conn, flag_id, status=FlagStatus.ESCALATED, escalations=flag.escalations + 1,
            rank_at=flag.rank_at - policy.age_doubling, exclude=reviewer,
        )  # fmt: skip
    else:
        final = True
        flag = store.update_flag(conn, flag_id, status=FlagStatus.DECIDED, outcome=decision.value)
    record = store.insert_decision(
        conn, flag=flag, key_id=reviewer, decision=decision.value, rationale=rationale.strip(),
        policy_citation=(policy_citation or "").strip() or None, final=final,
    )  # fmt: skip
    append(
        conn,
        Event(
            EventName.FLAG_DECIDED,
            str(flag.id),
            flag.tenant_id,
            {"decision_id": str(record.id), "decision": decision.value, "final": final,
             "reviewer_key_id": str(reviewer), "status": flag.status},
        ),
    )  # fmt: skip
    if not final:
        return Decided(flag, record, 0)
    if flag.source_kind == SourceKind.APPEAL:
        return _settle_appeal(conn, flag, record, decision, effects)
    ran, done = effects.run(conn, Settled(flag, decision, record.id, reviewer))
    return Decided(flag, record, ran, effects=done)


def _settle_appeal(
    conn: Conn, flag: Flag, record: DecisionRecord, decision: ReviewDecision, effects: Effects
) -> Decided:
    appeal = store.open_appeal_for(conn, appeal_flag_id=flag.id)
    if appeal is None:
        raise Conflict(f"Flag {flag.id} is an appeal with no open appeal record.")
    original = store.get_flag(conn, appeal.flag_id, lock=True)
    assert original is not None
    ran = 0
    done: tuple[Effect, ...] = ()
    overturned = original.outcome != decision.value
    status = AppealStatus.OVERTURNED if overturned else AppealStatus.UPHELD
    store.close_appeal(conn, appeal.id, status.value)  # first: the effects read the settled appeal
    if overturned:
        original = store.update_flag(conn, original.id, status=FlagStatus.DECIDED, outcome=decision.value)
        ran, done = effects.run(
            conn, Settled(original, decision, record.id, record.reviewer_key_id, overturned=True)
        )
    append(
        conn,
        Event(
            EventName.APPEAL_DECIDED,
            str(appeal.id),
            flag.tenant_id,
            {"flag_id": str(original.id), "appeal_flag_id": str(flag.id), "outcome": status.value,
             "decision_id": str(record.id)},
        ),
    )  # fmt: skip
    closed = Appeal(**{**_fields(appeal), "status": status.value, "decided_at": _now()})
    return Decided(flag, record, ran, closed, effects=done)


def _fields(appeal: Appeal) -> dict[str, Any]:
    return {name: getattr(appeal, name) for name in Appeal.__slots__}


def appeal(
    conn: Conn,
    *,
    flag_id: UUID,
    filed_by: UUID,
    statement: str,
    policy: ReviewPolicy,
    window: timedelta,
) -> Appeal:
    """Appeal a decided flag: a new flag (source kind ``appeal``) that its deciders may not take."""
    if not statement.strip():
        raise MalformedRequest("An appeal needs a statement of why the decision is wrong.")
    flag = store.get_flag(conn, flag_id, lock=True)
    if flag is None:
        raise NotFound(f"No flag {flag_id}.")
    if flag.status != FlagStatus.DECIDED or flag.decided_at is None:
        raise Conflict(f"Flag {flag_id} is not decided yet; only a decision can be appealed.")
    if flag.source_kind == SourceKind.APPEAL:
        raise Conflict("An appeal's decision is final here; appeal to an out-of-court body instead.")
    if _now() - flag.decided_at > window:
        raise Conflict(f"The appeal window of {window.days} days for flag {flag_id} has closed.")
    if store.open_appeal_for(conn, flag_id=flag_id) is not None:
        raise Conflict(f"Flag {flag_id} already has an open appeal.")
    deciders = sorted(
        {d.reviewer_key_id for d in store.decisions(conn, flag_id) if ReviewDecision(d.decision).verdict}
    )
    context = {**flag.context, "appeal": {
        "original_outcome": flag.outcome, "original_category": flag.category,
        "statement": statement.strip()}}  # fmt: skip
    appeal_flag = create_flag(
        conn, tenant_id=flag.tenant_id, source_kind=SourceKind.APPEAL, source_id=str(flag.id),
        category=APPEAL_CATEGORY, reasons=flag.reasons, context=context, policy=policy,
        excluded_reviewers=deciders,
    )  # fmt: skip
    filed = store.insert_appeal(
        conn, tenant_id=flag.tenant_id, flag_id=flag.id, appeal_flag_id=appeal_flag.id, key_id=filed_by,
        statement=statement.strip(),
    )  # fmt: skip
    append(
        conn,
        Event(EventName.APPEAL_FILED, str(filed.id), flag.tenant_id,
              {"flag_id": str(flag.id), "appeal_flag_id": str(appeal_flag.id),
               "filed_by_key_id": str(filed_by)}),
    )  # fmt: skip
    return filed


def agreement(conn: Conn) -> list[Agreement]:
    """Cohen's kappa per category over the double-reviewed sample."""
    by_category: dict[str, list[tuple[str, str]]] = {}
    for category, first, second in store.qa_pairs(conn):
        by_category.setdefault(category, []).append((first, second))
    return [cohens_kappa(category, pairs) for category, pairs in sorted(by_category.items())]
