"""Documents (PDF, SVG) and DASH initialisation segments at intake: recognised by their bytes
only, taken where their provenance is read, refused elsewhere; the 415 lists exactly the table
that refused the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.errors import MediaRejected, UnsupportedMediaType
from service.media import MediaLimits, sniff
from service.media.intake import detect, inspect, iter_frames, supported_list
from service.media.sniff import CHECKABLE, KNOWN, PDF, PROVENANCE, SUPPORTED, SVG, xml_root
from service.vocabulary import MediaKind

DATA = Path(__file__).parents[1] / "provenance" / "data"
LIMITS = MediaLimits(
    max_bytes=50_000_000, max_pixels=40_000_000, max_side=16_384, max_seconds=60, max_frames=5000
)
PDF_BYTES = b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"


@pytest.mark.parametrize(
    ("head", "root"),
    [
        (b'<svg xmlns="http://www.w3.org/2000/svg"/>', b"svg"),
        (b'\xef\xbb\xbf<?xml version="1.0"?>\n<!-- made by hand -->\n<svg>', b"svg"),
        (b'<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "svg11.dtd"><svg>', b"svg"),
        (b'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY a "&b;">]><svg:svg>', b"svg:svg"),
        (b"<!DOCTYPE html><html>", b"html"),
        (b"<!-- never closed", None),
        (b"plain text", None),
    ],
)
def test_the_xml_root_is_found_by_bytes_alone(head: bytes, root: bytes | None) -> None:
    assert xml_root(head) == root


def test_documents_are_named_by_default_and_taken_by_their_tables() -> None:
    svg = (DATA / "sample1.svg").read_bytes()[:4096]
    assert sniff(PDF_BYTES) == "pdf"  # media intake: named in the 415, not taken
    assert sniff(svg) == "svg"
    assert sniff(PDF_BYTES, CHECKABLE) is PDF
    assert sniff(svg, PROVENANCE) is SVG
    assert sniff(b"<html><body>hi</body></html>", PROVENANCE) == "html/xml"
    assert PDF.kind is SVG.kind is MediaKind.DOCUMENT


def test_each_table_is_cut_from_the_one_the_sniffer_knows() -> None:
    assert set(SUPPORTED) <= set(KNOWN)
    assert set(CHECKABLE) <= set(KNOWN)
    assert set(PROVENANCE) <= set(KNOWN)
    assert PDF not in SUPPORTED
    assert SVG not in SUPPORTED
    assert "webm" not in {t.name for t in PROVENANCE}


@pytest.mark.parametrize("table", [SUPPORTED, CHECKABLE, PROVENANCE], ids=["media", "check", "verify"])
def test_the_415_lists_exactly_the_refusing_table(tmp_path: Path, table: tuple) -> None:  # type: ignore[type-arg]
    path = tmp_path / "archive.zip"
    path.write_bytes(b"PK\x03\x04" + b"\x00" * 60)
    with pytest.raises(UnsupportedMediaType) as caught:
        detect(path, table)
    assert caught.value.details == {"detected": "zip", "supported": [t.name for t in table]}
    assert caught.value.message.endswith(f"{supported_list(table)}.")
    listed = caught.value.message.rsplit(" in " if table is PROVENANCE else " takes ", 1)[1].rstrip(".")
    shown = {t.name.upper() if len(t.name) <= 4 else t.name: t for t in KNOWN}
    assert [shown[name] for name in listed.split(", ")] == list(table)


def test_a_pdf_is_taken_for_provenance_without_being_parsed(tmp_path: Path) -> None:
    path = tmp_path / "letter.pdf"
    path.write_bytes(PDF_BYTES)
    info = inspect(path, LIMITS, accept=CHECKABLE)
    assert (info.type, info.kind, info.width, info.frame_count) == (PDF, MediaKind.DOCUMENT, None, None)
    assert list(iter_frames(info, limits=LIMITS)) == []  # never rasterised
    with pytest.raises(UnsupportedMediaType):
        inspect(path, LIMITS)  # media endpoints do not take documents


def test_a_truncated_pdf_is_422(tmp_path: Path) -> None:
    path = tmp_path / "truncated.pdf"
    path.write_bytes(PDF_BYTES[:-8])
    with pytest.raises(MediaRejected, match="%%EOF"):
        inspect(path, LIMITS, accept=PROVENANCE)


def test_an_svg_is_taken_by_its_bytes(tmp_path: Path) -> None:
    info = inspect(DATA / "sample1.svg", LIMITS, accept=PROVENANCE)
    assert info.type is SVG
    hostile = tmp_path / "entities.svg"
    hostile.write_bytes(
        b'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY x SYSTEM "file:///etc/passwd">]><svg>&x;</svg>'
    )
    assert inspect(hostile, LIMITS, accept=PROVENANCE).type is SVG  # recognised, never resolved


def test_an_init_segment_is_taken_only_for_verification() -> None:
    with pytest.raises(MediaRejected, match="initialisation segment"):
        inspect(DATA / "dashinit.mp4", LIMITS, accept=PROVENANCE)
    info = inspect(DATA / "dashinit.mp4", LIMITS, accept=PROVENANCE, init_segments=True)
    assert info.init_segment
    assert info.kind is MediaKind.VIDEO
    assert list(iter_frames(info, limits=LIMITS)) == []


def test_a_media_segment_alone_is_not_a_supported_file(tmp_path: Path) -> None:
    with pytest.raises(UnsupportedMediaType):
        inspect(DATA / "dash1.m4s", LIMITS, accept=PROVENANCE, init_segments=True)
