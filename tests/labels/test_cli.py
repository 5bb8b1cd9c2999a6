"""``vigil label`` as a user runs it: OK line, one JSON object, documented exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.labels.helpers import REPO, noise_image


def _vigil(*args: str, tmp: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "service", "--data-dir", str(tmp / "vigil"), *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_label_prints_one_json_object(tmp_path: Path) -> None:
    src = noise_image(tmp_path / "in.png", 800, 600)
    out = tmp_path / "out.png"
    done = _vigil("label", str(src), str(out), "--profile", "cn", "--json", tmp=tmp_path)
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["profile"] == "cn"
    assert data["locale"] == "zh"
    assert data["text"] == "人工智能生成"
    assert data["marks"][0]["kind"] == "label"
    assert data["layers"] == ["digital_source_type", "ai_system", "aigc"]
    assert out.is_file()


def test_unknown_profile_fails_listing_the_profiles(tmp_path: Path) -> None:
    src = noise_image(tmp_path / "in.png", 800, 600)
    done = _vigil("label", str(src), str(tmp_path / "o.png"), "--profile", "mars", tmp=tmp_path)
    assert done.returncode == 4
    assert "FAIL: No market profile 'mars'; known profiles: cn, default, eu, us-ca." in done.stderr


def test_too_small_image_fails_and_writes_nothing(tmp_path: Path) -> None:
    src = noise_image(tmp_path / "in.png", 60, 40)
    out = tmp_path / "o.png"
    done = _vigil("label", str(src), str(out), "--profile", "eu", "--locale", "ru", tmp=tmp_path)
    assert done.returncode == 4
    assert done.stderr.startswith("FAIL: A 60×40 picture is too small")
    assert not out.exists()
