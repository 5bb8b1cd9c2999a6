"""The generation spec a studio sends (docs/generation.md), parsed into a frozen value.

``parse_spec(text)`` turns the multipart ``spec`` field (a JSON string) into a ``GenerationSpec``
or raises ``MalformedRequest`` naming the field, so a malformed request is a 422 before
anything is stored or queued.
"""

from __future__ import annotations

import hashlib
from typing import Any
from uuid import UUID

import rfc8785
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from service.consent.model import AppearsAs, Audience, Purpose
from service.errors import MalformedRequest
from service.unstorable import refuse_unstorable
from service.vocabulary import OutputKind

MAX_SPEC_CHARS = 64_000


class SpecSubject(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    subject_id: UUID
    appears_as: AppearsAs = AppearsAs.LIKENESS


class GenerationSpec(BaseModel):
    """What a studio asks for. ``prompt``, ``script`` and ``caption`` stay in the record only."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    subjects: tuple[SpecSubject, ...] = Field(min_length=1, max_length=20)
    market: str = Field("default", pattern=r"^[a-z][a-z0-9-]{0,19}$")
    purpose: Purpose
    audience: Audience
    output: OutputKind
    prompt: str = Field(min_length=1, max_length=4000)
    script: str | None = Field(None, max_length=20_000)
    caption: str | None = Field(None, max_length=200, description="Text the compositor draws")

    @property
    def voice_subjects(self) -> tuple[SpecSubject, ...]:
        return tuple(s for s in self.subjects if s.appears_as is AppearsAs.VOICE)

    def as_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)


def parse_spec(text: str) -> GenerationSpec:
    """Parse the ``spec`` form field; every problem is a ``MalformedRequest`` (422)."""
    if len(text) > MAX_SPEC_CHARS:
        raise MalformedRequest(f"The spec is longer than {MAX_SPEC_CHARS} characters.")
    try:
        spec = GenerationSpec.model_validate_json(text)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'spec'}: {err['msg']}" for err in exc.errors()[:5]
        )
        raise MalformedRequest(f"The generation spec is not valid: {problems}.") from None
    refuse_unstorable(spec.model_dump(mode="json"), "spec")
    return spec


def request_sha256(spec: GenerationSpec, photo_sha256s: tuple[str, ...], voice_sha256: str | None) -> str:
    """SHA-256 of the canonical request (RFC 8785): what an ``Idempotency-Key`` is bound to."""
    body = {"spec": spec.as_json(), "photos": list(photo_sha256s), "voice": voice_sha256}
    return hashlib.sha256(bytes(rfc8785.dumps(body))).hexdigest()
