"""Does a file hold C2PA manifest bytes at all? Answered from its bytes, without c2pa.

c2pa reports an error both for a manifest it cannot parse and for a container it cannot walk
(a streamed WAV whose RIFF size is 0xFFFFFFFF, say). Only the first is a finding about
provenance; the second is a file without a manifest. The markers below are what every C2PA
embedding carries: the JUMBF description box of a manifest store (its UUID and ``c2pa`` label;
JPEG, PNG, WebP, GIF, TIFF, HEIF, BMFF, RIFF, MP3, FLAC), the PDF file specification of a
manifest (``/AFRelationship /C2PA_Manifest``, ``application/c2pa``), the SVG ``c2pa:manifest``
element, and the remote reference c2pa follows (XMP ``dcterms:provenance``).
"""

from __future__ import annotations

import mmap
import re
from pathlib import Path

# "jumd" + the manifest store's JUMBF UUID (63327061-0011-0010-8000-00AA00389B71): c2pa
JUMBF_STORE = b"jumdc2pa\x00\x11\x00\x10\x80\x00\x00\xaa\x00\x38\x9b\x71"
_MARKERS = (JUMBF_STORE, b"C2PA_Manifest", b"application#2Fc2pa", b"application/c2pa", b"c2pa:manifest")
_REMOTE = b"dcterms:provenance"
_URL = re.compile(r"(?:from url |\b)(?P<url>[a-zA-Z][a-zA-Z0-9+.-]*://\S+)")
URL_MAX = 2048


def carries_manifest(path: Path) -> bool:
    """True when ``path`` holds manifest bytes or a remote manifest reference."""
    if path.stat().st_size == 0:
        return False
    with path.open("rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as data:
        return any(data.find(marker) >= 0 for marker in (*_MARKERS, _REMOTE))


def remote_url(message: str) -> str | None:
    """The manifest URL in c2pa's "must fetch remote manifests from url …" error, cleaned for a
    report (printable, at most ``URL_MAX`` characters); None if the message names none."""
    found = _URL.search(message)
    if found is None:
        return None
    url = "".join(ch for ch in found.group("url") if ch.isprintable())
    return url[:URL_MAX] or None
