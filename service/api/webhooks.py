"""``/v1/webhooks``: a tenant's endpoints, told when a review of its checks is decided or its
generations change status."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from fastapi import APIRouter
from pydantic import BaseModel, Field

from service.api.deps import CurrentWebhookOwner, ServicesDep
from service.errors import Conflict, MalformedRequest
from service.notify import Delivery, Webhook, store
from service.notify import deliver as http
from service.notify.model import PING

router = APIRouter(prefix="/v1", tags=["webhooks"])

EventName = Literal["check.review.decided", "generation.status_changed"]
_ALL_EVENTS: tuple[EventName, ...] = ("check.review.decided", "generation.status_changed")  # notify.EVENTS


class WebhookCreate(BaseModel):
    url: str = Field(max_length=2000, description="https URL on a public address; redirects are not followed")
    events: list[EventName] = Field(
        default_factory=lambda: list(_ALL_EVENTS),
        min_length=1,
        description="what to be told of (default: every event)",
    )


class WebhookOut(BaseModel):
    id: UUID
    url: str
    events: list[str]
    created_at: datetime
    revoked_at: datetime | None


class WebhookCreated(WebhookOut):
    secret: str = Field(
        description="Shown once. Each delivery carries `Vigil-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "
        '"<t>." + raw body>`'
    )


class DeliveryOut(BaseModel):
    id: UUID
    event: str
    status: Literal["pending", "delivered", "failed", "cancelled"]
    attempts: int
    response_code: int | None
    last_error: str | None
    created_at: datetime
    finished_at: datetime | None
    data: dict[str, Any] = Field(description="The event's data as delivered (ids and states only)")


def _out(hook: Webhook) -> dict[str, Any]:
    return {k: getattr(hook, k) for k in ("id", "url", "events", "created_at", "revoked_at")}


def _delivery_out(d: Delivery) -> DeliveryOut:
    return DeliveryOut(
        id=d.id, event=d.event, status=d.status.value, attempts=d.attempts, response_code=d.response_code,
        last_error=d.last_error, created_at=d.created_at, finished_at=d.finished_at, data=d.payload,
    )  # fmt: skip


@router.post("/webhooks", status_code=201)
def create_webhook(body: WebhookCreate, who: CurrentWebhookOwner, services: ServicesDep) -> WebhookCreated:
    """Register an endpoint. Its URL must be https on a public address (checked now and at every
    delivery); the signing secret is in this response only."""
    url = body.url.strip()
    if not url:
        raise MalformedRequest("The webhook URL is empty.")
    http.check_url(url, allow_private=services.settings.webhook_allow_private)
    secret = http.new_secret()
    with services.db.tenant(who.tenant_id) as conn:
        hook = store.create(
            conn, tenant_id=who.tenant_id, url=url, events=list(dict.fromkeys(body.events)), secret=secret
        )
    return WebhookCreated(**_out(hook), secret=secret)


@router.get("/webhooks")
def list_webhooks(who: CurrentWebhookOwner, services: ServicesDep) -> dict[str, list[WebhookOut]]:
    with services.db.tenant(who.tenant_id) as conn:
        hooks = store.list_active(conn, who.tenant_id)
    return {"webhooks": [WebhookOut(**_out(h)) for h in hooks]}


@router.delete("/webhooks/{webhook_id}")
def remove_webhook(webhook_id: UUID, who: CurrentWebhookOwner, services: ServicesDep) -> WebhookOut:
    """Stop calling the endpoint; deliveries not yet made are cancelled."""
    with services.db.tenant(who.tenant_id) as conn:
        hook = store.remove(conn, webhook_id)
    return WebhookOut(**_out(hook))


class PingQueued(BaseModel):
    delivery_id: UUID = Field(description="Follow it in `GET /v1/webhooks/{id}/deliveries`")


@router.post("/webhooks/{webhook_id}/ping", status_code=202)
def ping_webhook(webhook_id: UUID, who: CurrentWebhookOwner, services: ServicesDep) -> PingQueued:
    """Queue a signed `webhook.ping` delivery to this endpoint alone, to try it out (the job worker
    sends it, as it sends every event)."""
    with services.db.tenant(who.tenant_id) as conn:
        hook = store.get(conn, webhook_id)
        if hook.revoked_at is not None:
            raise Conflict(f"Webhook {webhook_id} was removed; register the endpoint again.")
        if store.ping_pending(conn, hook.id):
            raise Conflict(f"A ping to webhook {webhook_id} is still pending; see its deliveries.")
        [delivery_id] = store.queue(
            conn, tenant_id=who.tenant_id, event=PING, data={"webhook_id": str(hook.id)}, webhook_id=hook.id
        )
    return PingQueued(delivery_id=delivery_id)


@router.get("/webhooks/{webhook_id}/deliveries")
def webhook_deliveries(
    webhook_id: UUID, who: CurrentWebhookOwner, services: ServicesDep
) -> dict[str, list[DeliveryOut]]:
    """The latest 50 deliveries, newest first: what was sent, how many tries, the last answer."""
    with services.db.tenant(who.tenant_id) as conn:
        store.get(conn, webhook_id)
        found = store.deliveries(conn, webhook_id)
    return {"deliveries": [_delivery_out(d) for d in found]}
