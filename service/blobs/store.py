"""Filesystem blob store with a two-level SHA-256 fan-out and atomic writes.

A blob is written to a temporary file in the target directory, fsynced, then renamed into
place, so a reader never sees half a file and a crash leaves at most an orphan ``.tmp``.
The interface (``put_*``, ``open``, ``path``, ``delete``) is what an S3 backend would implement.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import suppress
from pathlib import Path
from typing import BinaryIO

from service.errors import MalformedRequest, NotFound

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_CHUNK = 1024 * 1024


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


class BlobStore:
    def __init__(self, *, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    def path(self, sha256: str) -> Path:
        if not _SHA256.match(sha256):
            raise MalformedRequest(f"{sha256!r} is not a SHA-256 hex digest.")
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def exists(self, sha256: str) -> bool:
        return self.path(sha256).is_file()

    def put_bytes(self, data: bytes) -> str:
        sha = hashlib.sha256(data).hexdigest()
        if not self.exists(sha):
            self._write(sha, lambda fh: fh.write(data))
        return sha

    def put_file(self, source: Path) -> str:
        """Copy ``source`` in (it is left where it is) and return its SHA-256."""
        sha = sha256_file(source)
        if not self.exists(sha):

            def copy(fh: BinaryIO) -> None:
                with source.open("rb") as src:
                    shutil.copyfileobj(src, fh, _CHUNK)

            self._write(sha, copy)
        return sha

    def _write(self, sha: str, fill: Callable[[BinaryIO], object]) -> None:
        target = self.path(sha)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as fh:
                fill(fh)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, target)
        finally:
            with suppress(FileNotFoundError):
                os.unlink(tmp)

    def read(self, sha256: str) -> bytes:
        try:
            return self.path(sha256).read_bytes()
        except FileNotFoundError as exc:
            raise NotFound(f"No blob {sha256}.") from exc

    def open(self, sha256: str) -> BinaryIO:
        try:
            return self.path(sha256).open("rb")
        except FileNotFoundError as exc:
            raise NotFound(f"No blob {sha256}.") from exc

    def delete(self, sha256: str) -> bool:
        """Remove a blob; True if it was there."""
        try:
            self.path(sha256).unlink()
        except FileNotFoundError:
            return False
        return True

    def __iter__(self) -> Iterator[str]:
        for path in self.root.glob("??/??/*"):
            if _SHA256.match(path.name):
                yield path.name
