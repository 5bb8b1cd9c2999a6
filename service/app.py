"""``create_app(settings)``: the HTTP edge. Routers, middleware and pages over the services and
the two flows the composition root (``service.composition``) assembles."""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from service import __version__, allocator, cores, logs
from service.api import (
    banks,
    check,
    consent,
    generations,
    health,
    keys,
    media,
    policy,
    review,
    symbols,
    webhooks,
)
from service.api import docs as api_docs
from service.api import errors as api_errors
from service.api import log as log_api
from service.api import provenance as provenance_api
from service.api.middleware import EdgeMiddleware, Metrics
from service.composition import check_flow, generation_flow, open_services
from service.services import Services
from service.settings import Settings
from service.web import STATIC_DIR
from service.web import home as home_page
from service.web import operate as operate_pages
from service.web import review as review_pages
from service.web import verify as verify_page

log = logging.getLogger(__name__)


def app_from_environment() -> FastAPI:
    """The app of one process of ``vigil serve --workers N``: settings from the environment (the
    parent exported its data dir), its own services, opened at startup."""
    settings = Settings()
    logs.configure(level=settings.log_level, json_lines=settings.log_json)
    allocator.tune(settings.malloc_keep_mib)
    cores.one_blas_thread()
    return create_app(settings)


def warm_text_encoder(services: Services) -> None:
    """Load the text encoder before taking requests (on a new data dir this converts and exports
    it first). A failure is left to /readyz and the verdicts, which name it: serving goes on."""
    log.info("loading the text encoder (a new data dir converts and exports it first, about 20 s)")
    state, detail = services.classifiers.text.status()
    log.info("text encoder %s: %s", state.value, detail)


def _serve(app: FastAPI, services: Services) -> None:
    """The services the routes use, and the two flows the composition root builds over them."""
    app.state.services = services
    app.state.check_flow = check_flow(services)
    app.state.generation_flow = generation_flow(services)


def create_app(settings: Settings, *, services: Services | None = None) -> FastAPI:
    """Build the ASGI app. Without ``services`` it opens (and on shutdown closes) its own."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = services is None
        _serve(app, services if services is not None else open_services(settings))
        if owned:  # an HTTP process of --workers: load the encoder beside serving, not before it
            threading.Thread(
                target=warm_text_encoder, args=(app.state.services,), name="warm-text-encoder", daemon=True
            ).start()
        try:
            yield
        finally:
            if owned:
                app.state.services.close()

    app = FastAPI(
        title="Vigil",
        version=__version__,
        description="Consent, disclosure and provenance gateway for generative media.",
        lifespan=lifespan,
        docs_url=None,  # served by api/docs.py from local files, not a CDN
        redoc_url=None,
    )
    if services is not None:
        _serve(app, services)
    metrics = Metrics()
    app.state.metrics = metrics
    api_errors.install(app)
    app.add_middleware(
        EdgeMiddleware, metrics=metrics, max_body=settings.max_upload_bytes, max_json=settings.max_json_bytes
    )
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    api_docs.install(app)
    app.include_router(home_page.router)
    app.include_router(health.router)
    app.include_router(keys.router)
    app.include_router(media.router)
    app.include_router(consent.router)
    app.include_router(generations.router)
    app.include_router(review.router)
    app.include_router(check.router)
    app.include_router(webhooks.router)
    app.include_router(policy.router)
    app.include_router(operate_pages.router)  # before the review pages: /review/{flag_id} would take it
    app.include_router(review_pages.router)
    app.include_router(log_api.router)
    app.include_router(provenance_api.router)
    app.include_router(verify_page.router)
    app.include_router(banks.router)
    app.include_router(symbols.router)
    return app
