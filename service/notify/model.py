"""Typed values of webhooks and their deliveries (no I/O)."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

# What a webhook may subscribe to. ``check.review.decided``: a reviewer approved or rejected an
# upload one of the tenant's checks sent to review, or an appeal overturned that decision; the
# data is what ``GET /v1/checks/{check_id}/review`` answers at that moment.
CHECK_REVIEW_DECIDED = "check.review.decided"
# ``generation.status_changed``: a studio's generation was released, held for review, blocked,
# denied (consent withdrawn before release) or failed; the data names it, its status and the rule
# ids behind it (``GET /v1/generations/{id}`` has the rest).
GENERATION_STATUS_CHANGED = "generation.status_changed"
EVENTS = (CHECK_REVIEW_DECIDED, GENERATION_STATUS_CHANGED)
# Sent on request to one webhook (``POST /v1/webhooks/{id}/ping``), to try an endpoint out.
PING = "webhook.ping"


class DeliveryStatus(enum.StrEnum):
    PENDING = "pending"  # queued or being retried
    DELIVERED = "delivered"  # the endpoint answered 2xx
    FAILED = "failed"  # every attempt failed, or the endpoint may not be called
    CANCELLED = "cancelled"  # the webhook was removed before it was delivered


@dataclass(frozen=True, slots=True)
class Webhook:
    id: UUID
    tenant_id: UUID
    url: str
    events: list[str]
    created_at: datetime
    revoked_at: datetime | None


@dataclass(frozen=True, slots=True)
class Delivery:
    id: UUID
    webhook_id: UUID
    tenant_id: UUID
    event: str
    payload: dict[str, Any]
    status: DeliveryStatus
    attempts: int
    response_code: int | None
    last_error: str | None
    created_at: datetime
    finished_at: datetime | None

    def __post_init__(self) -> None:
        object.__setattr__(self, "status", DeliveryStatus(self.status))
