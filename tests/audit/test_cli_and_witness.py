"""``vigil audit`` from a shell, offline exports, and witness co-signatures."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from service.audit import note
from service.auth import Role
from service.composition import open_services
from service.settings import Settings
from tests.audit import rfc9162
from tests.audit.helpers import fill
from tests.conftest import bearer

ROOT = Path(__file__).resolve().parents[2]


def _vigil(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": str(settings.database_url), "VIGIL_DATA_DIR": str(settings.data_dir)}
    return subprocess.run(
        [sys.executable, "-m", "service", "audit", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_verify_export_and_offline_verify(settings, services, tmp_path):
    fill(services, 120)
    state = tmp_path / "state.json"
    first = _vigil(settings, "verify", "--state", str(state), "--json")
    assert first.returncode == 0, first.stderr
    report = json.loads(first.stdout)
    assert report["passed"] is True
    assert report["size"] == 120
    assert "verifying: 120/120 entries" in first.stderr
    assert "WARNING: no --public-key or --state" in first.stderr  # said, not silently assumed
    assert json.loads(state.read_text())["size"] == 120

    key = json.loads(_vigil(settings, "key").stdout)
    export = tmp_path / "export"
    assert _vigil(settings, "export", str(export)).returncode == 0
    offline = _vigil(
        settings,
        "verify",
        "--export",
        str(export),
        "--public-key",
        key["public_key"],
        "--origin",
        key["origin"],
        "--state",
        str(state),
    )
    assert offline.returncode == 0, offline.stderr
    assert offline.stdout.startswith("OK: ")
    assert "WARNING" not in offline.stderr

    # One byte changed in the exported entries: the offline run names the entry.
    lines = (export / "entries.jsonl").read_text().splitlines()
    entry = json.loads(lines[77])
    data = bytearray(base64.b64decode(entry["data"]))
    data[5] ^= 0x20
    lines[77] = json.dumps({"index": 77, "data": base64.b64encode(bytes(data)).decode()})
    (export / "entries.jsonl").write_text("\n".join(lines) + "\n")
    bad = _vigil(
        settings,
        "verify",
        "--export",
        str(export),
        "--public-key",
        key["public_key"],
        "--origin",
        key["origin"],
    )
    assert bad.returncode == 1
    assert "FAIL: modified at index 77" in bad.stdout


WITNESS = Ed25519PrivateKey.generate()
WITNESS_KEY = note.WitnessKey("witness.example/w1", WITNESS.public_key().public_bytes_raw())


@pytest.fixture
def witnessed(settings):
    configured = settings.model_copy(update={"audit_witness_keys": [WITNESS_KEY.vkey()]})
    opened = open_services(configured)
    try:
        yield opened
    finally:
        opened.close()


async def test_a_witness_cosignature_is_verified_and_served(witnessed, make_key):
    import httpx

    from service.app import create_app

    app = create_app(witnessed.settings, services=witnessed)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        with witnessed.db.system() as conn:
            from service.auth import store as auth_store

            admin = bearer(auth_store.create_key(conn, tenant_name="acme", role=Role.ADMIN).token)
        checkpoint = (await client.get("/v1/log/checkpoint", headers=admin)).text
        size = int(checkpoint.split("\n")[1])
        body = checkpoint.partition("\n\n")[0] + "\n"
        line = note.cosign(body, WITNESS_KEY.name, WITNESS, 1_790_000_000)
        r = await client.post(
            "/v1/log/checkpoint/cosignatures", json={"size": size, "signature": line}, headers=admin
        )
        assert r.status_code == 201
        assert r.json() == {"size": size, "witness": WITNESS_KEY.name}
        cosigned = (await client.get("/v1/log/checkpoint", params={"size": size}, headers=admin)).text
        assert cosigned.endswith(line)
        origin, public_key = witnessed.log_signer.origin, witnessed.log_signer.public_key
        assert rfc9162.open_checkpoint(cosigned, origin, public_key)[0] == size
        forged = note.cosign(body.replace(f"\n{size}\n", f"\n{size + 1}\n"), WITNESS_KEY.name, WITNESS, 1)
        r = await client.post(
            "/v1/log/checkpoint/cosignatures", json={"size": size, "signature": forged}, headers=admin
        )
        assert r.status_code == 422
        assert "does not verify" in r.json()["error"]["message"]


def test_cosign_from_the_command_line(settings, services):
    from click.testing import CliRunner

    from service.cli.main import cli

    with services.db.system() as conn:
        checkpoint = services.log_signer.issue(conn)
    size = int(checkpoint.split("\n")[1])
    line = note.cosign(checkpoint.partition("\n\n")[0] + "\n", WITNESS_KEY.name, WITNESS, 1_790_000_000)
    env = {
        "DATABASE_URL": str(settings.database_url),
        "VIGIL_DATA_DIR": str(settings.data_dir),
        "VIGIL_AUDIT_WITNESS_KEYS": json.dumps([WITNESS_KEY.vkey()]),
    }
    runner = CliRunner()
    done = runner.invoke(cli, ["audit", "cosign", "--size", str(size), line], env=env)
    assert done.exit_code == 0, done.output
    assert "OK: co-signature of witness.example/w1" in done.output
    printed = runner.invoke(cli, ["audit", "checkpoint"], env=env)
    assert printed.output.endswith(line)
    refused = runner.invoke(cli, ["audit", "cosign", "--size", str(size), line.replace("w1", "w2")], env=env)
    assert refused.exit_code == 4
