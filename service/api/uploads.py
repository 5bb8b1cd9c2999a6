"""Turning a multipart upload into an inspected file on disk, removed after the request."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from fastapi import UploadFile

from service.media import MediaInfo, MediaType
from service.media.intake import inspect, spool
from service.media.sniff import SUPPORTED
from service.services import Services


@contextmanager
def received(
    upload: UploadFile,
    services: Services,
    *,
    accept: tuple[MediaType, ...] = SUPPORTED,
    init_segments: bool = False,
) -> Iterator[MediaInfo]:
    """Spool ``upload`` under the data dir, inspect it against the limits, and clean up after.

    ``accept``: the table of types this endpoint takes (``media.sniff``); ``init_segments``: take
    a DASH/CMAF initialisation segment (verification only)."""
    path, size, sha256 = spool(
        upload.file, directory=services.settings.tmp_dir, max_bytes=services.limits.max_bytes
    )
    try:
        yield inspect(
            path, services.limits, size=size, sha256=sha256, accept=accept, init_segments=init_segments
        )
    finally:
        path.unlink(missing_ok=True)


@contextmanager
def spooled(upload: UploadFile, services: Services, *, max_bytes: int) -> Iterator[Path]:
    """Spool ``upload`` unread (no sniffing: the caller checks it), removed after the request."""
    path, _, _ = spool(upload.file, directory=services.settings.tmp_dir, max_bytes=max_bytes)
    try:
        yield path
    finally:
        path.unlink(missing_ok=True)
