"""Periodic work of the audit stage: a signed checkpoint of the whole tree every minute.

Checkpoints are also issued on demand (``GET /v1/log/checkpoint``); the periodic one means an
auditor who only watches the checkpoint history still sees every minute of the log covered.
"""

from __future__ import annotations

from typing import Protocol, TypeVar

from service.audit.checkpoints import LogSigner
from service.db import Conn
from service.jobs.registry import HandlerRegistry

CHECKPOINT_EVERY_S = 60.0


class CheckpointHost(Protocol):
    """What the checkpoint task reads of the host's services."""

    @property
    def log_signer(self) -> LogSigner: ...


def issue_checkpoint(conn: Conn, host: CheckpointHost) -> None:
    host.log_signer.issue(conn)


Host = TypeVar("Host", bound=CheckpointHost)


def register_handlers(registry: HandlerRegistry[Host]) -> None:
    registry.every("audit.checkpoint", CHECKPOINT_EVERY_S, issue_checkpoint)
