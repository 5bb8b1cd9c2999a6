"""Periodic work of the audit stage: a signed checkpoint of the whole tree every minute.

Checkpoints are also issued on demand (``GET /v1/log/checkpoint``); the periodic one means an
auditor who only watches the checkpoint history still sees every minute of the log covered.
"""

from __future__ import annotations

from typing import Any

from service.db import Conn
from service.jobs.registry import HandlerRegistry

CHECKPOINT_EVERY_S = 60.0


def _issue_checkpoint(conn: Conn, services: Any) -> None:
    services.log_signer.issue(conn)


def register_handlers(registry: HandlerRegistry) -> None:
    registry.every("audit.checkpoint", CHECKPOINT_EVERY_S, _issue_checkpoint)
