"""Typed values of the media intake (no I/O)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from service.errors import MediaRejected
from service.vocabulary import MediaKind

if TYPE_CHECKING:
    from PIL import Image

    from service.settings import Settings


@dataclass(frozen=True, slots=True)
class MediaType:
    name: str  # short stable name: "jpeg", "mp4", ...
    mime: str
    kind: MediaKind
    extension: str


@dataclass(frozen=True, slots=True)
class MediaLimits:
    max_bytes: int
    max_pixels: int
    max_side: int
    max_seconds: float
    max_frames: int

    @classmethod
    def from_settings(cls, settings: Settings) -> MediaLimits:
        return cls(
            max_bytes=settings.max_upload_bytes,
            max_pixels=settings.max_image_pixels,
            max_side=settings.max_image_side,
            max_seconds=settings.max_media_seconds,
            max_frames=settings.max_video_frames,
        )

    def check_dimensions(self, width: int, height: int, what: str = "image") -> None:
        """Refuse declared dimensions over the limits (before anything is decoded)."""
        if width <= 0 or height <= 0:
            raise MediaRejected(f"The {what} declares no size ({width}×{height}).")
        if max(width, height) > self.max_side:
            raise MediaRejected(
                f"The {what} is {width}×{height}; the longest side allowed is {self.max_side} pixels."
            )
        if width * height > self.max_pixels:
            raise MediaRejected(
                f"The {what} is {width}×{height} = {width * height} pixels; the limit is "
                f"{self.max_pixels}. Scale it down before uploading."
            )


@dataclass(frozen=True, slots=True)
class MediaInfo:
    """What intake learned about a file it accepted."""

    path: Path
    type: MediaType
    size: int
    sha256: str
    width: int | None = None
    height: int | None = None
    duration_s: float | None = None
    frame_count: int | None = None
    has_audio: bool = False
    # A DASH/CMAF initialisation segment (fragmented MP4 headers, no media): taken only where
    # provenance is verified, with its media segments beside it.
    init_segment: bool = False

    @property
    def kind(self) -> MediaKind:
        return self.type.kind


@dataclass(frozen=True, slots=True)
class DecodedImage:
    info: MediaInfo
    image: Image.Image  # RGB, fully loaded
    # The picture's size at full resolution, in the orientation of ``image``: larger than it where a
    # JPEG was decoded at a reduced scale (hashes are computed as the full-size picture's from it).
    full_size: tuple[int, int] | None = None


@dataclass(frozen=True, slots=True)
class Frame:
    """One decoded video frame, at ``t`` seconds from the start."""

    index: int
    t: float
    image: Image.Image
