"""docs/quickstart.md, run as written: its shell blocks in one bash, then its Python block, against
a real ``vigil serve`` on a fresh data dir with its own embedded PostgreSQL, as a newcomer would."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFilter

from tests.cli.test_cli import free_port, wait_ready

ROOT = Path(__file__).resolve().parents[1]
QUICKSTART = ROOT / "docs" / "quickstart.md"


def blocks(language: str) -> list[str]:
    text = QUICKSTART.read_text(encoding="utf-8")
    return re.findall(rf"```{language}\n(.*?)```", text, flags=re.S)


def a_photo(path: Path) -> None:
    """A portrait-like photo: a face-coloured oval on a textured background, as a JPEG."""
    picture = Image.effect_noise((900, 1200), 40).convert("RGB")
    draw = ImageDraw.Draw(picture)
    draw.rectangle((0, 700, 900, 1200), fill=(60, 70, 90))
    draw.ellipse((280, 250, 620, 700), fill=(205, 160, 130))
    draw.ellipse((360, 400, 400, 430), fill=(40, 30, 30))
    draw.ellipse((500, 400, 540, 430), fill=(40, 30, 30))
    picture.filter(ImageFilter.GaussianBlur(2)).save(path, quality=90)


def test_the_quickstart_blocks_are_what_this_test_runs():
    shell = blocks("sh")
    assert shell[0].strip().startswith("make run")
    assert "export ADMIN=" in shell[1]
    assert len(blocks("python")) == 1


@pytest.mark.slow
@pytest.mark.tool("curl", "jq")
def test_the_quickstart_runs_as_written_from_an_empty_data_dir(pg_tmp: Path, tmp_path: Path):
    data = pg_tmp / "instance"
    work = tmp_path / "work"
    work.mkdir()
    (work / ".venv").symlink_to(ROOT / ".venv")
    a_photo(work / "photo.jpg")
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update({"VIGIL_DATA_DIR": str(data), "VIGIL_LOG_JSON": "false", "PYTHONPATH": str(ROOT)})
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "service", "serve", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_ready(port, server, limit=150)  # a new data dir converts the text encoder first
        admin = _bootstrap_key(server)
        # Step 1 is `make run` (the server above); step 2's two exports are this server's.
        first, *rest = blocks("sh")[1:]
        first = re.sub(r"^export VIGIL=.*$", f"export VIGIL=http://127.0.0.1:{port}", first, flags=re.M)
        first = re.sub(r"^export ADMIN=.*$", f"export ADMIN={admin}", first, flags=re.M)
        script = "\n".join(f"echo '=== step {i + 1}'\n{block}" for i, block in enumerate([first, *rest]))
        script += "\necho '=== platform'; echo \"$PLATFORM\""  # the reader's shell still has the key
        run = subprocess.run(
            ["bash", "-c", script], cwd=work, env=env, capture_output=True, text=True, timeout=240
        )
        out = run.stdout
        steps = dict(re.findall(r"=== step (\d+)\n(.*?)(?==== |\Z)", out, flags=re.S))
        platform_key = out.rsplit("=== platform\n", 1)[-1].strip()

        assert '"ready"' in steps["1"], out + run.stderr
        assert '"status": "held"' in steps["4"], out + run.stderr
        assert "signal.image_model.not_configured" in steps["4"]
        assert '"released"' in steps["5"], out + run.stderr
        assert (work / "farewell.jpg").read_bytes()[:2] == b"\xff\xd8"
        assert '"label"' in steps["7"], out + run.stderr
        assert '"trusted"' in steps["8"]
        assert '"active"' in steps["8"]
        assert "OK: farewell.jpg trusted" in steps["8"]
        assert "410" in steps["9"]
        assert "CONSENT REVOKED" in steps["9"]

        python = subprocess.run(
            [sys.executable, "-c", blocks("python")[0]],
            cwd=work,
            env={**env, "VIGIL": f"http://127.0.0.1:{port}", "PLATFORM": platform_key},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert python.returncode == 0, python.stderr
        decision, consent = python.stdout.splitlines()
        assert decision.startswith("block")  # the consent was withdrawn in step 9
        assert consent == "revoked"
    finally:
        server.send_signal(signal.SIGINT)
        server.communicate(timeout=60)


def _bootstrap_key(server: subprocess.Popen[str]) -> str:
    assert server.stderr is not None
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        line = server.stderr.readline().strip()
        if line.startswith("vgl_"):
            return line
    raise AssertionError("vigil serve printed no bootstrap admin key")
