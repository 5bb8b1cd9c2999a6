"""Webhooks and their deliveries in PostgreSQL (RLS-scoped like every tenant table)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any, TypeVar
from uuid import UUID

from psycopg.rows import class_row
from psycopg.types.json import Jsonb

from service.audit import Event, EventName, append
from service.db import Conn
from service.errors import Conflict, NotFound
from service.jobs import enqueue
from service.notify.model import PING, Delivery, DeliveryStatus, Webhook

_Row = TypeVar("_Row", Webhook, Delivery)

DELIVER_JOB = "webhook.deliver"
MAX_WEBHOOKS = 10  # per tenant

_WEBHOOK = "id, tenant_id, url, events, created_at, revoked_at"
_DELIVERY = (
    "id, webhook_id, tenant_id, event, payload, status, attempts, response_code, last_error, "
    "created_at, finished_at"
)


def create(conn: Conn, *, tenant_id: UUID, url: str, events: list[str], secret: str) -> Webhook:
    # One registration at a time per tenant, so two at once cannot both pass the count.
    conn.execute("SELECT pg_advisory_xact_lock(hashtextextended('webhooks:' || %s::text, 0))", (tenant_id,))
    (active,) = conn.execute(
        "SELECT count(*) FROM webhooks WHERE tenant_id = %s AND revoked_at IS NULL", (tenant_id,)
    ).fetchone() or (0,)
    if active >= MAX_WEBHOOKS:
        raise Conflict(f"This tenant has {active} webhooks, the most it may have; remove one first.")
    with conn.cursor(row_factory=class_row(Webhook)) as cur:
        cur.execute(
            "INSERT INTO webhooks (tenant_id, url, events, secret) VALUES (%s, %s, %s, %s) "  # noqa: S608  # nosec B608
            f"RETURNING {_WEBHOOK}",
            (tenant_id, url, events, secret),
        )
        hook = cur.fetchone()
    assert hook is not None
    url_sha = hashlib.sha256(url.encode()).hexdigest()
    append(conn, Event(EventName.WEBHOOK_REGISTERED, str(hook.id), tenant_id, {"url_sha256": url_sha}))
    return hook


def list_active(conn: Conn, tenant_id: UUID) -> list[Webhook]:
    with conn.cursor(row_factory=class_row(Webhook)) as cur:
        cur.execute(
            f"SELECT {_WEBHOOK} FROM webhooks WHERE tenant_id = %s AND revoked_at IS NULL "  # noqa: S608  # nosec B608
            "ORDER BY created_at",
            (tenant_id,),
        )
        return cur.fetchall()


def get(conn: Conn, webhook_id: UUID) -> Webhook:
    return _one(conn, Webhook, f"SELECT {_WEBHOOK} FROM webhooks WHERE id = %s", webhook_id, "webhook")  # noqa: S608  # nosec B608


def _one(conn: Conn, row: type[_Row], query: str, key: UUID, what: str) -> _Row:
    with conn.cursor(row_factory=class_row(row)) as cur:
        cur.execute(query, (key,))
        found = cur.fetchone()
    if found is None:
        raise NotFound(f"No {what} {key} in this tenant.")
    return found


def secret_of(conn: Conn, webhook_id: UUID) -> str:
    row = conn.execute("SELECT secret FROM webhooks WHERE id = %s", (webhook_id,)).fetchone()
    if row is None:
        raise NotFound(f"No webhook {webhook_id} in this tenant.")
    return str(row[0])


def remove(conn: Conn, webhook_id: UUID) -> Webhook:
    """Stop calling it; deliveries not yet made are cancelled (the record stays)."""
    hook = get(conn, webhook_id)
    if hook.revoked_at is not None:
        return hook
    with conn.cursor(row_factory=class_row(Webhook)) as cur:
        cur.execute(
            f"UPDATE webhooks SET revoked_at = now() WHERE id = %s RETURNING {_WEBHOOK}",  # noqa: S608  # nosec B608
            (webhook_id,),
        )
        removed = cur.fetchone()
    assert removed is not None
    conn.execute(
        "UPDATE webhook_deliveries SET status = 'cancelled', finished_at = now() "
        "WHERE webhook_id = %s AND status = 'pending'",
        (webhook_id,),
    )
    append(conn, Event(EventName.WEBHOOK_REMOVED, str(webhook_id), hook.tenant_id))
    return removed


def queue(
    conn: Conn, *, tenant_id: UUID, event: str, data: Mapping[str, Any], webhook_id: UUID | None = None
) -> list[UUID]:
    """In the caller's transaction: one delivery (and its job) per webhook of ``tenant_id`` that
    subscribes to ``event``, or to ``webhook_id`` alone whatever it subscribes to (a ping).
    Returns the delivery ids."""
    rows = conn.execute(
        "INSERT INTO webhook_deliveries (webhook_id, tenant_id, event, payload) "
        "SELECT id, tenant_id, %(event)s, %(payload)s FROM webhooks "
        "WHERE tenant_id = %(tenant)s AND revoked_at IS NULL "
        "AND (id = %(hook)s OR (%(hook)s::uuid IS NULL AND %(event)s = ANY(events))) RETURNING id",
        {"event": event, "payload": Jsonb(dict(data)), "tenant": tenant_id, "hook": webhook_id},
    ).fetchall()
    ids = [row[0] for row in rows]
    for delivery_id in ids:
        enqueue(conn, DELIVER_JOB, {"delivery_id": str(delivery_id)}, tenant_id=tenant_id)
    return ids


def ping_pending(conn: Conn, webhook_id: UUID) -> bool:
    row = conn.execute(
        "SELECT 1 FROM webhook_deliveries WHERE webhook_id = %s AND event = %s AND status = 'pending' "
        "LIMIT 1",
        (webhook_id, PING),
    ).fetchone()
    return row is not None


def delivery(conn: Conn, delivery_id: UUID) -> Delivery:
    query = f"SELECT {_DELIVERY} FROM webhook_deliveries WHERE id = %s"  # noqa: S608  # nosec B608
    return _one(conn, Delivery, query, delivery_id, "webhook delivery")


def deliveries(conn: Conn, webhook_id: UUID, *, limit: int = 50) -> list[Delivery]:
    with conn.cursor(row_factory=class_row(Delivery)) as cur:
        cur.execute(
            f"SELECT {_DELIVERY} FROM webhook_deliveries WHERE webhook_id = %s "  # noqa: S608  # nosec B608
            "ORDER BY created_at DESC LIMIT %s",
            (webhook_id, limit),
        )
        return cur.fetchall()


def record(
    conn: Conn,
    delivery_id: UUID,
    *,
    status: DeliveryStatus,
    response_code: int | None = None,
    error: str | None = None,
) -> None:
    """One attempt's outcome; ``pending`` keeps it open for the next try."""
    conn.execute(
        "UPDATE webhook_deliveries SET attempts = attempts + 1, status = %(status)s, "
        "response_code = %(code)s, last_error = %(error)s, "
        "finished_at = CASE WHEN %(status)s = 'pending' THEN NULL ELSE now() END "
        "WHERE id = %(id)s AND status = 'pending'",
        {"status": status.value, "code": response_code, "error": error, "id": delivery_id},
    )


def give_up(conn: Conn, delivery_id: UUID, error: str | None) -> None:
    """The job went dead (attempts used up, or the URL may not be called): the delivery failed."""
    conn.execute(
        "UPDATE webhook_deliveries SET status = 'failed', finished_at = now(), "
        "last_error = coalesce(%s, last_error) WHERE id = %s AND status = 'pending'",
        (error, delivery_id),
    )


def counts(conn: Conn) -> dict[str, int]:
    """Deliveries by status (of every tenant the caller's scope sees)."""
    rows = conn.execute("SELECT status, count(*) FROM webhook_deliveries GROUP BY status").fetchall()
    found = {str(status): int(n) for status, n in rows}
    return {status.value: found.get(status.value, 0) for status in DeliveryStatus}
