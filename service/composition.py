"""The composition root: the one place a Vigil process is assembled.

The stages' services are built from the settings (``Services.open``); then each flow registers
what a reviewer's decision does to its items (release a held output, withhold it, add a rejected
picture to a bank, tell the platform by webhook). The HTTP edge (``app.create_app``), the CLI and
the tests call ``open_services``; the job kinds the flows define are named in
``services.STAGE_JOB_MODULES`` and registered by every worker.
"""

from __future__ import annotations

from service.pipeline import generation_review, rejection, webhooks
from service.services import Services
from service.settings import Settings


def open_services(settings: Settings, *, migrate: bool = True) -> Services:
    """Every stage's services, with the flows' review effects registered."""
    services = Services.open(settings, migrate=migrate)
    generation_review.wire(services)
    rejection.wire(services)
    webhooks.wire(services)
    return services
