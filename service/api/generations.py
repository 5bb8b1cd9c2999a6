"""``/v1/generations``: studios submit generation requests and fetch released outputs.

HTTP ⇄ domain only: the flow itself is ``service.pipeline.generation``.
"""

from __future__ import annotations

import re
from contextlib import ExitStack
from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, File, Form, Header, UploadFile
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field

from service.api.deps import CurrentStudio, GenerationFlowDep, ServicesDep
from service.api.schemas import ReasonOut
from service.api.uploads import received
from service.errors import Conflict, Gone, MalformedRequest, MediaRejected
from service.generate import store
from service.generate.records import Generation, GenerationStatus
from service.generate.spec import parse_spec
from service.media import MediaInfo
from service.media.intake import decode_image
from service.pipeline.generation import Submission
from service.vocabulary import MediaKind

router = APIRouter(prefix="/v1/generations", tags=["generation"])

MAX_PHOTOS = 12
_KEY = re.compile(r"^[\x21-\x7e]{1,200}$")


class SubmittedOut(BaseModel):
    id: UUID
    status: GenerationStatus


class OutputOut(BaseModel):
    asset_id: UUID
    sha256: str
    mime: str
    url: str


class GenerationOut(BaseModel):
    id: UUID
    status: GenerationStatus
    reasons: list[ReasonOut]
    market: str
    output_kind: str
    decision: str | None
    policy_version: str | None
    classifier_versions: dict[str, str] = Field(
        default_factory=dict,
        description="Each classifier that screened the request and output → its version, or "
        "`not_configured` / `unavailable` (`speech` for a voice track: no speech model ships); "
        "signed into the output's `vigil.moderation` assertion",
    )
    flag_id: UUID | None
    output: OutputOut | None  # set once released
    created_at: datetime
    updated_at: datetime
    released_at: datetime | None


def generation_out(gen: Generation) -> GenerationOut:
    released = gen.downloadable and gen.asset_id is not None and gen.released_mime is not None
    return GenerationOut(
        id=gen.id,
        status=gen.status,
        reasons=[ReasonOut.of(r) for r in gen.reasons],
        market=gen.market,
        output_kind=gen.output_kind,
        decision=gen.decision,
        policy_version=gen.policy_version,
        classifier_versions=dict(gen.classifier_versions),
        flag_id=gen.flag_id,
        output=OutputOut(
            asset_id=gen.asset_id,
            sha256=gen.released_sha256 or "",
            mime=gen.released_mime or "",
            url=f"/v1/generations/{gen.id}/output",
        )
        if released and gen.asset_id is not None
        else None,
        created_at=gen.created_at,
        updated_at=gen.updated_at,
        released_at=gen.released_at,
    )


def _photo(info: MediaInfo, index: int) -> MediaInfo:
    if info.kind is not MediaKind.IMAGE:
        raise MediaRejected(
            f"photos[{index}] is {info.type.name}, not an image; send JPEG, PNG or WebP photos."
        )
    decode_image(info)  # a truncated or lying image is refused here, before anything is queued
    return info


@router.post("", status_code=202)
def submit(
    who: CurrentStudio,
    services: ServicesDep,
    flow: GenerationFlowDep,
    spec: Annotated[str, Form(description="The generation spec as a JSON string (docs/generation.md)")],
    photos: Annotated[list[UploadFile], File(description="Photos of the people or animals shown")],
    voice: Annotated[
        UploadFile | None, File(description="An approved voice sample (needs voice_clone)")
    ] = None,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> SubmittedOut:
    """Record a generation request. Consent is checked now: the answer may already be ``denied``."""
    parsed = parse_spec(spec)
    if idempotency_key is not None and not _KEY.match(idempotency_key):
        raise MalformedRequest("Idempotency-Key must be 1-200 visible ASCII characters.")
    if not 1 <= len(photos) <= MAX_PHOTOS:
        raise MalformedRequest(f"Send 1 to {MAX_PHOTOS} photos, not {len(photos)}.")
    if voice is not None and not parsed.voice_subjects:
        raise MalformedRequest("A voice sample needs a subject with appears_as 'voice' in the spec.")
    if parsed.voice_subjects and voice is None:
        raise MalformedRequest("A subject appears as 'voice': send the approved voice sample as 'voice'.")
    if voice is not None and parsed.output.value != "video":
        raise MalformedRequest("A voice track goes into a video: set output to 'video'.")
    services.market_profile(parsed.market)  # an unknown market is a 422 naming the known ones
    with ExitStack() as stack:
        infos = tuple(_photo(stack.enter_context(received(p, services)), i) for i, p in enumerate(photos))
        voice_info = None
        if voice is not None:
            voice_info = stack.enter_context(received(voice, services))
            if voice_info.kind is not MediaKind.AUDIO:
                raise MediaRejected(f"The voice sample is {voice_info.type.name}, not audio.")
        gen = flow.submit(
            who.tenant_id,
            Submission(spec=parsed, photos=infos, voice=voice_info, idempotency_key=idempotency_key),
        )
    return SubmittedOut(id=gen.id, status=gen.status)


@router.get("/{generation_id}")
def get_generation(generation_id: UUID, who: CurrentStudio, services: ServicesDep) -> GenerationOut:
    """Status, reasons and (once released) the output's asset id and download URL."""
    with services.db.tenant(who.tenant_id) as conn:
        return generation_out(store.get(conn, generation_id))


@router.get(
    "/{generation_id}/output",
    response_class=FileResponse,
    responses={
        200: {"description": "The labelled, signed output"},
        409: {"description": "Not released"},
        410: {"description": "Revoked: the consent it was made under was withdrawn"},
    },
)
def get_output(generation_id: UUID, who: CurrentStudio, services: ServicesDep) -> FileResponse:
    """The released output. Until release (or after a block) there is nothing to download."""
    with services.db.tenant(who.tenant_id) as conn:
        gen = store.get(conn, generation_id)
    if gen.status is GenerationStatus.REVOKED:
        raise Gone(
            "The consent this output was made under was withdrawn; Vigil no longer serves it. "
            "Take down copies you published.",
            details={"reasons": [r.as_dict() for r in gen.reasons]},
        )
    if not gen.downloadable or gen.released_sha256 is None:
        raise Conflict(f"This generation is {gen.status.value}; only a released output can be downloaded.")
    ext = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp", "video/mp4": "mp4"}
    return FileResponse(
        services.blobs.path(gen.released_sha256),
        media_type=gen.released_mime or "application/octet-stream",
        filename=f"{gen.asset_id}.{ext.get(gen.released_mime or '', 'bin')}",
    )
