"""Review values: flags, decisions, appeals, the queue policy and agreement figures (no I/O)."""

from __future__ import annotations

import enum
import hashlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID


class SourceKind(enum.StrEnum):
    GENERATION = "generation"
    CHECK = "check"
    APPEAL = "appeal"


class FlagStatus(enum.StrEnum):
    OPEN = "open"
    ESCALATED = "escalated"
    NEEDS_CONTEXT = "needs_context"
    DECIDED = "decided"


class ReviewDecision(enum.StrEnum):
    APPROVE = "approve"
    REJECT = "reject"
    ESCALATE = "escalate"
    NEEDS_CONTEXT = "needs_context"

    @property
    def verdict(self) -> bool:
        """Approve and reject settle the content; escalate and needs-context pass it on."""
        return self in (ReviewDecision.APPROVE, ReviewDecision.REJECT)


class AppealStatus(enum.StrEnum):
    OPEN = "open"
    UPHELD = "upheld"
    OVERTURNED = "overturned"


class SlaState(enum.StrEnum):
    OK = "ok"
    DUE_SOON = "due_soon"  # less than a quarter of the SLA left
    BREACHED = "breached"


@dataclass(frozen=True, slots=True)
class Flag:
    id: UUID
    tenant_id: UUID
    source_kind: str
    source_id: str
    category: str
    severity: int
    status: str
    outcome: str | None
    reasons: list[dict[str, Any]]
    context: dict[str, Any]
    double_review: bool
    escalations: int
    excluded_reviewers: list[UUID]
    leased_by: UUID | None
    lease_expires_at: datetime | None
    created_at: datetime
    due_at: datetime
    rank_at: datetime
    decided_at: datetime | None

    def priority(self, policy: ReviewPolicy, now: datetime) -> float:
        return policy.priority(self.severity, self.escalations, now - self.created_at)

    def sla_state(self, now: datetime) -> SlaState:
        if self.status == FlagStatus.DECIDED:
            return SlaState.OK
        if now >= self.due_at:
            return SlaState.BREACHED
        if (self.due_at - now) * 4 < (self.due_at - self.created_at):
            return SlaState.DUE_SOON
        return SlaState.OK

    def held_by(self, key_id: UUID, now: datetime) -> bool:
        return self.leased_by == key_id and self.lease_expires_at is not None and self.lease_expires_at > now


@dataclass(frozen=True, slots=True)
class DecisionRecord:
    id: UUID
    tenant_id: UUID
    flag_id: UUID
    reviewer_key_id: UUID
    decision: str
    rationale: str
    policy_citation: str | None
    final: bool
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Appeal:
    id: UUID
    tenant_id: UUID
    flag_id: UUID
    appeal_flag_id: UUID
    filed_by_key_id: UUID
    statement: str
    status: str
    filed_at: datetime
    decided_at: datetime | None


@dataclass(frozen=True, slots=True)
class ReviewCategory:
    name: str
    severity: int
    sla: timedelta
    double_review: float  # share of flags sampled for a second, independent review


@dataclass(frozen=True, slots=True)
class Citation:
    id: str
    title: str
    categories: frozenset[str]


@dataclass(frozen=True, slots=True)
class Guidance:
    """What the decision form offers for one flag: citations (its category's first) and canned
    rationales per decision."""

    citations: tuple[Citation, ...] = ()
    rationales: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ReviewPolicy:
    """``policies/review.yaml`` as a value. ``default`` covers categories the file does not name."""

    age_doubling: timedelta
    categories: Mapping[str, ReviewCategory]
    citations: tuple[Citation, ...] = ()
    rationales: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def guidance(self, category: str) -> Guidance:
        ranked = sorted(self.citations, key=lambda c: category not in c.categories)  # stable: file order
        return Guidance(tuple(ranked), self.rationales)

    def category(self, name: str) -> ReviewCategory:
        return self.categories.get(name) or self.categories["default"]

    def most_severe(self, names: Sequence[str], fallback: str) -> str:
        """The category a flag is filed under when several reached review: the highest severity,
        then the shortest SLA, then the first named; ``fallback`` when none is named."""
        if not names:
            return fallback
        ranked = sorted(
            enumerate(names),
            key=lambda item: (-self.category(item[1]).severity, self.category(item[1]).sla, item[0]),
        )
        return ranked[0][1]

    def rank_offset(self, severity: int, escalations: int) -> timedelta:
        """How much earlier than its creation a flag ranks: one doubling period per doubling.

        priority = severity × 2^escalations × 2^(age / D). Comparing two flags at any moment,
        log2(priority) = log2(severity) + escalations + (now − created_at) / D, so the order is
        that of ``created_at − D × (log2(severity) + escalations)``: fixed, hence indexable.
        """
        return self.age_doubling * (math.log2(severity) + escalations)

    def priority(self, severity: int, escalations: int, age: timedelta) -> float:
        age_doublings = max(age, timedelta(0)) / self.age_doubling
        return float(severity * 2.0 ** (escalations + age_doublings))

    def sampled(self, category: str, flag_id: UUID) -> bool:
        """Deterministic QA sample: the flag id's hash decides, so reruns agree."""
        rate = self.category(category).double_review
        bucket = int.from_bytes(hashlib.sha256(flag_id.bytes).digest()[:4], "big") / 2**32
        return bucket < rate


@dataclass(frozen=True, slots=True)
class ReviewSession:
    """A logged-in browser on the review pages: whose key, and the CSRF token of its forms."""

    key_id: UUID
    tenant_id: UUID
    role: str
    key_prefix: str
    csrf: str
    expires_at: datetime


MEDIA_MODES = ("shielded", "grayscale", "revealed")


@dataclass(frozen=True, slots=True)
class Agreement:
    """Inter-reviewer agreement on the double-reviewed sample of one category."""

    category: str
    pairs: int
    observed: float | None  # share of pairs where both reviewers agreed
    kappa: float | None  # Cohen's kappa; None when undefined (no pairs, or no variation at all)


def cohens_kappa(category: str, pairs: Sequence[tuple[str, str]]) -> Agreement:
    """Cohen's kappa, κ = (p_o − p_e) / (1 − p_e), over (first, second) labels of each item."""
    n = len(pairs)
    if n == 0:
        return Agreement(category, 0, None, None)
    labels = sorted({label for pair in pairs for label in pair})
    p_o = sum(1 for a, b in pairs if a == b) / n
    p_e = sum(
        (sum(1 for a, _ in pairs if a == label) / n) * (sum(1 for _, b in pairs if b == label) / n)
        for label in labels
    )
    kappa = None if math.isclose(p_e, 1.0) else (p_o - p_e) / (1 - p_e)
    return Agreement(category, n, p_o, kappa)
