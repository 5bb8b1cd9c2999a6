"""Run the ``vigil`` command as a user does: a real process against a test instance."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def vigil(data_dir: Path, database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    """``vigil ARGS`` with the instance at ``data_dir`` on the database at ``database_url``."""
    env = {
        **os.environ,
        "VIGIL_DATA_DIR": str(data_dir),
        "DATABASE_URL": database_url,
        "VIGIL_LOG_JSON": "false",
    }
    return subprocess.run(
        [sys.executable, "-m", "service", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
