"""Report which machine-readable disclosure layers a file carries (the check endpoint uses it).

Reads bytes, never decodes media, and does not verify anything: a C2PA manifest is reported as
present when its JUMBF description box labelled ``c2pa`` is seen (verification is provenance's
job). XMP is found by its packet wrapper in any container (JPEG APP1, PNG iTXt, WebP, MP4 uuid,
WAV _PMX, ID3 PRIV); property values are read by pattern, in element or attribute form, so no
XML parser ever sees untrusted input.
"""

from __future__ import annotations

import json
import mmap
import re
from pathlib import Path
from xml.sax.saxutils import unescape

from service.labels.model import DetectedLayers

_XMP = re.compile(rb"<(?:[\w-]+:)?xmpmeta[\s>][\s\S]{0,4000000}?</(?:[\w-]+:)?xmpmeta>")
# JUMBF description box: "jumd", 16-byte content-type UUID, 1 toggles byte, then the label.
_C2PA = re.compile(rb"jumd[\s\S]{17}c2pa")
_AIGC_RAW = re.compile(rb'\{\s*"AIGC"\s*:\s*\{[^{}]{0,4000}\}\s*\}')
_CA_FIELDS = {
    "provider": "Provider",
    "system_name": "SystemName",
    "system_version": "SystemVersion",
    "created_at": "CreatedAt",
    "asset_id": "AssetID",
}


def _value(xmp: str, local: str) -> str | None:
    pattern = (
        rf"(?:[\w-]+:)?{local}\s*=\s*\"([^\"]*)\""  # attribute form
        rf"|<(?:[\w-]+:)?{local}\s+rdf:resource=\"([^\"]*)\""  # resource form
        rf"|<(?:[\w-]+:)?{local}(?:\s[^>]*)?>([^<]*)</"  # element form
    )
    match = re.search(pattern, xmp)
    if match is None:
        return None
    raw = next((g for g in match.groups() if g is not None), "")
    return unescape(raw, {"&quot;": '"', "&apos;": "'"}).strip() or None


def _aigc(text: str | None) -> dict[str, str] | None:
    if not text:
        return None
    try:
        data = json.loads(text)
    except ValueError:
        return None
    block = data.get("AIGC") if isinstance(data, dict) else None
    if not isinstance(block, dict):
        return None
    return {str(k): str(v) for k, v in block.items()}


def detect_bytes(data: bytes | mmap.mmap) -> DetectedLayers:
    packets = [m.group(0).decode("utf-8", "replace") for m in _XMP.finditer(data)]
    xmp = "\n".join(packets)
    aigc = _aigc(_value(xmp, "AIGC"))
    if aigc is None:
        raw = _AIGC_RAW.search(data)
        aigc = _aigc(raw.group(0).decode("utf-8", "replace")) if raw else None
    ca = {key: v for key, local in _CA_FIELDS.items() if (v := _value(xmp, local)) is not None}
    return DetectedLayers(
        xmp=bool(packets),
        digital_source_type=_value(xmp, "DigitalSourceType"),
        ai_system=_value(xmp, "AISystemUsed"),
        ai_system_version=_value(xmp, "AISystemVersionUsed"),
        aigc=aigc,
        ca_latent=ca or None,
        c2pa_manifest=_C2PA.search(data) is not None,
    )


def detect(path: Path) -> DetectedLayers:
    """The metadata layers ``path`` carries. Reads through a memory map (no copy of large files)."""
    with path.open("rb") as fh:
        if fh.seek(0, 2) == 0:
            return detect_bytes(b"")
        with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
            return detect_bytes(mapped)
