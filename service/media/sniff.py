"""Detect a file's type from its first bytes (magic numbers), never from its name.

One table (``KNOWN``) names every type Vigil reads; the tables a caller accepts are cut from it,
and the 415 message is written from the table that refused the file:

- ``SUPPORTED``: media every intake takes (pictures, video, audio), screened and signable.
- ``CHECKABLE``: what ``POST /v1/check`` takes: the media, and documents (PDF, SVG) whose
  provenance is read while nothing else in them can be screened.
- ``PROVENANCE``: what verification takes: every type c2pa reads a manifest from (WebM is not
  one; tests/provenance keep this table equal to c2pa's own list).

An SVG is hostile XML: it is recognised here by its bytes only (no XML parser, no entity ever
resolved), and nothing in Vigil parses it; c2pa reads its manifest element.
"""

from __future__ import annotations

import re

from service.media.model import MediaType
from service.vocabulary import MediaKind

JPEG = MediaType("jpeg", "image/jpeg", MediaKind.IMAGE, "jpg")
PNG = MediaType("png", "image/png", MediaKind.IMAGE, "png")
WEBP = MediaType("webp", "image/webp", MediaKind.IMAGE, "webp")
GIF = MediaType("gif", "image/gif", MediaKind.IMAGE, "gif")
TIFF = MediaType("tiff", "image/tiff", MediaKind.IMAGE, "tif")
MP4 = MediaType("mp4", "video/mp4", MediaKind.VIDEO, "mp4")
MOV = MediaType("mov", "video/quicktime", MediaKind.VIDEO, "mov")
WEBM = MediaType("webm", "video/webm", MediaKind.VIDEO, "webm")
WAV = MediaType("wav", "audio/wav", MediaKind.AUDIO, "wav")
MP3 = MediaType("mp3", "audio/mpeg", MediaKind.AUDIO, "mp3")
FLAC = MediaType("flac", "audio/flac", MediaKind.AUDIO, "flac")
M4A = MediaType("m4a", "audio/mp4", MediaKind.AUDIO, "m4a")
HEIC = MediaType("heic", "image/heic", MediaKind.IMAGE, "heic")  # every iPhone photo
AVIF = MediaType("avif", "image/avif", MediaKind.IMAGE, "avif")
PDF = MediaType("pdf", "application/pdf", MediaKind.DOCUMENT, "pdf")
SVG = MediaType("svg", "image/svg+xml", MediaKind.DOCUMENT, "svg")

SUPPORTED: tuple[MediaType, ...] = (
    JPEG, PNG, WEBP, GIF, TIFF, HEIC, AVIF, MP4, MOV, WEBM, WAV, MP3, FLAC, M4A
)  # fmt: skip
DOCUMENTS: tuple[MediaType, ...] = (PDF, SVG)
KNOWN: tuple[MediaType, ...] = SUPPORTED + DOCUMENTS
CHECKABLE: tuple[MediaType, ...] = KNOWN
PROVENANCE: tuple[MediaType, ...] = tuple(t for t in KNOWN if t is not WEBM)
BY_NAME = {t.name: t for t in SUPPORTED}
BY_MIME = {t.mime: t for t in SUPPORTED}

HEAD_BYTES = 64
SNIFF_BYTES = 4096  # an SVG's root element may follow an XML declaration, comments and a DOCTYPE

# Types we recognise only to name them in a 415, so the user learns what they actually sent.
_KNOWN_OTHERS: tuple[tuple[bytes, int, str], ...] = (
    (b"PK\x03\x04", 0, "zip"),
    (b"\x1f\x8b", 0, "gzip"),
    (b"\x7fELF", 0, "elf"),
    (b"MZ", 0, "exe"),
    (b"BM", 0, "bmp"),
    (b"8BPS", 0, "psd"),
    (b"OggS", 0, "ogg"),
    (b"\x00\x00\x01\x00", 0, "ico"),
    (b"7z\xbc\xaf\x27\x1c", 0, "7z"),
    (b"Rar!", 0, "rar"),
)

_MP4_BRANDS_AUDIO = {b"M4A ", b"M4B "}
_MP4_BRANDS_QT = {b"qt  "}
_HEIC_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx"}
_AVIF_BRANDS = {b"avif"}
_HEIF_OTHER = {b"mif1", b"msf1", b"avis", b"hevm", b"hevs"}  # sequences and bare HEIF: named, not taken
_UTF8_BOM = b"\xef\xbb\xbf"


def _heif(head: bytes) -> MediaType | str | None:
    """A still HEIC or AVIF picture by its major brand, or for the generic ``mif1`` by the
    compatible brands that follow it in the ``ftyp`` box."""
    size = int.from_bytes(head[:4], "big")
    major = head[8:12]
    compatible = {head[i : i + 4] for i in range(16, min(size, len(head)) - 3, 4)}
    if major in _AVIF_BRANDS or (major == b"mif1" and b"avif" in compatible):
        return AVIF
    if major in _HEIC_BRANDS or (major == b"mif1" and compatible & _HEIC_BRANDS):
        return HEIC
    if major in _HEIF_OTHER:
        return major.decode("ascii").strip() or "heif"
    return None


def xml_root(head: bytes) -> bytes | None:
    """The name of the first element of XML ``head``, found by skipping the prolog byte by byte
    (declaration, processing instructions, comments, a DOCTYPE); None if it is not reached.

    No XML parser runs and no entity is looked at: a DOCTYPE's internal subset is skipped to its
    closing ``]>`` unread.
    """
    text = head.removeprefix(_UTF8_BOM)
    at = 0
    while True:
        while at < len(text) and text[at] in b" \t\r\n":
            at += 1
        if text.startswith(b"<?", at):
            end, skip = text.find(b"?>", at + 2), 2
        elif text.startswith(b"<!--", at):
            end, skip = text.find(b"-->", at + 4), 3
        elif text[at : at + 9].upper() == b"<!DOCTYPE":
            bracket, close = text.find(b"[", at), text.find(b">", at)
            if 0 <= bracket < close:  # an internal subset: skipped, unread, to "]" and then ">"
                subset_end = text.find(b"]", bracket)
                close = text.find(b">", subset_end) if subset_end >= 0 else -1
            end, skip = close, 1
        elif text.startswith(b"<", at):
            name = re.split(rb"[\s/>]", text[at + 1 : at + 64], maxsplit=1)[0]
            return name or None
        else:
            return None
        if end < 0:
            return None
        at = end + skip


def sniff(head: bytes, accept: tuple[MediaType, ...] = SUPPORTED) -> MediaType | str:
    """The type of ``head`` if ``accept`` holds it, else the short name of what it is ("pdf",
    "webm", "unknown")."""
    found = _identify(head)
    if isinstance(found, MediaType) and found not in accept:
        return found.name
    return found


def _identify(head: bytes) -> MediaType | str:
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return WEBP
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return WAV
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return GIF
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return TIFF
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in _MP4_BRANDS_AUDIO:
            return M4A
        if brand in _MP4_BRANDS_QT:
            return MOV
        heif = _heif(head)
        if heif is not None:
            return heif
        return MP4
    if head[:4] == b"\x1a\x45\xdf\xa3":
        return WEBM
    if head[:4] == b"fLaC":
        return FLAC
    if head[:3] == b"ID3" or (
        len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0 and head[1] & 0x06
    ):
        return MP3
    if head[:5] == b"%PDF-":
        return PDF
    for magic, offset, name in _KNOWN_OTHERS:
        if head[offset : offset + len(magic)] == magic:
            return name
    return _text(head)


def _text(head: bytes) -> MediaType | str:
    stripped = head.removeprefix(_UTF8_BOM).lstrip()
    if stripped[:1] == b"<":
        root = xml_root(stripped)
        if root in (b"svg", b"svg:svg"):
            return SVG
        lowered = stripped[:64].lower()
        if lowered.startswith((b"<!doctype html", b"<html", b"<svg", b"<?xml", b"<script", b"<!--")):
            return "svg" if root is None and b"<svg" in lowered else "html/xml"
    if stripped[:1] in (b"{", b"["):
        return "json"
    if head and all(32 <= b < 127 or b in (9, 10, 13) for b in head[:HEAD_BYTES]):
        return "text"
    return "unknown"
