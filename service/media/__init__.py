"""Safe intake of untrusted media.

The type comes from the bytes, never from a filename or a client's MIME type; limits on bytes,
pixels, frames and duration are checked from headers *before* anything is decoded, so a
decompression bomb is refused without allocating its image; uploads are spooled to disk while
they are hashed, never held whole in memory.
"""

from service.media.model import DecodedImage, Frame, MediaInfo, MediaLimits, MediaType
from service.media.sniff import sniff

__all__ = [
    "DecodedImage",
    "Frame",
    "MediaInfo",
    "MediaLimits",
    "MediaType",
    "sniff",
]
