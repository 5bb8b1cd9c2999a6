"""Where a JPEG's primary image ends, and which bytes after it the file itself declares.

Phones append data after a photo's end-of-image marker as a matter of course:

- **MPF** (CIPA DC-007): an APP2 ``MPF`` segment lists secondary images (depth maps, previews)
  by offset and size; they follow the primary image.
- **Motion Photos**: XMP declares a video appended to the photo, either as Google's
  ``GCamera:MicroVideoOffset`` (the video's distance from the end of the file) or as a
  ``Container:Directory`` whose items give each appended file's ``Item:Length``.
- **Samsung SEFT**: a trailer that ends with ``SEFT``, after a ``SEFH`` directory whose entries
  locate each data block (capture time, the motion photo's video, ...).

Bytes after the primary image are accepted only where one of these declares them (or they are
zero padding); anything else is undeclared trailing data, the usual shape of a polyglot file,
and refused by the caller. Only the primary image is decoded, hashed and screened.
"""

from __future__ import annotations

import mmap
import re
import struct
from dataclasses import dataclass

# The file's bytes, or a memory map of them (a phone video can make a photo tens of megabytes).
Buffer = bytes | mmap.mmap
_SOI = b"\xff\xd8"
_STANDALONE = frozenset({0x01, *range(0xD0, 0xD8)})  # markers without a length field
_XMP_HEADER = b"http://ns.adobe.com/xap/1.0/\x00"


@dataclass(frozen=True, slots=True)
class JpegLayout:
    end: int  # offset just after the primary image's end-of-image marker
    regions: tuple[tuple[int, int, str], ...]  # declared [start, end) ranges after it, and who declared them

    def undeclared(self, data: Buffer) -> int:
        """How many bytes after the primary image no declaration covers (zero padding aside)."""
        covered = sorted((max(s, self.end), min(e, len(data))) for s, e, _ in self.regions if e > self.end)
        left, at = 0, self.end
        for start, end in covered:
            if start > at:
                left += len(data[at:start].strip(b"\x00"))
            at = max(at, end)
        return left + len(data[at:].strip(b"\x00"))

    @property
    def declared_by(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(who for _, _, who in self.regions))


def jpeg_layout(data: Buffer) -> JpegLayout | None:
    """The primary image's end and the trailers declared for it; None if the markers do not
    parse (the decoder then refuses the file on its own)."""
    if data[:2] != _SOI:
        return None
    pos = 2
    segments: list[tuple[int, int, bytes]] = []
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in _STANDALONE:
            pos += 2
            continue
        if marker == 0xD9:
            return _layout(data, pos + 2, segments)
        length = struct.unpack(">H", data[pos + 2 : pos + 4])[0]
        if length < 2 or pos + 2 + length > len(data):
            return None
        segments.append((marker, pos + 4, data[pos + 4 : pos + 2 + length]))
        pos += 2 + length
        if marker == 0xDA:  # start of scan: entropy-coded data runs to the next real marker
            pos = _scan_end(data, pos)
            if pos < 0:
                return None
    return None


def _scan_end(data: Buffer, pos: int) -> int:
    """The offset of the first marker after entropy-coded data (FF00 stuffing and RSTn skipped)."""
    while True:
        pos = data.find(b"\xff", pos)
        if pos < 0 or pos + 1 >= len(data):
            return -1
        following = data[pos + 1]
        if following == 0x00 or 0xD0 <= following <= 0xD7 or following == 0xFF:
            pos += 1
            continue
        return pos


def _layout(data: Buffer, end: int, segments: list[tuple[int, int, bytes]]) -> JpegLayout:
    regions: list[tuple[int, int, str]] = []
    for marker, offset, body in segments:
        if marker == 0xE2 and body.startswith(b"MPF\x00"):
            regions.extend(_mpf(data, offset + 4, body[4:]))
        elif marker == 0xE1 and body.startswith(_XMP_HEADER):
            regions.extend(_motion_photo(data, end, body[len(_XMP_HEADER) :]))
    regions.extend(_seft(data, end))
    return JpegLayout(end, tuple(regions))


def _mpf(data: Buffer, tiff_start: int, tiff: bytes) -> list[tuple[int, int, str]]:
    """Secondary images of an MP index IFD: offsets count from the MPF TIFF header."""
    if len(tiff) < 8 or tiff[:2] not in (b"II", b"MM"):
        return []
    order = "<" if tiff[:2] == b"II" else ">"
    try:
        (ifd,) = struct.unpack(order + "I", tiff[4:8])
        (count,) = struct.unpack(order + "H", tiff[ifd : ifd + 2])
        entries_at = None
        for i in range(count):
            tag, _, n, value = struct.unpack(order + "HHII", tiff[ifd + 2 + 12 * i : ifd + 14 + 12 * i])
            if tag == 0xB002:  # MPEntry: 16 bytes per image
                entries_at, entries = value, n // 16
        if entries_at is None:
            return []
        out = []
        for i in range(entries):
            _, size, offset, _, _ = struct.unpack(
                order + "IIIHH", tiff[entries_at + 16 * i : entries_at + 16 * (i + 1)]
            )
            if offset == 0:  # the primary image itself
                continue
            start = tiff_start + offset
            if data[start : start + 2] == _SOI and start + size <= len(data):
                out.append((start, start + size, "mpf"))
        return out
    except struct.error:
        return []


_MICRO_VIDEO = re.compile(rb'MicroVideoOffset(?:="|>)(\d{1,12})')
_ITEM = re.compile(rb"<rdf:li[^>]*>\s*<Container:Item\b([^>]*)>|<Container:Item\b([^>]*)/>", re.S)
_ATTR = re.compile(rb'Item:(\w+)="([^"]*)"')


def _motion_photo(data: Buffer, end: int, xmp: bytes) -> list[tuple[int, int, str]]:
    """The appended video (and other items) a Motion Photo's XMP declares."""
    size = len(data)
    found = _MICRO_VIDEO.search(xmp)
    if found is not None:
        offset = int(found.group(1))
        if 0 < offset <= size - end:
            return [(size - offset, size, "motion-photo")]
    lengths = []
    for item in _ITEM.finditer(xmp):
        attrs = dict(_ATTR.findall(item.group(1) or item.group(2) or b""))
        if attrs.get(b"Semantic") == b"Primary":
            continue
        if attrs.get(b"Length", b"").isdigit():
            lengths.append(int(attrs[b"Length"]) + int(attrs.get(b"Padding", b"0") or 0))
    total = sum(lengths)
    if lengths and end < size and 0 < total <= size - end:
        return [(size - total, size, "motion-photo")]
    return []


def _seft(data: Buffer, end: int) -> list[tuple[int, int, str]]:
    """Samsung's trailer: blocks, then ``SEFH`` + version + count + 12-byte entries (each block's
    distance back from ``SEFH`` and its length), then the directory's length and ``SEFT``."""
    if len(data) - end < 8 or data[-4:] != b"SEFT":
        return []
    (dir_len,) = struct.unpack("<I", data[-8:-4])
    head = len(data) - 8 - dir_len
    if head < end or data[head : head + 4] != b"SEFH" or dir_len < 12:
        return []
    (count,) = struct.unpack("<I", data[head + 8 : head + 12])
    if 12 + 12 * count > dir_len:
        return []
    regions = [(head, len(data), "seft")]
    for i in range(count):
        _, back, length = struct.unpack("<III", data[head + 12 + 12 * i : head + 24 + 12 * i])
        start = head - back
        if start < end or start + length > head:
            return []  # an entry pointing outside the trailer: not a trailer this parser trusts
        regions.append((start, start + length, "seft"))
    return regions
