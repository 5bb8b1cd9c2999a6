"""Turning a multipart upload into an inspected file on disk, removed after the request."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from fastapi import UploadFile

from service.media import MediaInfo
from service.media.intake import inspect, spool
from service.services import Services


@contextmanager
def received(upload: UploadFile, services: Services) -> Iterator[MediaInfo]:
    """Spool ``upload`` under the data dir, inspect it against the limits, and clean up after."""
    path, size, sha256 = spool(
        upload.file, directory=services.settings.tmp_dir, max_bytes=services.limits.max_bytes
    )
    try:
        yield inspect(path, services.limits, size=size, sha256=sha256)
    finally:
        path.unlink(missing_ok=True)
