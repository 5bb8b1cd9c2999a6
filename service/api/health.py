"""Liveness, readiness and metrics."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST

from service.api.deps import ServicesDep
from service.health import State

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process is up (it says nothing of the database: see /readyz)."""
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"description": "a configured component is broken"}})
def readyz(services: ServicesDep) -> JSONResponse:
    """Ready when every configured component works; deliberately unconfigured ones are listed."""
    report = services.readiness.report()
    ready = all(c.state is not State.UNAVAILABLE for c in report.values())
    body: dict[str, Any] = {
        "status": "ready" if ready else "unavailable",
        "components": {name: {"state": c.state.value, "detail": c.detail} for name, c in report.items()},
    }
    return JSONResponse(body, status_code=200 if ready else 503)


@router.get("/metrics", response_class=Response)
def metrics(request: Request) -> Response:
    """Prometheus text exposition (of every HTTP process under ``vigil serve --workers``)."""
    return Response(request.app.state.metrics.exposition(), media_type=CONTENT_TYPE_LATEST)
