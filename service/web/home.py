"""``/``: where a person lands — what this instance is, whether it is ready, and where to go."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from service import __version__
from service.api.deps import ServicesDep
from service.vocabulary import SignalState
from service.web import templates

router = APIRouter(tags=["pages"], include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
def home(request: Request, services: ServicesDep) -> HTMLResponse:
    report = services.readiness.report()
    components = [(name, status.state.value, status.detail) for name, status in sorted(report.items())]
    ready = all(status.state is not SignalState.UNAVAILABLE for status in report.values())
    return templates.TemplateResponse(
        request,
        "home.html",
        {"components": components, "ready": ready, "version": __version__},
    )
