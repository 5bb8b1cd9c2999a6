"""Telling a tenant's endpoints what it waits on: a platform that a review of its check was
decided, a studio that its generation was released, held, blocked, denied or failed. The
delivery is queued in the transaction that made the change, and a job makes the signed call,
retried with backoff.

The data holds ids, states, times and rule ids: what ``GET /v1/checks/{check_id}/review``
answers, or a generation's id, status and the rules behind it (no reviewer, no rationale).
A delivery whose attempts run out, or whose URL now resolves to an address webhooks may not
call, is marked ``failed``; ``GET /v1/webhooks/{id}/deliveries`` shows why.
"""

from __future__ import annotations

import json
import logging
from uuid import UUID

from service.db import Conn
from service.errors import MalformedRequest
from service.generate.records import Generation
from service.jobs import Job, JobContext
from service.jobs.registry import HandlerRegistry
from service.notify import Delivery, DeliveryStatus, store
from service.notify import deliver as http
from service.notify.model import CHECK_REVIEW_DECIDED, GENERATION_STATUS_CHANGED
from service.review import queue as review_queue
from service.review.effects import Effect, Effects, Settled
from service.services import Services

log = logging.getLogger(__name__)


class EndpointRefused(Exception):
    """The endpoint answered, but not with 2xx: try again later."""


def check_review_decided(conn: Conn, settled: Settled) -> Effect | None:
    """Review effect of ``("check", "approve" | "reject")``: queue the tenant's webhooks."""
    check_id = settled.flag.source_id
    found = review_queue.review_of(conn, source_kind="check", source_id=check_id)
    data = {"check_id": check_id, **found.summary()}
    queued = store.queue(conn, tenant_id=settled.flag.tenant_id, event=CHECK_REVIEW_DECIDED, data=data)
    if not queued:
        return None
    log.info("flag %s: %d webhook deliveries queued", settled.flag.id, len(queued))
    return Effect("webhooks", "queued", f"{len(queued)} webhook delivery(ies) queued to the platform.")


def generation_changed(conn: Conn, gen: Generation) -> None:
    """Called by the generation flow in the transaction that moved ``gen`` to its new status."""
    data = {
        "generation_id": str(gen.id),
        "status": gen.status.value,
        "rules": [reason.rule for reason in gen.reasons],
        "updated_at": gen.updated_at.isoformat(),
    }
    store.queue(conn, tenant_id=gen.tenant_id, event=GENERATION_STATUS_CHANGED, data=data)


def body_of(delivery: Delivery) -> bytes:
    envelope = {
        "id": str(delivery.id),
        "event": delivery.event,
        "created_at": delivery.created_at.isoformat(),
        "data": delivery.payload,
    }
    return json.dumps(envelope, separators=(",", ":"), sort_keys=True).encode()


def deliver(job: Job, ctx: JobContext[Services]) -> None:
    """Handler of ``webhook.deliver``."""
    services = ctx.services
    delivery_id = UUID(str(job.payload["delivery_id"]))
    with services.db.tenant(job.tenant_id) as conn:
        delivery = store.delivery(conn, delivery_id)
        hook = store.get(conn, delivery.webhook_id)
        secret = store.secret_of(conn, hook.id)
    if delivery.status is not DeliveryStatus.PENDING or hook.revoked_at is not None:
        with ctx.completing():
            return  # removed, or settled by an earlier attempt
    body = body_of(delivery)
    settings = services.settings
    try:
        answer = http.post(
            hook.url,
            body,
            secret=secret,
            event=delivery.event,
            delivery_id=str(delivery.id),
            timeout_s=settings.webhook_timeout_s,
            allow_private=settings.webhook_allow_private,
        )
    except (http.Unreachable, MalformedRequest) as exc:
        _attempted(services, job.tenant_id, delivery_id, error=str(exc))
        raise  # Unreachable: retried with backoff; MalformedRequest: the URL may not be called
    if 200 <= answer.status_code < 300:
        with ctx.completing() as conn:
            store.record(conn, delivery_id, status=DeliveryStatus.DELIVERED, response_code=answer.status_code)
        return
    error = f"HTTP {answer.status_code}: {answer.preview}"
    _attempted(services, job.tenant_id, delivery_id, error=error, code=answer.status_code)
    raise EndpointRefused(error)


def _attempted(
    services: Services, tenant_id: UUID, delivery_id: UUID, *, error: str, code: int | None = None
) -> None:
    with services.db.tenant(tenant_id) as conn:
        store.record(conn, delivery_id, status=DeliveryStatus.PENDING, response_code=code, error=error[:500])


def on_dead(conn: Conn, job: Job, _services: Services) -> None:
    store.give_up(conn, UUID(str(job.payload["delivery_id"])), job.last_error)


def wire(effects: Effects) -> None:
    """Register the webhook a check flag's final decision sends."""
    effects.register("check", "approve", check_review_decided)
    effects.register("check", "reject", check_review_decided)


def register_handlers(registry: HandlerRegistry[Services]) -> None:
    registry.register(store.DELIVER_JOB, deliver, max_attempts=12, on_dead=on_dead)
