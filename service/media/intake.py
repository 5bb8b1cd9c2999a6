"""Accept or refuse a file: spool, sniff, check limits from headers, then decode.

Order matters for hostile input: the type is read from the bytes, the declared dimensions and
duration are checked against the limits, and only then is anything decoded. Pillow is told the
one format the bytes claim, so a file cannot be parsed by a different decoder than the one that
was checked (a polyglot that is both a JPEG and a ZIP is refused for its trailing data).
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import mmap
import os
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from PIL import ExifTags, Image, ImageOps

from service.errors import MediaRejected, PayloadTooLarge, UnsupportedMediaType, public_detail
from service.media.model import DecodedImage, Frame, MediaInfo, MediaLimits, MediaType
from service.media.sniff import PROVENANCE, SNIFF_BYTES, SUPPORTED, sniff
from service.media.trailers import jpeg_layout
from service.vocabulary import MediaKind

_CHUNK = 1024 * 1024
_PIL_FORMATS = {
    "jpeg": "JPEG", "png": "PNG", "webp": "WEBP", "gif": "GIF", "tiff": "TIFF",
    "heic": "HEIF", "avif": "AVIF",
}  # fmt: skip
try:  # HEIC through libheif: the optional pillow-heif package (GPLv2 wheel); AVIF is Pillow's own
    import pillow_heif

    pillow_heif.register_heif_opener()
    HEIC_READABLE = True
except ImportError:  # pragma: no cover - exercised where the extra is not installed
    HEIC_READABLE = False
_MAX_IMAGE_FRAMES = 1000  # animated GIF/WebP/APNG: frames × pixels is what decoding costs
_QUARTER_TURNS = (5, 6, 7, 8)  # EXIF orientations that turn the picture on its side
_TURNED = (2, 3, 4, *_QUARTER_TURNS)  # EXIF orientations that mirror or turn it at all

# Pillow's own bomb check is a warning below 2× its limit; every check here is ours, done first.
Image.MAX_IMAGE_PIXELS = None


def spool(stream: BinaryIO, *, directory: Path, max_bytes: int) -> tuple[Path, int, str]:
    """Copy ``stream`` to a new file under ``directory``, hashing as it goes.

    Returns ``(path, size, sha256)``. Refuses (and removes the file) past ``max_bytes``.
    """
    directory.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=directory, suffix=".upload")
    path = Path(name)
    digest = hashlib.sha256()
    size = 0
    try:
        with os.fdopen(fd, "wb") as out:
            while chunk := stream.read(_CHUNK):
                size += len(chunk)
                if size > max_bytes:
                    raise PayloadTooLarge(f"The upload is larger than the limit of {max_bytes} bytes.")
                digest.update(chunk)
                out.write(chunk)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path, size, digest.hexdigest()


def detect(path: Path, accept: tuple[MediaType, ...] = SUPPORTED) -> MediaType:
    """The type of ``path`` from its bytes, if ``accept`` (a table of ``sniff``) holds it; a 415
    naming what was sent and listing ``accept`` otherwise."""
    with path.open("rb") as fh:
        head = fh.read(SNIFF_BYTES)
    if not head:
        raise MediaRejected("The file is empty.")
    found = sniff(head, accept)
    if isinstance(found, str):
        if accept == PROVENANCE:
            message = (
                f"Vigil cannot read C2PA provenance in {found} files (detected from the bytes). "
                f"It reads it in {supported_list(accept)}."
            )
        else:
            message = (
                f"Vigil does not take {found} files (detected from the bytes). "
                f"It takes {supported_list(accept)}."
            )
        raise UnsupportedMediaType(
            message, details={"detected": found, "supported": [t.name for t in accept]}
        )
    return found


def supported_list(accept: tuple[MediaType, ...] = SUPPORTED) -> str:
    """The types Vigil takes, as a person reads them, from the one table sniffing uses."""
    return ", ".join(t.name.upper() if len(t.name) <= 4 else t.name for t in accept)


def inspect(
    path: Path,
    limits: MediaLimits,
    *,
    size: int | None = None,
    sha256: str | None = None,
    accept: tuple[MediaType, ...] = SUPPORTED,
    init_segments: bool = False,
) -> MediaInfo:
    """Type, size, hash and header facts of ``path``, refusing anything over ``limits``.

    ``accept``: the table of types taken (``sniff.SUPPORTED``, ``CHECKABLE``, ``PROVENANCE``).
    ``init_segments``: take a DASH/CMAF initialisation segment (no media to decode), for
    verification only; elsewhere it is refused as a video without frames.
    """
    size = path.stat().st_size if size is None else size
    if size > limits.max_bytes:
        raise PayloadTooLarge(f"The file is larger than the limit of {limits.max_bytes} bytes.")
    media_type = detect(path, accept)
    if sha256 is None:
        from service.blobs.store import sha256_file

        sha256 = sha256_file(path)
    base = MediaInfo(path=path, type=media_type, size=size, sha256=sha256)
    if media_type.kind is MediaKind.IMAGE:
        return _inspect_image(base, limits)
    if media_type.kind is MediaKind.DOCUMENT:
        from service.media.documents import check_document

        return check_document(base)
    if media_type.name in ("mp4", "mov"):
        from service.media.bmff import is_init_segment

        if is_init_segment(path):
            if not init_segments:
                raise MediaRejected(
                    "The file is a DASH/CMAF initialisation segment: headers without pictures or "
                    "sound, so there is nothing to decode here. Its provenance is verified by "
                    "POST /v1/verify (with its media segments)."
                )
            return dataclasses.replace(base, init_segment=True)
    from service.media.av import inspect_av

    return inspect_av(base, limits)


def _open_image(info: MediaInfo) -> Image.Image:
    if info.type.name == "heic" and not HEIC_READABLE:
        raise UnsupportedMediaType(
            "HEIC needs the optional pillow-heif package on this instance (pip install 'vigil[heic]', "
            "part of 'make install'); send JPEG, PNG or AVIF instead.",
            details={"detected": "heic"},
        )
    fmt = _PIL_FORMATS[info.type.name]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            return Image.open(info.path, formats=[fmt])  # reads the header only
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError, Warning) as exc:
        raise MediaRejected(f"The {info.type.name} file cannot be read: {public_detail(exc)}.") from exc


def _inspect_image(info: MediaInfo, limits: MediaLimits) -> MediaInfo:
    with _open_image(info) as img:
        width, height = img.size
        frames = getattr(img, "n_frames", 1)
    limits.check_dimensions(width, height)
    if frames > _MAX_IMAGE_FRAMES or frames * width * height > limits.max_pixels * 4:
        raise MediaRejected(f"The animated image has {frames} frames of {width}×{height}; that is too many.")
    _check_trailing_data(info)
    return MediaInfo(
        path=info.path,
        type=info.type,
        size=info.size,
        sha256=info.sha256,
        width=width,
        height=height,
        frame_count=frames,
    )


def _check_trailing_data(info: MediaInfo) -> None:
    """Refuse bytes after the end of the image: the usual shape of a polyglot file."""
    with info.path.open("rb") as fh:
        fh.seek(max(0, info.size - 65536))
        tail = fh.read()
    if b"PK\x05\x06" in tail:  # a ZIP end-of-central-directory record
        raise MediaRejected("The image carries a ZIP archive after its data (a polyglot file).")
    name = info.type.name
    trailing = 0
    if name == "png":
        end = tail.rfind(b"IEND")
        trailing = len(tail) - (end + 8) if end >= 0 else 0
    elif name == "jpeg":
        trailing = _jpeg_trailing(info, tail)
    elif name == "gif":
        trailing = len(tail.rstrip(b"\x00")) - (tail.rstrip(b"\x00").rfind(b"\x3b") + 1)
    elif name in ("heic", "avif"):
        trailing = _bmff_trailing(info)
    elif name == "webp":
        with info.path.open("rb") as fh:
            header = fh.read(8)
        declared = int.from_bytes(header[4:8], "little") + 8
        trailing = info.size - declared - (declared % 2)
    if trailing > 0:
        raise MediaRejected(
            f"The {name} file has {trailing} bytes after its end that nothing in it declares (possibly a "
            "polyglot file). Phone trailers (MPF images, Motion Photo video, Samsung SEFT) are accepted."
        )


def _bmff_trailing(info: MediaInfo) -> int:
    """Bytes after the last top-level box of an ISO BMFF file (HEIC, AVIF): boxes declare their
    sizes, so what follows the last one belongs to nothing."""
    at = 0
    with info.path.open("rb") as fh:
        while at + 8 <= info.size:
            fh.seek(at)
            head = fh.read(16)
            size = int.from_bytes(head[:4], "big")
            if size == 1 and len(head) >= 16:
                size = int.from_bytes(head[8:16], "big")
            elif size == 0:  # the last box runs to the end of the file
                return 0
            if size < 8 or at + size > info.size:
                return info.size - at  # a box that lies about its size: count the rest as undeclared
            at += size
    return info.size - at


def _jpeg_trailing(info: MediaInfo, tail: bytes) -> int:
    """Bytes after the primary image that no trailer the file declares covers (see trailers.py)."""
    with info.path.open("rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as data:
        layout = jpeg_layout(data)
        if layout is not None:
            return layout.undeclared(data)
    end = tail.rfind(b"\xff\xd9")  # markers that do not parse: the decoder has the last word
    return len(tail.rstrip(b"\x00")) - (end + 2) if end >= 0 else 0


def decode_image(info: MediaInfo, *, mode: str = "RGB", min_side: int | None = None) -> DecodedImage:
    """Fully decode an inspected image (EXIF orientation applied) into ``mode``.

    ``min_side``: the caller needs only that many pixels on the longest side, so a JPEG may be
    decoded at 1/2, 1/4 or 1/8 scale (DCT scaling: every block is still decoded and checked,
    at a fraction of the cost). Other formats decode at full size. The result's ``full_size`` is
    the picture's size at full resolution, turned as the EXIF orientation turns it: hashing takes
    the full-size picture's hashes from a reduced decode with it (``service.match.hashes``).
    """
    if info.kind is not MediaKind.IMAGE:
        raise UnsupportedMediaType(f"Expected an image, got {info.type.name}.")
    img = _open_image(info)
    full_size = img.size
    try:
        if min_side is not None and info.type.name == "jpeg" and max(img.size) > min_side:
            scale = min_side / max(img.size)
            img.draft(img.mode, (math.ceil(img.width * scale), math.ceil(img.height * scale)))
        img.load()
        orientation = img.getexif().get(ExifTags.Base.Orientation, 1)
        if orientation in _QUARTER_TURNS:
            full_size = (full_size[1], full_size[0])
        if orientation in _TURNED:  # else exif_transpose would only copy the pixels
            img = ImageOps.exif_transpose(img)
        converted = img.convert(mode)  # a copy even in the same mode: ``img`` is closed below
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise MediaRejected(
            f"The {info.type.name} image is truncated or corrupt: {public_detail(exc)}."
        ) from exc
    finally:
        img.close()
    return DecodedImage(info=info, image=converted, full_size=full_size)


def load_image(path: Path, limits: MediaLimits) -> DecodedImage:
    """Inspect then decode: the one call for 'give me this untrusted image'."""
    info = inspect(path, limits)
    if info.kind is not MediaKind.IMAGE:
        raise UnsupportedMediaType(
            f"Expected an image, got {info.type.name}.", details={"detected": info.type.name}
        )
    return decode_image(info)


def iter_frames(info: MediaInfo, *, fps: float = 1.0, limits: MediaLimits) -> Iterator[Frame]:
    """Sampled frames of a video (about ``fps`` per second); an image yields itself once; a
    document or an initialisation segment has none."""
    if info.kind is MediaKind.DOCUMENT or info.init_segment:
        return
    if info.kind is MediaKind.IMAGE:
        yield Frame(index=0, t=0.0, image=decode_image(info).image)
        return
    from service.media.av import sample_frames

    yield from sample_frames(info, fps=fps, limits=limits)
