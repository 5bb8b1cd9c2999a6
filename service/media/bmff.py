"""ISO BMFF (MP4) structure read from box headers only: fragmented files and DASH segments.

A fragmented MP4 declares ``mvex`` inside ``moov`` and carries its media in ``moof`` + ``mdat``
pairs. A DASH/CMAF *initialisation segment* is the header part alone (``ftyp`` + ``moov`` with
``mvex``, no media); its *media segments* (``.m4s``) start with ``styp``, ``sidx``, ``emsg``,
``prft`` or ``moof``. Only box headers are read: sizes that lie end the walk, never a loop.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

MAX_BOXES = 10_000  # a walk stops here: a real init segment has a handful of top-level boxes
SEGMENT_BOXES = frozenset({b"styp", b"sidx", b"ssix", b"emsg", b"prft", b"moof"})
_MEDIA_BOXES = frozenset({b"mdat", b"moof"})


def boxes(fh: BinaryIO, start: int, end: int) -> Iterator[tuple[bytes, int, int]]:
    """``(type, payload_start, box_end)`` of each box in ``[start, end)`` of ``fh``."""
    at = start
    for _ in range(MAX_BOXES):
        if at + 8 > end:
            return
        fh.seek(at)
        head = fh.read(16)
        if len(head) < 8:
            return
        size, kind, payload = int.from_bytes(head[:4], "big"), head[4:8], at + 8
        if size == 1:
            if len(head) < 16:
                return
            size, payload = int.from_bytes(head[8:16], "big"), at + 16
        elif size == 0:
            size = end - at  # the last box runs to the end
        if size < payload - at or at + size > end:
            return  # a box that lies about its size: nothing after it is trusted
        yield kind, payload, at + size
        at += size


def is_init_segment(path: Path) -> bool:
    """An ``ftyp`` + ``moov`` (with ``mvex``) file without any media box: a DASH/CMAF
    initialisation segment."""
    size = path.stat().st_size
    with path.open("rb") as fh:
        top = list(boxes(fh, 0, size))
        kinds = {kind for kind, _, _ in top}
        if b"moov" not in kinds or kinds & _MEDIA_BOXES:
            return False
        moov = next((start, end) for kind, start, end in top if kind == b"moov")
        return any(kind == b"mvex" for kind, _, _ in boxes(fh, *moov))


def is_media_segment(head: bytes) -> bool:
    """The first box of a DASH/CMAF media segment (``.m4s``)."""
    return len(head) >= 8 and head[4:8] in SEGMENT_BOXES
