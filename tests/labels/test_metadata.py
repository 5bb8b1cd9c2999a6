"""Machine-readable layers are written before signing, and an independent reader (ExifTool) finds them.

The last test signs a labelled file with c2pa-python and checks it verifies as Trusted: the
labels come before the signature, so the manifest's hard binding covers them.
"""

from __future__ import annotations

import json
from pathlib import Path

import c2pa
import pytest

from service.labels import detect, label_file, load_profiles
from service.vocabulary import SourceType
from tests.labels.helpers import DISCLOSURE, MARKETS, exiftool, noise_image, signing_pair, video, wav

PROFILES = load_profiles(MARKETS)


def _source(tmp: Path, ext: str) -> Path:
    if ext in ("jpg", "png", "webp"):
        fmt = {"jpg": "JPEG", "png": "PNG", "webp": "WEBP"}[ext]
        return noise_image(tmp / f"src.{ext}", 640, 480, format=fmt)
    if ext == "mp4":
        return video(tmp / "src.mp4", seconds=1.0)
    return wav(tmp / f"src.{ext}")


@pytest.mark.tool("exiftool")
@pytest.mark.parametrize("ext", ["jpg", "png", "webp", "mp4", "wav", "mp3"])
@pytest.mark.parametrize("market", ["cn", "us-ca"])
def test_exiftool_finds_every_layer_the_profile_lists(tmp_path: Path, ext: str, market: str) -> None:
    dst = tmp_path / f"out.{'mp4' if ext == 'mp4' else ext}"
    label_file(_source(tmp_path, ext), dst, PROFILES[market], locale="en", disclosure=DISCLOSURE)
    tags = exiftool(dst)
    assert tags["XMP-iptcExt:DigitalSourceType"] == SourceType.TRAINED_ALGORITHMIC_MEDIA.value
    assert tags["XMP-iptcExt:AISystemUsed"] == "vigil-compositor"
    assert str(tags["XMP-iptcExt:AISystemVersionUsed"]) == "0.1.0"
    if market == "cn":
        block = json.loads(str(tags["XMP-TC260:Aigc"]))["AIGC"]
        assert block["Label"] == "1"
        assert block["ContentProducer"] == "studio-0001"
        assert block["ProduceID"] == "gen-0001"
        assert set(block) == {
            "Label", "ContentProducer", "ProduceID", "ReservedCode1",
            "ContentPropagator", "PropagateID", "ReservedCode2",
        }  # fmt: skip
        assert not any(k.startswith("XMP-vigilai:") for k in tags)
    else:
        assert tags["XMP-vigilai:Provider"] == "Vigil Test Provider"
        assert tags["XMP-vigilai:SystemName"] == "vigil-compositor"
        assert str(tags["XMP-vigilai:SystemVersion"]) == "0.1.0"
        assert str(tags["XMP-vigilai:CreatedAt"]).startswith("2026:11:24 03:00:00")
        assert tags["XMP-vigilai:AssetID"] == DISCLOSURE.asset_id
        assert "XMP-TC260:Aigc" not in tags


def test_detect_reports_the_layers_of_a_labelled_file(tmp_path: Path) -> None:
    dst = tmp_path / "out.jpg"
    label_file(_source(tmp_path, "jpg"), dst, PROFILES["cn"], locale="zh", disclosure=DISCLOSURE)
    found = detect(dst)
    assert found.xmp
    assert found.digital_source_type == SourceType.TRAINED_ALGORITHMIC_MEDIA.value
    assert (found.ai_system, found.ai_system_version) == ("vigil-compositor", "0.1.0")
    assert found.aigc is not None
    assert found.aigc["Label"] == "1"
    assert found.ca_latent is None
    assert found.ai_generated is True
    assert found.c2pa_manifest is False


def test_detect_on_an_unlabelled_file_finds_nothing(tmp_path: Path) -> None:
    found = detect(noise_image(tmp_path / "plain.jpg", 64, 64))
    assert (found.xmp, found.digital_source_type, found.aigc, found.ca_latent) == (False, None, None, None)
    assert found.ai_generated is False
    assert found.c2pa_manifest is False


@pytest.mark.tool("exiftool")
@pytest.mark.parametrize(("ext", "mime"), [("jpg", "image/jpeg"), ("mp4", "video/mp4")])
def test_labelled_then_signed_verifies_as_trusted(tmp_path: Path, ext: str, mime: str) -> None:
    labelled = tmp_path / f"labelled.{ext}"
    label_file(_source(tmp_path, ext), labelled, PROFILES["us-ca"], locale="en", disclosure=DISCLOSURE)
    chain, key, ca = signing_pair()
    settings = {"builder": {"thumbnail": {"enabled": False}}, "trust": {"user_anchors": ca.decode()}}
    ctx = c2pa.Context(c2pa.Settings.from_json(json.dumps(settings)))
    signer = c2pa.Signer.from_info(c2pa.C2paSignerInfo(c2pa.C2paSigningAlg.ES256, chain, key, None))
    manifest = {
        "claim_generator_info": [{"name": "vigil-test", "version": "0.1.0"}],
        "assertions": [
            {
                "label": "c2pa.actions.v2",
                "data": {
                    "actions": [
                        {
                            "action": "c2pa.created",
                            "digitalSourceType": SourceType.TRAINED_ALGORITHMIC_MEDIA.value,
                        }
                    ]
                },
            }
        ],
    }
    signed = tmp_path / f"signed.{ext}"
    with labelled.open("rb") as src, signed.open("w+b") as dst:
        c2pa.Builder(manifest, context=ctx).sign(signer, mime, src, dst)
    with signed.open("rb") as fh:
        assert c2pa.Reader(mime, fh, context=ctx).get_validation_state() == "Trusted"
    found = detect(signed)
    assert found.c2pa_manifest is True
    assert found.digital_source_type == SourceType.TRAINED_ALGORITHMIC_MEDIA.value
    assert found.ca_latent is not None
    assert found.ca_latent["asset_id"] == DISCLOSURE.asset_id
    assert exiftool(signed)["XMP-iptcExt:DigitalSourceType"] == SourceType.TRAINED_ALGORITHMIC_MEDIA.value
