"""Machine-readable disclosure written before signing: one XMP packet, and where it goes per format.

The packet carries
- ``Iptc4xmpExt:DigitalSourceType`` with the full IPTC NewsCodes URI (IPTC Photo Metadata 2023+);
- ``Iptc4xmpExt:AISystemUsed`` / ``AISystemVersionUsed`` (IPTC Photo Metadata 2025.1);
- the China implicit label: the ``AIGC`` JSON block of GB 45438-2025 Annex E
  (``{"AIGC": {"Label": "1", "ContentProducer": ..., ...}}``) as ``TC260:AIGC``;
- the California SB 942 latent disclosure (provider, system name and version, time of creation,
  unique id) as ``vigilai:*`` properties, plus ``xmp:CreateDate`` and ``xmpMM:DocumentID``.
Containers: JPEG APP1 and WebP XMP chunk (through Pillow), PNG iTXt ``XML:com.adobe.xmp``, MP4 a
top-level ``uuid`` box (the XMP UUID), WAV a ``_PMX`` chunk, MP3 an ID3v2 ``PRIV`` frame owned
by ``XMP``. All of them are read back by ExifTool, which the tests use as the independent reader.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path
from xml.sax.saxutils import escape

from service.labels.model import Disclosure, MetadataLayer

NS_IPTC_EXT = "http://iptc.org/std/Iptc4xmpExt/2008-02-29/"
NS_TC260 = "http://www.tc260.org.cn/ns/AIGC/1.0/"
NS_VIGIL = "https://vigil.invalid/ns/disclosure/1.0/"
XMP_UUID = bytes.fromhex("BE7ACFCB97A942E89C71999491E3AFAC")  # XMP spec part 3, §1.2.7 (MP4)


def aigc_block(d: Disclosure) -> dict[str, dict[str, str]]:
    """GB 45438-2025 Annex E implicit label, keys in the order the standard lists them."""
    return {
        "AIGC": {
            "Label": d.aigc_label,
            "ContentProducer": d.content_producer or d.provider,
            "ProduceID": d.produce_id or d.asset_id,
            "ReservedCode1": d.reserved_code1,
            "ContentPropagator": d.content_propagator,
            "PropagateID": d.propagate_id,
            "ReservedCode2": d.reserved_code2,
        }
    }


def build_xmp(d: Disclosure, layers: tuple[MetadataLayer, ...]) -> bytes:
    """An XMP packet (UTF-8, with padding so tools can edit in place) for the chosen layers."""
    props: list[str] = []

    def prop(name: str, value: str) -> None:
        props.append(f"   <{name}>{escape(value)}</{name}>")

    if MetadataLayer.DIGITAL_SOURCE_TYPE in layers:
        prop("Iptc4xmpExt:DigitalSourceType", d.digital_source_type)
    if MetadataLayer.AI_SYSTEM in layers:
        prop("Iptc4xmpExt:AISystemUsed", d.system_name)
        prop("Iptc4xmpExt:AISystemVersionUsed", d.system_version)
    if MetadataLayer.AIGC in layers:
        prop("TC260:AIGC", json.dumps(aigc_block(d), ensure_ascii=False, separators=(",", ":")))
    if MetadataLayer.CA_LATENT in layers:
        prop("vigilai:Provider", d.provider)
        prop("vigilai:SystemName", d.system_name)
        prop("vigilai:SystemVersion", d.system_version)
        prop("vigilai:CreatedAt", d.created_at.isoformat())
        prop("vigilai:AssetID", d.asset_id)
    prop("xmp:CreateDate", d.created_at.isoformat())
    prop("xmpMM:DocumentID", f"urn:vigil:asset:{d.asset_id}")
    body = "\n".join(props)
    text = (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="Vigil">\n'
        ' <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">\n'
        '  <rdf:Description rdf:about=""\n'
        f'    xmlns:Iptc4xmpExt="{NS_IPTC_EXT}"\n'
        f'    xmlns:TC260="{NS_TC260}"\n'
        f'    xmlns:vigilai="{NS_VIGIL}"\n'
        '    xmlns:xmp="http://ns.adobe.com/xap/1.0/"\n'
        '    xmlns:xmpMM="http://ns.adobe.com/xap/1.0/mm/">\n'
        f"{body}\n"
        "  </rdf:Description>\n"
        " </rdf:RDF>\n"
        "</x:xmpmeta>\n" + " " * 512 + '\n<?xpacket end="w"?>'
    )
    return text.encode("utf-8")


def append_mp4_uuid(path: Path, packet: bytes) -> None:
    """Append a top-level XMP ``uuid`` box; appending moves no sample offsets."""
    with path.open("ab") as fh:
        fh.write(struct.pack(">I4s", 8 + 16 + len(packet), b"uuid") + XMP_UUID + packet)


def append_wav_chunk(path: Path, packet: bytes) -> None:
    """Append a RIFF ``_PMX`` chunk (XMP in WAV) and fix the RIFF size."""
    with path.open("r+b") as fh:
        head = fh.read(12)
        if head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            raise ValueError("not a RIFF/WAVE file")
        fh.seek(0, 2)
        end = fh.tell()
        if end % 2:
            fh.write(b"\x00")
            end += 1
        fh.write(b"_PMX" + struct.pack("<I", len(packet)) + packet + (b"\x00" if len(packet) % 2 else b""))
        fh.seek(4)
        fh.write(struct.pack("<I", fh.seek(0, 2) - 8))


def _syncsafe(n: int) -> bytes:
    return bytes(((n >> 21) & 0x7F, (n >> 14) & 0x7F, (n >> 7) & 0x7F, n & 0x7F))


def prepend_id3_xmp(path: Path, packet: bytes) -> None:
    """Put an ID3v2.4 tag with a ``PRIV`` frame (owner ``XMP``) in front of an MP3 without one."""
    payload = b"XMP\x00" + packet
    frame = b"PRIV" + _syncsafe(len(payload)) + b"\x00\x00" + payload
    tag = b"ID3\x04\x00\x00" + _syncsafe(len(frame)) + frame
    data = path.read_bytes()
    path.write_bytes(tag + data)
