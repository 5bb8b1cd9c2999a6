"""``POST /v1/media/inspect``: would Vigil accept this file, and what is it? (writes nothing)"""

from __future__ import annotations

from fastapi import APIRouter, File, UploadFile
from pydantic import BaseModel

from service.api.deps import CurrentPrincipal, ServicesDep
from service.api.uploads import received
from service.media.intake import decode_image
from service.vocabulary import MediaKind

router = APIRouter(prefix="/v1/media", tags=["media"])


class MediaOut(BaseModel):
    type: str
    mime: str
    kind: MediaKind
    size: int
    sha256: str
    width: int | None
    height: int | None
    duration_s: float | None
    frame_count: int | None
    has_audio: bool


@router.post("/inspect")
def inspect_media(
    _: CurrentPrincipal, services: ServicesDep, file: UploadFile = File(description="the media file")
) -> MediaOut:
    """Run the full intake (type from bytes, limits, decode) and report what was found."""
    with received(file, services) as info:
        if info.kind is MediaKind.IMAGE:
            decode_image(info)  # a truncated image is refused here, not later in a pipeline
        return MediaOut(
            type=info.type.name,
            mime=info.type.mime,
            kind=info.kind,
            size=info.size,
            sha256=info.sha256,
            width=info.width,
            height=info.height,
            duration_s=info.duration_s,
            frame_count=info.frame_count,
            has_audio=info.has_audio,
        )
