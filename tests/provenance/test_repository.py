"""The manifest repository: signed assets recorded and logged; stripped copies recovered."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from PIL import Image

from service.provenance import ProvenanceState, SignSpec
from service.services import Services
from service.vocabulary import SourceType
from tests.provenance.conftest import make_video, picture, reencode_video, save_image


def _sign(services: Services, src: Path, dst: Path, asset_id: str) -> int:
    spec = SignSpec(source_type=SourceType.TRAINED_ALGORITHMIC_MEDIA, asset_id=asset_id)
    with services.db.system() as conn:
        signed = services.notary.sign_and_record(conn, src, dst, spec, limits=services.limits)
    assert signed.log_index is not None
    return signed.log_index


def _verify(services: Services, path: Path):  # type: ignore[no-untyped-def]
    with services.db.system() as conn:
        return services.notary.verify(conn, path, limits=services.limits)


def test_signed_asset_is_logged_and_reported_with_its_index(services: Services, tmp_path: Path) -> None:
    index = _sign(services, save_image(tmp_path / "in.jpg", 10, "JPEG"), tmp_path / "out.jpg", "asset-10")
    report = _verify(services, tmp_path / "out.jpg")
    assert report.state is ProvenanceState.TRUSTED
    assert report.asset_id == "asset-10"
    assert report.log_index == index
    assert report.signed_at is not None
    with services.db.system() as conn:
        event = conn.execute("SELECT event FROM audit_entries WHERE idx = %s", (index,)).fetchone()
    assert event is not None
    assert event[0] == "asset.signed"


def _jpeg_q70(src: Path, dst: Path) -> Path:
    Image.open(src).convert("RGB").save(dst, "JPEG", quality=70)
    return dst


def _half(src: Path, dst: Path) -> Path:
    img = Image.open(src).convert("RGB")
    img.resize((img.width // 2, img.height // 2), Image.Resampling.BILINEAR).save(dst, "JPEG", quality=85)
    return dst


@pytest.mark.parametrize(
    ("case", "fmt", "strip"),
    [
        ("signed_then_recompressed_q70", "JPEG", _jpeg_q70),
        ("signed_then_resized_half", "JPEG", _half),
        ("signed_png_then_jpeg", "PNG", _jpeg_q70),
    ],
)
def test_stripped_image_is_recovered_by_fingerprint(
    services: Services, tmp_path: Path, case: str, fmt: str, strip: object
) -> None:
    # Other signed assets in the repository must not be what is found.
    for seed in (20, 21):
        _sign(
            services,
            save_image(tmp_path / f"o{seed}.png", seed, "PNG"),
            tmp_path / f"so{seed}.png",
            f"o-{seed}",
        )
    src = save_image(tmp_path / f"in.{fmt.lower()}", 11, fmt)
    index = _sign(services, src, tmp_path / f"signed.{fmt.lower()}", "asset-11")
    stripped = strip(tmp_path / f"signed.{fmt.lower()}", tmp_path / f"{case}.jpg")  # type: ignore[operator]
    assert b"c2pa" not in stripped.read_bytes()
    report = _verify(services, stripped)
    assert report.state is ProvenanceState.ABSENT
    assert report.recovered_by == "fingerprint"
    assert report.asset_id == "asset-11"
    assert report.log_index == index
    assert report.fingerprint_distance is not None
    assert report.fingerprint_distance <= 31
    assert report.ai_generated is True
    assert report.signer is not None
    assert report.signer.issuer == "Acme Memorials"
    # What was checked on these bytes stays apart from what the repository holds about the original.
    assert [c.code for c in report.codes] == ["vigil.recovered.fingerprint"]
    assert f"PDQ distance {report.fingerprint_distance}" in report.codes[0].explanation
    assert report.sha256 == hashlib.sha256(stripped.read_bytes()).hexdigest()
    assert report.original is not None
    assert report.original.state is ProvenanceState.TRUSTED
    signed_bytes = (tmp_path / f"signed.{fmt.lower()}").read_bytes()
    assert report.original.sha256 == hashlib.sha256(signed_bytes).hexdigest()
    assert "assertion.dataHash.match" in {c.code for c in report.original.codes}
    assert report.to_dict()["original"]["state"] == "trusted"


def test_reencoded_video_is_recovered_by_fingerprint(services: Services, tmp_path: Path) -> None:
    _sign(services, make_video(tmp_path / "other.mp4", 40), tmp_path / "signed_other.mp4", "video-other")
    index = _sign(services, make_video(tmp_path / "in.mp4", 30), tmp_path / "signed.mp4", "video-30")
    stripped = reencode_video(tmp_path / "signed.mp4", tmp_path / "signed_then_reencoded.mp4")
    report = _verify(services, stripped)
    assert report.state is ProvenanceState.ABSENT
    assert report.recovered_by == "fingerprint"
    assert report.asset_id == "video-30"
    assert report.log_index == index


def test_unrelated_image_is_absent_without_recovery(services: Services, tmp_path: Path) -> None:
    _sign(services, save_image(tmp_path / "in.jpg", 12, "JPEG"), tmp_path / "out.jpg", "asset-12")
    other = tmp_path / "unrelated.jpg"
    picture(99).save(other, "JPEG")
    report = _verify(services, other)
    assert report.state is ProvenanceState.ABSENT
    assert report.recovered_by is None
    assert report.asset_id is None
