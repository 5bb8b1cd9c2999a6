"""Typed values of generation (no I/O): the request a backend gets and the media it returns."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from service.errors import MalformedRequest
from service.media.model import MediaInfo
from service.vocabulary import OutputKind, SourceType

_REQUEST_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
MAX_PHOTOS = 12
MIN_VIDEO_S, MAX_VIDEO_S = 6.0, 10.0


@dataclass(frozen=True, slots=True)
class PhotoRef:
    """An input photo: its blob hash (what logs and manifests name) and where its bytes are."""

    sha256: str
    path: Path

    def __post_init__(self) -> None:
        if not _SHA256.match(self.sha256):
            raise MalformedRequest("A photo reference needs the lower-case hex SHA-256 of its bytes.")


@dataclass(frozen=True, slots=True)
class GenerationRequest:
    """What a backend is asked to make. Consent and screening happened before this exists.

    ``request_id`` names the output file (one per request: a retried job overwrites it);
    ``voice`` is an approved audio track (consent for ``voice_clone`` already checked) or None.
    """

    request_id: str
    output: OutputKind
    photos: tuple[PhotoRef, ...]
    prompt: str
    caption: str = ""
    script: str | None = None
    voice: Path | None = None
    video_seconds: float = 8.0

    def __post_init__(self) -> None:
        if not _REQUEST_ID.match(self.request_id):
            raise MalformedRequest(
                "request_id must be 1-64 letters, digits, '-' or '_' (a job or generation id)."
            )
        if not 1 <= len(self.photos) <= MAX_PHOTOS:
            raise MalformedRequest(f"A generation takes 1 to {MAX_PHOTOS} photos, not {len(self.photos)}.")
        if not MIN_VIDEO_S <= self.video_seconds <= MAX_VIDEO_S:
            raise MalformedRequest(f"video_seconds must be {MIN_VIDEO_S:g} to {MAX_VIDEO_S:g}.")
        object.__setattr__(self, "output", OutputKind(self.output))


@dataclass(frozen=True, slots=True)
class GeneratedMedia:
    """A backend's output: a file in the quarantine directory that the media intake accepted."""

    info: MediaInfo  # path, media type, size, sha256, dimensions, duration
    backend: str
    backend_version: str
    digital_source_type: SourceType

    @property
    def path(self) -> Path:
        return self.info.path

    @property
    def media_type(self) -> str:
        return self.info.type.mime
