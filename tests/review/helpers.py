"""Helpers for review tests: enqueue flags the way other stages will (``queue.create_flag``)."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

from service.auth import store as auth_store
from service.review import queue
from service.review.model import Flag
from service.services import Services


def tenant_id(services: Services, name: str = "acme") -> UUID:
    with services.db.system() as conn:
        return auth_store.ensure_tenant(conn, name).id


def enqueue(
    services: Services,
    *,
    tenant: str = "acme",
    category: str = "propaganda_poster",
    source_kind: str = "generation",
    source_id: str | None = None,
    context: dict[str, Any] | None = None,
    severity: int | None = None,
) -> Flag:
    tid = tenant_id(services, tenant)
    with services.db.tenant(tid) as conn:
        return queue.create_flag(
            conn,
            tenant_id=tid,
            source_kind=source_kind,
            source_id=source_id or str(uuid4()),
            category=category,
            reasons=[{"rule": "propaganda.symbols", "source": "classify", "detail": "score 0.81 ≥ 0.7"}],
            context=context or {},
            policy=services.review_policy,
            severity=severity,
        )
