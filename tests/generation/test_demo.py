"""``vigil demo`` runs the whole story against an instance and says what happened at each step."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from service.auth import store as auth_store
from service.services import Services

ROOT = Path(__file__).resolve().parents[2]


def test_demo_walks_through_the_story(tmp_path: Path, database_url: str, services: Services) -> None:
    env = {**os.environ, "DATABASE_URL": database_url, "VIGIL_LOG_JSON": "false", "HF_HUB_OFFLINE": "1"}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "service",
            "--data-dir",
            str(tmp_path / "data"),
            "demo",
            "--keep",
            str(tmp_path / "kept"),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    for step in ("1. Consent", "2. Generation", "3. Review", "4. Check", "5. Verification"):
        assert f"== {step}" in out
    assert "generation without a grant: denied" in out
    assert "status held" in out
    assert "→ released" in out
    assert "released file: trusted" in out
    assert "recovered by fingerprint" in out
    assert "verdict: label; required labels ['ai_generated']" in out  # the platform check
    assert "consent status active" in out
    assert "OK: the story ran end to end" in out
    # --keep: the files, and every key and id, to replay a step by hand
    kept_lines = out.split("== Kept for replaying", 1)[1].splitlines()[1:]
    kept = dict(line.strip().split(None, 1) for line in kept_lines if line.strip())
    with services.db.system() as conn:
        studio = auth_store.authenticate(conn, kept["studio"].removeprefix("key "))
        generation = conn.execute(
            "SELECT status FROM generations WHERE id = %s", (kept["generation"],)
        ).fetchone()
    assert studio is not None
    assert studio.role.value == "studio"
    assert generation == ("released",)
    released = tmp_path / "kept" / "farewell.jpg"
    assert kept["released"] == f"file {released}"
    verified = subprocess.run(
        [sys.executable, "-m", "service", "--data-dir", str(tmp_path / "data"), "verify", str(released)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert verified.returncode == 0, verified.stdout + verified.stderr
