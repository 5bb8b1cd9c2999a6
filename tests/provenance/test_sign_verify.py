"""Signing and verifying embedded manifests (real c2pa, real keys; no database)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from service.errors import SigningFailed, UnsupportedMediaType
from service.provenance import (
    ConsentAssertion,
    Ingredient,
    ModerationAssertion,
    ProvenanceState,
    SignSpec,
    sign_file,
    verify_file,
)
from service.provenance.signer import FileKeySigner, VigilSigner
from service.provenance.trust import TrustStore
from service.vocabulary import SourceType
from tests.provenance.conftest import make_mp3, make_video, make_wav, save_image

SPEC = SignSpec(
    source_type=SourceType.COMPOSITE_WITH_TRAINED_ALGORITHMIC_MEDIA,
    software_agent="Vigil test generator 1.0",
    asset_id="asset-1",
    consent=ConsentAssertion(grant_ids=("grant-1",), grant_hashes=("ab" * 32,)),
    moderation=ModerationAssertion("allow", "policy-2026.1", {"clip": "vit-b32@1"}),
    ingredients=(Ingredient(sha256="cd" * 32, mime="image/jpeg"),),
)


@pytest.fixture
def signed_jpeg(tmp_path: Path, signer: VigilSigner, trust: TrustStore) -> Path:
    src = save_image(tmp_path / "family_photo_of_grandpa.jpg", 1, "JPEG", quality=90)
    sign_file(src, tmp_path / "out.jpg", SPEC, signer=signer, trust=trust)
    return tmp_path / "out.jpg"


def test_signed_jpeg_is_trusted_with_every_field(signed_jpeg: Path, trust: TrustStore) -> None:
    report = verify_file(signed_jpeg, trust=trust)
    assert report.state is ProvenanceState.TRUSTED
    assert report.trust_list == "vigil"
    assert report.signer is not None
    assert report.signer.issuer == "Acme Memorials"
    assert report.signer.alg is not None
    assert report.digital_source_type == SourceType.COMPOSITE_WITH_TRAINED_ALGORITHMIC_MEDIA.value
    assert report.ai_generated is True
    assert report.actions[0]["action"] == "c2pa.created"
    assert report.actions[0]["softwareAgent"]["name"] == "Vigil test generator 1.0"
    assert report.assertions["vigil.consent"] == {"grant_ids": ["grant-1"], "grant_hashes": ["ab" * 32]}
    assert report.assertions["vigil.moderation"]["policy_version"] == "policy-2026.1"
    assert report.asset_id == "asset-1"
    assert report.ingredients[0]["relationship"] == "inputTo"
    assert {c.code for c in report.codes} >= {"signingCredential.trusted", "assertion.dataHash.match"}
    assert all(c.explanation for c in report.codes)


def test_manifest_carries_no_thumbnail_and_no_file_name(signed_jpeg: Path) -> None:
    data = signed_jpeg.read_bytes()
    assert b"family_photo" not in data
    assert b"c2pa.thumbnail" not in data
    assert b"vigil.consent" in data


def test_vigil_assertions_are_created_not_gathered(signed_jpeg: Path, trust: TrustStore) -> None:
    import c2pa

    with signed_jpeg.open("rb") as fh, c2pa.Reader("image/jpeg", fh, context=trust.context()) as reader:
        store = json.loads(reader.json())
    manifest = store["manifests"][store["active_manifest"]]
    created = {a["label"]: a.get("created") for a in manifest["assertions"]}
    assert created["vigil.consent"] is True
    assert created["vigil.moderation"] is True


INDEPENDENT_READER = """
import io, json, sys, c2pa
anchor = open(sys.argv[1]).read()
ctx = c2pa.Context(c2pa.Settings.from_dict({"trust": {"trust_anchors": anchor},
                                            "verify": {"remote_manifest_fetch": False}}))
with open(sys.argv[2], "rb") as fh:
    reader = c2pa.Reader("image/jpeg", fh, context=ctx)
    print(reader.get_validation_state())
"""


def test_independent_reader_given_only_the_ca_trusts_it(signed_jpeg: Path, keys: Path) -> None:
    """A fresh process, default c2pa settings (no trust_config), only Vigil's CA as anchor."""
    out = subprocess.run(
        [sys.executable, "-c", INDEPENDENT_READER, str(keys / "ca.pem"), str(signed_jpeg)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert out.stdout.strip() == "Trusted"


def test_one_flipped_pixel_byte_is_invalid_with_hash_mismatch(signed_jpeg: Path, trust: TrustStore) -> None:
    tampered = signed_jpeg.with_name("signed_then_pixel_flipped.jpg")
    data = bytearray(signed_jpeg.read_bytes())
    data[-200] ^= 0x01  # inside the entropy-coded image data, after the manifest
    tampered.write_bytes(bytes(data))
    report = verify_file(tampered, trust=trust)
    assert report.state is ProvenanceState.INVALID
    assert "assertion.dataHash.mismatch" in {c.code for c in report.codes if c.kind == "failure"}


def test_corrupted_jumbf_is_invalid_not_an_error(signed_jpeg: Path, trust: TrustStore) -> None:
    corrupted = signed_jpeg.with_name("signed_then_jumbf_corrupted.jpg")
    data = bytearray(signed_jpeg.read_bytes())
    start = data.find(b"jumb")
    for i in range(start + 200, start + 260):
        data[i] ^= 0xFF
    corrupted.write_bytes(bytes(data))
    report = verify_file(corrupted, trust=trust)
    assert report.state is ProvenanceState.INVALID
    assert report.codes
    assert report.codes[0].kind == "failure"


def test_unsigned_file_is_absent(tmp_path: Path, trust: TrustStore) -> None:
    report = verify_file(save_image(tmp_path / "plain.png", 2, "PNG"), trust=trust)
    assert report.state is ProvenanceState.ABSENT
    assert report.codes == ()


def test_without_anchors_the_best_is_valid(signed_jpeg: Path) -> None:
    report = verify_file(signed_jpeg, trust=TrustStore())
    assert report.state is ProvenanceState.VALID
    assert "signingCredential.untrusted" in {c.code for c in report.codes}


def test_operator_list_is_named_when_it_matched(signed_jpeg: Path, keys: Path) -> None:
    report = verify_file(signed_jpeg, trust=TrustStore.from_pem(operator=[keys / "ca.pem"]))
    assert report.state is ProvenanceState.TRUSTED
    assert report.trust_list == "operator:ca"


@pytest.mark.parametrize(
    ("name", "make"),
    [
        ("png", lambda p: save_image(p, 3, "PNG")),
        ("webp", lambda p: save_image(p, 4, "WEBP", quality=80)),
        ("mp4", lambda p: make_video(p, 5, seconds=1)),
        ("wav", make_wav),
        ("mp3", make_mp3),
    ],
)
def test_each_format_signs_and_verifies_trusted(
    tmp_path: Path, signer: VigilSigner, trust: TrustStore, name: str, make: object
) -> None:
    src = make(tmp_path / f"in.{name}")  # type: ignore[operator]
    signed = sign_file(src, tmp_path / f"out.{name}", SPEC, signer=signer, trust=trust)
    assert signed.report.state is ProvenanceState.TRUSTED
    assert verify_file(tmp_path / f"out.{name}", trust=trust).state is ProvenanceState.TRUSTED


def test_callback_signer_signs_trusted(tmp_path: Path, keys: Path, trust: TrustStore) -> None:
    callback = VigilSigner.from_callback(keys / "signing-chain.pem", FileKeySigner(keys / "signing-key.pem"))
    src = save_image(tmp_path / "in.jpg", 6, "JPEG")
    assert (
        sign_file(src, tmp_path / "out.jpg", SPEC, signer=callback, trust=trust).report.state
        is ProvenanceState.TRUSTED
    )


class BrokenKms:
    def sign(self, data: bytes) -> bytes:
        raise PermissionError("KMS denied kms:Sign for key alias/vigil")


def test_failing_callback_surfaces_its_cause(tmp_path: Path, keys: Path, trust: TrustStore) -> None:
    callback = VigilSigner.from_callback(keys / "signing-chain.pem", BrokenKms())
    src = save_image(tmp_path / "in.jpg", 7, "JPEG")
    with pytest.raises(SigningFailed, match="KMS denied"):
        sign_file(src, tmp_path / "out.jpg", SPEC, signer=callback, trust=trust)
    assert not (tmp_path / "out.jpg").exists()


def test_unsupported_format_is_refused(tmp_path: Path, signer: VigilSigner, trust: TrustStore) -> None:
    archive = tmp_path / "photos.zip"
    archive.write_bytes(b"PK\x03\x04" + b"0" * 100)
    with pytest.raises(UnsupportedMediaType):
        verify_file(archive, trust=trust)
    pdf = tmp_path / "doc.pdf"  # verified (test_formats.py), but Vigil signs media only
    pdf.write_bytes(b"%PDF-1.7\n" + b"0" * 100)
    with pytest.raises(UnsupportedMediaType):
        sign_file(pdf, tmp_path / "out.pdf", SPEC, signer=signer, trust=trust)


def test_large_file_is_streamed_not_read_into_memory(
    tmp_path: Path, signer: VigilSigner, trust: TrustStore
) -> None:
    import tracemalloc
    import wave

    import numpy as np

    from service.provenance.sign import IN_MEMORY_MAX

    big = tmp_path / "big.wav"
    second = (np.sin(np.arange(48_000) / 8) * 9000).astype("<i2").repeat(2).tobytes()
    with wave.open(str(big), "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(48_000)
        for _ in range(IN_MEMORY_MAX // len(second) + 2):
            w.writeframes(second)
    assert big.stat().st_size > IN_MEMORY_MAX
    tracemalloc.start()
    try:
        signed = sign_file(big, tmp_path / "big_signed.wav", SPEC, signer=signer, trust=trust, verify=False)
        _, sign_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        report = verify_file(tmp_path / "big_signed.wav", trust=trust)
        _, verify_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert signed.report is None
    assert report.state is ProvenanceState.TRUSTED
    assert verify_peak < 4 * 1024 * 1024  # read through the stream, never held whole
    # c2pa's RIFF writer hands its output over in one write (one transient copy in c2pa-python's
    # callback); Vigil itself never reads the source into memory on top of that.
    assert sign_peak < 1.2 * big.stat().st_size
