"""Periodic work of the consent stage, run by every job worker (once per period across workers)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Protocol, TypeVar

from service.blobs import BlobStore
from service.consent.registry import run_due_deletions
from service.db import Conn
from service.jobs.registry import HandlerRegistry

log = logging.getLogger(__name__)

DELETIONS_EVERY_S = 3600.0


class DeletionHost(Protocol):
    """What the deletion task reads of the host's services."""

    @property
    def blobs(self) -> BlobStore: ...


def delete_due_media(conn: Conn, host: DeletionHost) -> None:
    """Delete source media whose revocation SLA has passed (within 90 days)."""
    deleted = run_due_deletions(conn, host.blobs, datetime.now(UTC))
    if deleted:
        log.info("deleted %d source media after revocation", deleted)


Host = TypeVar("Host", bound=DeletionHost)


def register_handlers(registry: HandlerRegistry[Host]) -> None:
    registry.every("consent.deletions", DELETIONS_EVERY_S, delete_due_media)
