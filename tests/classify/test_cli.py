"""`vigil classify text` and `vigil classify train` as a user runs them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"VIGIL_DATA_DIR": str(tmp_path / "data"), "PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1"}
    return subprocess.run(
        [sys.executable, "-m", "service", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_classify_text_prints_one_json_object(tmp_path: Path) -> None:
    done = run(tmp_path, "classify", "text", "Героям слава!")
    assert done.returncode == 0, done.stderr
    body = json.loads(done.stdout)
    assert body["state"] == "ok"
    assert body["review"] is False  # a greeting of both sides never decides alone
    assert body["hits"] == ["both-slava-geroyam"]
    assert set(body["scores"]) == {
        "war_glorification",
        "combatant_martyrdom",
        "extremist_symbols",
        "propaganda_poster",
        "minors_militarised",
        "dehumanisation",
    }


def test_image_training_needs_data_and_a_configured_model(tmp_path: Path) -> None:
    missing = run(tmp_path, "classify", "train", "--kind", "image")
    assert missing.returncode == 4
    assert "--data FILE" in missing.stderr
    data = tmp_path / "labelled.jsonl"
    data.write_text('{"image": "x.png", "labels": []}\n')
    unconfigured = run(tmp_path, "classify", "train", "--kind", "image", "--data", str(data))
    assert unconfigured.returncode == 3
    assert "FAIL: No image model is configured" in unconfigured.stderr
