"""Label then sign: a labelled, signed file verifies as Trusted and carries every disclosure layer."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from PIL import Image

from service.labels import detect
from service.provenance.certs import init_signing
from service.settings import Settings
from tests.media import helpers
from tests.vigil_cli import vigil as run_vigil

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def settings(settings: Settings) -> Settings:
    init_signing(settings.keys_dir, "Acme Memorials")
    return settings


def vigil(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return run_vigil(settings.data_dir, str(settings.database_url), *args)


def test_sign_with_a_profile_labels_first_and_verifies_trusted(settings, tmp_path):
    src = tmp_path / "farewell.jpg"
    src.write_bytes(helpers.jpeg_bytes(helpers.photo(1024, 768)))
    out = tmp_path / "signed.jpg"
    signed = vigil(settings, "sign", str(src), str(out), "--profile", "eu", "--locale", "uk")
    assert signed.returncode == 0, signed.stderr
    layers = detect(out)
    assert layers.c2pa_manifest
    assert layers.digital_source_type is not None
    assert layers.digital_source_type.endswith("trainedAlgorithmicMedia")
    # The mark is burned top-right: that corner changed, the opposite one did not.
    before, after = Image.open(src).convert("RGB"), Image.open(out).convert("RGB")
    w, h = before.size
    corner = (int(w * 0.8), 0, w, int(h * 0.12))
    far = (0, int(h * 0.85), int(w * 0.2), h)

    def diff(box: tuple[int, int, int, int]) -> int:
        pairs = zip(before.crop(box).tobytes(), after.crop(box).tobytes(), strict=True)
        return sum(abs(a - b) for a, b in pairs)

    assert diff(corner) > 50 * diff(far) + 1000
    verified = vigil(settings, "verify", str(out), "--json")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert '"state": "trusted"' in verified.stdout
    assert '"ai_generated": true' in verified.stdout


def test_an_unknown_profile_lists_the_profiles_and_writes_nothing(settings, tmp_path):
    src = tmp_path / "farewell.jpg"
    src.write_bytes(helpers.jpeg_bytes())
    out = tmp_path / "signed.jpg"
    result = vigil(settings, "sign", str(src), str(out), "--profile", "mars")
    assert result.returncode == 4
    assert "cn" in result.stderr
    assert "us-ca" in result.stderr
    assert not out.exists()
