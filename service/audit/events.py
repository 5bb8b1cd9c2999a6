"""Typed audit events with stable names. Ids and hashes only: never names, text or media.

An event's canonical bytes (RFC 8785) are what the transparency log hashes as a leaf, so the
names below and the shape of ``Event.canonical`` are a compatibility contract: old entries must
keep verifying.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import rfc8785


class EventName(enum.StrEnum):
    SUBJECT_CREATED = "subject.created"
    CONSENT_GRANTED = "consent.granted"
    CONSENT_REVOKED = "consent.revoked"
    CONSENT_DISPUTED = "consent.disputed"
    DIRECTIVE_FILED = "directive.filed"
    EVIDENCE_STORED = "evidence.stored"
    MEDIA_DELETED = "media.deleted"
    GENERATION_SUBMITTED = "generation.submitted"
    GENERATION_DENIED = "generation.denied"
    GENERATION_HELD = "generation.held"
    GENERATION_RELEASED = "generation.released"
    GENERATION_BLOCKED = "generation.blocked"
    GENERATION_FAILED = "generation.failed"
    GENERATION_REVOKED = "generation.revoked"
    ASSET_LABELLED = "asset.labelled"
    ASSET_SIGNED = "asset.signed"
    CHECK_DECIDED = "check.decided"
    FLAG_CREATED = "flag.created"
    FLAG_DECIDED = "flag.decided"
    APPEAL_FILED = "appeal.filed"
    APPEAL_DECIDED = "appeal.decided"
    BANK_CHANGED = "bank.changed"
    KEY_CREATED = "key.created"
    KEY_REVOKED = "key.revoked"
    GENERATION_SCREENED = "generation.screened"
    WEBHOOK_REGISTERED = "webhook.registered"
    WEBHOOK_REMOVED = "webhook.removed"


Scalar = str | int | bool | None
Value = Scalar | Sequence[Scalar] | Mapping[str, Scalar]

# Values an event may carry: ids, hashes, enum-like codes, numbers. Free text (a caption, a
# name) does not fit these shapes and is refused, so personal data cannot slip into the log.
_SAFE_TEXT = re.compile(r"^[A-Za-z0-9_.:/@+=-]{0,200}$")


def _check(key: str, value: Any) -> None:
    if isinstance(value, bool | int) or value is None:
        return
    if isinstance(value, str):
        if not _SAFE_TEXT.match(value):
            raise ValueError(f"audit field {key!r} holds free text; log an id or a hash instead")
        return
    if isinstance(value, Mapping):
        for k, v in value.items():
            _check(f"{key}.{k}", v)
        return
    if isinstance(value, Sequence):
        for v in value:
            _check(key, v)
        return
    raise ValueError(f"audit field {key!r} has unsupported type {type(value).__name__}")


@dataclass(frozen=True, slots=True)
class Event:
    name: EventName
    subject_id: str  # the id of the record the event is about
    tenant_id: UUID | None = None
    data: Mapping[str, Value] = field(default_factory=dict)
    at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def __post_init__(self) -> None:
        _check("subject_id", self.subject_id)
        for key, value in self.data.items():
            _check(key, value)

    def canonical(self) -> bytes:
        """RFC 8785 bytes of the entry: what the log stores and hashes as a leaf."""
        body: dict[str, Any] = {
            "v": 1,
            "event": self.name.value,
            "subject": self.subject_id,
            "tenant": str(self.tenant_id) if self.tenant_id else None,
            "at": self.at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "data": dict(self.data),
        }
        return bytes(rfc8785.dumps(body))
