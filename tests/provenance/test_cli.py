"""``vigil keys init-signing``, ``vigil sign`` and ``vigil verify`` as a user runs them."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

from tests.provenance.conftest import save_image
from tests.provenance.test_formats import DATA
from tests.vigil_cli import ROOT, vigil


def test_init_sign_verify_round_trip(tmp_path: Path, database_url: str) -> None:
    data = tmp_path / "inst"
    made = vigil(data, database_url, "keys", "init-signing", "--org", "Acme Memorials")
    assert made.returncode == 0, made.stderr
    assert made.stdout.startswith("OK:")
    key = data / "keys" / "signing-key.pem"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert stat.S_IMODE((data / "keys" / "ca-key.pem").stat().st_mode) == 0o600
    again = vigil(data, database_url, "keys", "init-signing", "--org", "Acme Memorials")
    assert again.returncode == 5  # refuses to overwrite keys

    src = save_image(tmp_path / "in.jpg", 60, "JPEG")
    out = tmp_path / "out.jpg"
    signed = vigil(data, database_url, "sign", str(src), str(out))
    assert signed.returncode == 0, signed.stderr
    assert signed.stdout.startswith("OK: signed")

    ok = vigil(data, database_url, "verify", str(out))
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.startswith("OK:")
    assert "trusted" in ok.stdout

    report = json.loads(vigil(data, database_url, "verify", "--json", str(out)).stdout)
    assert report["state"] == "trusted"
    assert report["asset_id"] is None or isinstance(report["asset_id"], str)
    assert isinstance(report["log_index"], int)

    tampered = tmp_path / "signed_then_pixel_flipped.jpg"
    raw = bytearray(out.read_bytes())
    raw[-200] ^= 0x01
    tampered.write_bytes(bytes(raw))
    bad = vigil(data, database_url, "verify", str(tampered))
    assert bad.returncode == 1
    assert bad.stdout.startswith("FAIL:")
    assert "assertion.dataHash.mismatch" in bad.stdout


def test_verify_with_only_a_trust_file(tmp_path: Path, database_url: str) -> None:
    """An auditor with a file and the CA certificate only (no instance of their own)."""
    signer_dir = tmp_path / "signer"
    assert vigil(signer_dir, database_url, "keys", "init-signing", "--org", "Acme").returncode == 0
    src = save_image(tmp_path / "in.png", 61, "PNG")
    assert vigil(signer_dir, database_url, "sign", str(src), str(tmp_path / "out.png")).returncode == 0
    env = {**os.environ, "VIGIL_DATA_DIR": str(tmp_path / "auditor")}
    env.pop("DATABASE_URL", None)
    run = [sys.executable, "-m", "service", "verify", "--json", str(tmp_path / "out.png")]
    untrusted = subprocess.run(run, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert untrusted.returncode == 1
    assert json.loads(untrusted.stdout)["state"] == "valid"
    plain = subprocess.run(run[:4] + run[5:], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert plain.stdout.startswith("NOT TRUSTED: ")  # intact but vouched for by no list: not "invalid"
    assert "intact and unaltered" in plain.stdout
    trusted = subprocess.run(
        [*run, "--trust", str(signer_dir / "keys" / "ca.pem")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert trusted.returncode == 0, trusted.stderr
    assert json.loads(trusted.stdout)["trust_list"] == "operator:ca"
    named = subprocess.run(
        [*run[:4], *run[5:], "--trust", str(signer_dir / "keys" / "ca.pem")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert named.stdout.startswith("OK: ")
    assert "trusted by operator:ca" in named.stdout


def test_verify_refuses_unsupported_file(tmp_path: Path, database_url: str) -> None:
    archive = tmp_path / "photos.zip"
    archive.write_bytes(b"PK\x03\x04" + b"0" * 100)
    r = vigil(tmp_path / "inst", database_url, "verify", str(archive))
    assert r.returncode == 4
    assert "FAIL:" in r.stderr
    assert "PDF, SVG" in r.stderr


def _auditor(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``vigil verify`` with no instance of its own (no repository, no database)."""
    env = {**os.environ, "VIGIL_DATA_DIR": str(tmp_path / "auditor")}
    env.pop("DATABASE_URL", None)
    run = [sys.executable, "-m", "service", "verify", *args]
    return subprocess.run(run, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)


def test_verify_names_a_remote_manifest_and_checks_dash_segments(tmp_path: Path) -> None:
    remote = _auditor(tmp_path, str(DATA / "cloud.jpg"))
    assert remote.returncode == 1
    assert remote.stdout.startswith("FAIL:")
    assert "https://cai-manifests.adobe.com/manifests/" in remote.stdout
    assert "manifest.inaccessible" in remote.stdout
    dash = _auditor(tmp_path, "--json", str(DATA / "dashinit.mp4"), "--segment", str(DATA / "dash1.m4s"))
    assert dash.returncode == 1, dash.stderr  # intact, but signed by a test certificate nobody trusts
    assert json.loads(dash.stdout)["state"] == "valid"
