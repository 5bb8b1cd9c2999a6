"""Typed values of a generation record (no I/O): its status, its reasons, the record itself.

A record's ``status`` moves only forward, along ``TRANSITIONS`` (enforced in one place,
``store.update``): ``queued`` → ``running`` → one of ``held``, ``released``, ``blocked``,
``denied``, ``failed`` (``denied`` also straight from submission). A held record moves on to
``released``, ``blocked`` or ``denied`` when a reviewer decides (an appeal may turn a release
into ``blocked`` and back); a released one to ``revoked`` when its consent is withdrawn. Nothing
goes back to ``queued`` or ``held``. Only ``released`` records have a downloadable output, and only
the release transaction makes a record ``released``.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from service.vocabulary import Reason


class GenerationStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DENIED = "denied"  # consent refused at submission (or when the job started)
    HELD = "held"  # a person must decide: the output waits in quarantine
    RELEASED = "released"  # labelled, signed, logged: downloadable
    BLOCKED = "blocked"  # withheld by policy or by a reviewer
    FAILED = "failed"  # the generator gave no usable output after its retries
    REVOKED = "revoked"  # released, then the consent it was made under was withdrawn: no longer served

    @property
    def pending(self) -> bool:
        """Still waiting for the worker."""
        return self in (GenerationStatus.QUEUED, GenerationStatus.RUNNING)


_S = GenerationStatus
TRANSITIONS: Mapping[GenerationStatus, frozenset[GenerationStatus]] = {
    _S.QUEUED: frozenset({_S.RUNNING, _S.DENIED, _S.FAILED}),  # failed: its job died before it ran
    _S.RUNNING: frozenset({_S.RUNNING, _S.HELD, _S.RELEASED, _S.BLOCKED, _S.DENIED, _S.FAILED}),
    _S.HELD: frozenset({_S.RELEASED, _S.BLOCKED, _S.DENIED}),  # a reviewer's decision
    _S.RELEASED: frozenset({_S.REVOKED, _S.BLOCKED}),  # consent withdrawn; an appeal overturns it
    _S.BLOCKED: frozenset({_S.RELEASED, _S.DENIED}),  # an appeal overturns it (consent checked again)
    _S.REVOKED: frozenset({_S.BLOCKED}),  # a later rejection withholds it for good
    _S.DENIED: frozenset({_S.BLOCKED}),
    _S.FAILED: frozenset(),
}


def reachable_from(target: GenerationStatus) -> frozenset[GenerationStatus]:
    """The statuses a record may be in to become ``target``."""
    return frozenset(s for s, nexts in TRANSITIONS.items() if target in nexts)


def _reasons(raw: Any) -> tuple[Reason, ...]:
    if isinstance(raw, tuple) and all(isinstance(r, Reason) for r in raw):
        return raw
    return tuple(Reason.from_dict(r) for r in raw or ())


@dataclass(frozen=True, slots=True)
class Generation:
    """One studio request and what became of it. Columns of ``generations``, one to one."""

    id: UUID
    tenant_id: UUID
    status: GenerationStatus
    reasons: tuple[Reason, ...]
    spec: Mapping[str, Any]  # the parsed spec, prompt and script included (never logged)
    photo_sha256s: tuple[str, ...]
    voice_sha256: str | None
    market: str
    output_kind: str  # image | video
    grant_ids: tuple[UUID, ...]
    idempotency_key: str | None
    request_sha256: str  # of the canonical request: the same key with another body is a conflict
    quarantine_sha256: str | None  # the generator's raw output (never served to the studio)
    quarantine_mime: str | None
    backend: str | None
    backend_version: str | None
    source_type: str | None  # the IPTC digital source type the backend declared
    decision: str | None  # the policy decision: allow | label | review | block
    policy_version: str | None
    flag_id: UUID | None  # the review flag of a held output
    released_sha256: str | None  # the labelled, signed output
    released_mime: str | None
    asset_id: UUID | None
    attempts: int
    created_at: datetime
    updated_at: datetime
    released_at: datetime | None
    # Each classifier that screened it -> version (or "not_configured" / "unavailable"); signed
    # into the output's vigil.moderation assertion at release.
    classifier_versions: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "status", GenerationStatus(self.status))
        object.__setattr__(self, "reasons", _reasons(self.reasons))
        object.__setattr__(self, "photo_sha256s", tuple(self.photo_sha256s))
        object.__setattr__(self, "grant_ids", tuple(self.grant_ids))

    @property
    def prompt(self) -> str:
        return str(self.spec.get("prompt") or "")

    @property
    def script(self) -> str | None:
        script = self.spec.get("script")
        return None if script is None else str(script)

    @property
    def caption(self) -> str:
        return str(self.spec.get("caption") or "")

    @property
    def source_sha256s(self) -> tuple[str, ...]:
        """The inputs it was made from: the photos, then the voice sample."""
        return (*self.photo_sha256s, *((self.voice_sha256,) if self.voice_sha256 else ()))

    @property
    def downloadable(self) -> bool:
        return self.status is GenerationStatus.RELEASED and self.released_sha256 is not None
