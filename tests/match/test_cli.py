"""``vigil bank create|import|export`` against the test database, as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PDQ = "a5" * 32


def _vigil(database_url: str, data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = os.environ | {"DATABASE_URL": database_url, "VIGIL_LOG_JSON": "false"}
    return subprocess.run(
        [sys.executable, "-m", "service", "--data-dir", str(data_dir), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_bank_commands(database_url: str, tmp_path: Path) -> None:
    data = tmp_path / "data"
    created = _vigil(database_url, data, "bank", "create", "posters", "--tenant", "acme", "--json")
    assert created.returncode == 0, created.stderr
    assert json.loads(created.stdout) == {
        "name": "posters",
        "kind": "block",
        "hash_type": "pdq",
        "threshold": 31,
        "system": False,
        "signals": 0,
        "quarantined": 0,
    }

    bad = tmp_path / "bad.csv"
    bad.write_text(f"signal_type,signal,labels\npdq,{PDQ},ok\npdq,{PDQ}00,long\npdq,zz,x\n")
    refused = _vigil(database_url, data, "bank", "import", "posters", str(bad), "--tenant", "acme")
    assert refused.returncode == 4
    # Every bad line is listed, not only the first.
    assert "2 bad line(s); nothing was imported" in refused.stderr
    assert "line 3: a pdq hash has 64 hex digits, got 66" in refused.stderr
    assert "line 4: " in refused.stderr
    as_json = _vigil(database_url, data, "bank", "import", "posters", str(bad), "--tenant", "acme", "--json")
    assert as_json.returncode == 4
    failure = json.loads(as_json.stdout)
    assert (failure["imported"], failure["bad_lines"]) == (False, 2)
    assert [e["line"] for e in failure["errors"]] == [3, 4]

    good = tmp_path / "good.json"
    good.write_text(json.dumps([{"signal_type": "pdq", "signal": PDQ, "labels": ["propaganda"]}]))
    imported = _vigil(database_url, data, "bank", "import", "posters", str(good), "--tenant", "acme")
    assert imported.returncode == 0, imported.stderr
    assert imported.stdout.startswith("OK: 1 signals read, 1 new")

    exported = _vigil(database_url, data, "bank", "export", "posters", "--tenant", "acme")
    assert exported.stdout == f"signal_type,signal,labels\npdq,{PDQ},propaganda\n"
    elsewhere = _vigil(database_url, data, "bank", "export", "posters", "--tenant", "other")
    assert elsewhere.returncode == 4
    assert "No bank 'posters'" in elsewhere.stderr

    system = _vigil(database_url, data, "bank", "create", "revoked-outputs", "--system")
    assert system.returncode == 0, system.stderr
    assert "OK: created block bank revoked-outputs (pdq, threshold 31)" in system.stdout
