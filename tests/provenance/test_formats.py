"""Formats beyond pictures, video and audio, and the files that used to be misreported.

PDF and SVG are verified (signed here from public fixtures, tests/provenance/data/SOURCE.md), a
fragmented MP4 and a DASH initialisation segment (with and without its media segment), a JPEG
that points to a remote manifest, and a WAV c2pa cannot walk. Real c2pa, real keys, no database.
"""

from __future__ import annotations

import io
import json
import shutil
import time
from pathlib import Path

import av
import c2pa
import pytest

from service.errors import MediaRejected, UnsupportedMediaType
from service.media.sniff import PROVENANCE, WEBM
from service.provenance import ProvenanceState, SignSpec, sign_file, verify_file
from service.provenance.sign import manifest_definition
from service.provenance.signer import VigilSigner
from service.provenance.trust import TrustStore
from tests.provenance.conftest import make_wav, picture

DATA = Path(__file__).parent / "data"
SPEC = SignSpec(asset_id="doc-1")


def c2pa_sign(src: Path, dst: Path, mime: str, signer: VigilSigner, trust: TrustStore) -> Path:
    """Sign a document with c2pa directly (Vigil signs media only; it verifies documents)."""
    out = io.BytesIO()
    c2pa_signer = signer.c2pa_signer()
    try:
        with c2pa.Builder(json.dumps(manifest_definition(SPEC, mime)), context=trust.context()) as builder:
            builder.sign(c2pa_signer, mime, io.BytesIO(src.read_bytes()), out)
    finally:
        c2pa_signer.close()
    dst.write_bytes(out.getvalue())
    return dst


def codes(report: object, kind: str | None = None) -> set[str]:
    return {c.code for c in report.codes if kind is None or c.kind == kind}  # type: ignore[attr-defined]


def test_provenance_table_is_what_c2pa_reads() -> None:
    readable = set(c2pa.Reader.get_supported_mime_types())
    assert all(t.mime in readable for t in PROVENANCE), [t.mime for t in PROVENANCE if t.mime not in readable]
    assert WEBM.mime not in readable
    assert WEBM not in PROVENANCE
    assert {"pdf", "svg"} <= {t.name for t in PROVENANCE}


@pytest.mark.parametrize(
    ("fixture", "mime"), [("basic.pdf", "application/pdf"), ("sample1.svg", "image/svg+xml")]
)
def test_signed_documents_are_trusted_and_unsigned_ones_absent(
    tmp_path: Path, signer: VigilSigner, trust: TrustStore, fixture: str, mime: str
) -> None:
    assert verify_file(DATA / fixture, trust=trust).state is ProvenanceState.ABSENT
    signed = c2pa_sign(DATA / fixture, tmp_path / f"signed_{fixture}", mime, signer, trust)
    report = verify_file(signed, trust=trust)
    assert report.state is ProvenanceState.TRUSTED
    assert report.signer is not None
    assert report.signer.issuer == "Acme Memorials"
    assert "assertion.dataHash.match" in codes(report, "success")


def test_a_changed_signed_pdf_is_invalid(tmp_path: Path, signer: VigilSigner, trust: TrustStore) -> None:
    signed = c2pa_sign(DATA / "basic.pdf", tmp_path / "signed.pdf", "application/pdf", signer, trust)
    data = bytearray(signed.read_bytes())
    at = data.find(b"stream") + 20  # inside the first content stream, not the manifest
    data[at] ^= 0x01
    changed = tmp_path / "signed_then_one_byte_changed.pdf"
    changed.write_bytes(bytes(data))
    report = verify_file(changed, trust=trust)
    assert report.state is ProvenanceState.INVALID
    assert "assertion.dataHash.mismatch" in codes(report, "failure")
    [match] = [c for c in report.codes if c.code == "assertion.dataHash.match"] or [None]
    assert match is None or match.explanation.startswith("Overridden")


HOSTILE_SVG = {
    "billion_laughs": b'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY a "aaaaaaaaaa">'
    + b"".join(b'<!ENTITY %s "%s">' % (bytes([c]), (b"&%s;" % bytes([c - 1])) * 10) for c in range(98, 108))
    + b']><svg xmlns="http://www.w3.org/2000/svg"><text>&k;</text></svg>',
    "external_entity": b'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
    b'<svg xmlns="http://www.w3.org/2000/svg"><metadata><c2pa:manifest xmlns:c2pa="http://c2pa.org/manifest">'
    b"&x;</c2pa:manifest></metadata></svg>",
}


@pytest.mark.parametrize("case", sorted(HOSTILE_SVG))
def test_hostile_svg_is_never_expanded(tmp_path: Path, trust: TrustStore, case: str) -> None:
    path = tmp_path / f"{case}.svg"
    path.write_bytes(HOSTILE_SVG[case])
    started = time.perf_counter()
    report = verify_file(path, trust=trust)
    assert time.perf_counter() - started < 2.0
    assert report.state in (ProvenanceState.ABSENT, ProvenanceState.INVALID)
    assert "root:" not in json.dumps(report.to_dict())  # /etc/passwd was not read into the report


def test_a_remote_manifest_reference_is_inaccessible_not_corrupted(trust: TrustStore) -> None:
    report = verify_file(DATA / "cloud.jpg", trust=trust)
    assert report.state is ProvenanceState.ABSENT
    assert report.remote_manifest_url is not None
    assert report.remote_manifest_url.startswith("https://cai-manifests.adobe.com/manifests/")
    assert "manifest.inaccessible" in codes(report, "failure")
    assert "vigil.manifest.unreadable" not in codes(report)
    assert not any("corrupt" in c.explanation for c in report.codes)


def _streamed(wav: Path, dst: Path) -> Path:
    """The WAV a streaming writer leaves: RIFF size 0xFFFFFFFF (length unknown when written)."""
    data = wav.read_bytes()
    dst.write_bytes(data[:4] + b"\xff\xff\xff\xff" + data[8:])
    return dst


def test_a_wav_c2pa_cannot_walk_without_manifest_bytes_is_absent(tmp_path: Path, trust: TrustStore) -> None:
    streamed = _streamed(make_wav(tmp_path / "plain.wav"), tmp_path / "streamed_no_manifest.wav")
    report = verify_file(streamed, trust=trust)
    assert report.state is ProvenanceState.ABSENT
    assert codes(report) == {"vigil.container.unparsed"}
    assert not any("corrupt" in c.explanation for c in report.codes)


def test_a_signed_wav_rewritten_as_streamed_is_still_invalid(
    tmp_path: Path, signer: VigilSigner, trust: TrustStore
) -> None:
    """Manifest bytes are there: the same RIFF header change is a finding, not an absence."""
    signed = sign_file(
        make_wav(tmp_path / "in.wav"), tmp_path / "signed.wav", SPEC, signer=signer, trust=trust
    )
    assert signed.report is not None
    assert signed.report.state is ProvenanceState.TRUSTED
    report = verify_file(
        _streamed(tmp_path / "signed.wav", tmp_path / "signed_then_streamed.wav"), trust=trust
    )
    assert report.state is ProvenanceState.INVALID
    assert "assertion.dataHash.mismatch" in codes(report, "failure")


def _fragmented_mp4(path: Path) -> Path:
    with av.open(str(path), "w", format="mp4", options={"movflags": "frag_keyframe+empty_moov"}) as out:
        stream = out.add_stream("mpeg4", rate=8)
        stream.width, stream.height, stream.pix_fmt = 320, 240, "yuv420p"
        stream.gop_size = 8
        for i in range(24):
            for packet in stream.encode(av.VideoFrame.from_image(picture(i // 8, (320, 240)))):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def test_a_fragmented_mp4_signs_and_verifies(tmp_path: Path, signer: VigilSigner, trust: TrustStore) -> None:
    src = _fragmented_mp4(tmp_path / "fragmented.mp4")
    assert src.read_bytes().count(b"moof") >= 3
    signed = sign_file(src, tmp_path / "signed_fragmented.mp4", SPEC, signer=signer, trust=trust)
    assert signed.report is not None
    assert signed.report.state is ProvenanceState.TRUSTED
    assert "assertion.bmffHash.match" in codes(signed.report, "success")


def test_a_dash_init_segment_alone_is_not_reported_as_changed(trust: TrustStore) -> None:
    report = verify_file(DATA / "dashinit.mp4", trust=trust)
    assert report.state is ProvenanceState.INVALID  # c2pa's state: the content could not be confirmed
    assert "vigil.bmff.segmentsMissing" in codes(report, "failure")
    [bmff] = [c for c in report.codes if c.code == "assertion.bmffHash.mismatch"]
    assert bmff.explanation.startswith("Not checked")
    assert "claimSignature.validated" in codes(report, "success")


def test_a_dash_init_segment_with_its_media_segment_verifies(tmp_path: Path, trust: TrustStore) -> None:
    report = verify_file(DATA / "dashinit.mp4", trust=trust, segments=[DATA / "dash1.m4s"])
    assert report.state is ProvenanceState.VALID  # intact; signed by a test certificate no anchor trusts
    assert {"assertion.bmffHash.match", "vigil.bmff.segments"} <= codes(report, "success")
    changed = bytearray((DATA / "dash1.m4s").read_bytes())
    changed[-500] ^= 0x01
    (tmp_path / "dash1_changed.m4s").write_bytes(bytes(changed))
    bad = verify_file(
        DATA / "dashinit.mp4", trust=trust, segments=[DATA / "dash1.m4s", tmp_path / "dash1_changed.m4s"]
    )
    assert bad.state is ProvenanceState.INVALID
    assert {"assertion.bmffHash.mismatch", "vigil.bmff.segments"} <= codes(bad, "failure")
    assert "segment 2 of 2" in next(c.explanation for c in bad.codes if c.code == "vigil.bmff.segments")


def test_segments_go_only_with_an_init_segment(tmp_path: Path, trust: TrustStore) -> None:
    with pytest.raises(MediaRejected):
        verify_file(DATA / "cloud.jpg", trust=trust, segments=[DATA / "dash1.m4s"])
    not_a_segment = shutil.copy(DATA / "basic.pdf", tmp_path / "not_a_segment.m4s")
    with pytest.raises(UnsupportedMediaType):
        verify_file(DATA / "dashinit.mp4", trust=trust, segments=[Path(not_a_segment)])


def test_webm_is_refused_with_the_provenance_table(tmp_path: Path, trust: TrustStore) -> None:
    path = tmp_path / "clip.webm"
    path.write_bytes(b"\x1a\x45\xdf\xa3" + b"\x00" * 64)
    with pytest.raises(UnsupportedMediaType) as caught:
        verify_file(path, trust=trust)
    assert caught.value.details["supported"] == [t.name for t in PROVENANCE]
    assert "PDF, SVG" in caught.value.message
    assert "WEBM" not in caught.value.message
