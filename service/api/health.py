"""Liveness, readiness and metrics."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Metric, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from service.api.deps import ServicesDep
from service.audit import store as audit_store
from service.errors import Unavailable
from service.jobs import JobState
from service.jobs import store as job_store
from service.notify import store as notify_store
from service.review import store as review_store
from service.services import Services
from service.vocabulary import SignalState

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process is up (it says nothing of the database: see /readyz)."""
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"description": "a configured component is broken"}})
def readyz(services: ServicesDep) -> JSONResponse:
    """Ready when every configured component works; deliberately unconfigured ones are listed."""
    report = services.readiness.report()
    ready = all(c.state is not SignalState.UNAVAILABLE for c in report.values())
    body: dict[str, Any] = {
        "status": "ready" if ready else "unavailable",
        "components": {name: {"state": c.state.value, "detail": c.detail} for name, c in report.items()},
    }
    return JSONResponse(body, status_code=200 if ready else 503)


@router.get("/metrics", response_class=Response)
def metrics(request: Request, services: ServicesDep) -> Response:
    """Prometheus text exposition: requests and checks (of every HTTP process under ``vigil
    serve --workers``), and the backlogs read from the database at the scrape (all tenants)."""
    registry = CollectorRegistry()
    registry.register(_Backlogs(services))
    body = request.app.state.metrics.exposition() + generate_latest(registry)
    return Response(body, media_type=CONTENT_TYPE_LATEST)


class _Backlogs(Collector):
    """Work waiting on people and workers: a stuck worker or an overdue review shows here."""

    def __init__(self, services: Services) -> None:
        self.services = services

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("vigil_database_up", "1 when the backlog counts below could be read")
        try:
            with self.services.db.system() as conn:
                jobs = job_store.counts(conn)
                flags = review_store.counts(conn)
                deliveries = notify_store.counts(conn)
                queued, oldest_s = audit_store.queue_state(conn)
        except (Unavailable, psycopg.Error):
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        job_states = GaugeMetricFamily("vigil_jobs", "Jobs in the queue, by state", labels=["state"])
        for state in JobState:
            job_states.add_metric([state.value], jobs[state])
        yield job_states
        review = GaugeMetricFamily(
            "vigil_review_flags",
            "Review flags: waiting, in_review, escalated, needs_context, breached (past due), decided_24h",
            labels=["state"],
        )
        for name, n in flags.items():
            review.add_metric([name], n)
        yield review
        hooks = GaugeMetricFamily(
            "vigil_webhook_deliveries", "Webhook deliveries, by status", labels=["status"]
        )
        for status, n in deliveries.items():
            hooks.add_metric([status], n)
        yield hooks
        waiting = GaugeMetricFamily(
            "vigil_log_queued_events", "Log events queued and not yet integrated into the tree (checkpoints)"
        )
        waiting.add_metric([], queued)
        yield waiting
        lag = GaugeMetricFamily(
            "vigil_log_queue_oldest_seconds", "How long the oldest queued log event has waited"
        )
        lag.add_metric([], oldest_s)
        yield lag
