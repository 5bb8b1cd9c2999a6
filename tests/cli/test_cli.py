"""The ``vigil`` command as a user runs it: a real process, real exit codes, real output."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]


def vigil(
    *args: str, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "service", *args],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_keys_create_prints_the_token_alone_on_the_last_line(database_url, tmp_path, services):
    result = vigil(
        "--data-dir",
        str(tmp_path / "d"),
        "keys",
        "create",
        "--role",
        "reviewer",
        "--tenant",
        "kyiv-desk",
        env={"DATABASE_URL": database_url},
    )
    assert result.returncode == 0, result.stderr
    token = result.stdout.strip().splitlines()[-1]
    assert re.fullmatch(r"vgl_[0-9a-f]{8}_[A-Za-z0-9_-]{43}", token)
    from service.auth import store

    with services.db.system() as conn:
        principal = store.authenticate(conn, token)
    assert principal is not None
    assert (principal.tenant_name, principal.role.value) == ("kyiv-desk", "reviewer")


def test_keys_list_has_a_header_tenant_names_and_json(database_url, tmp_path, services):
    env = {"DATABASE_URL": database_url}
    data = ["--data-dir", str(tmp_path / "d")]
    assert (
        vigil(*data, "keys", "create", "--role", "auditor", "--tenant", "kyiv-desk", env=env).returncode == 0
    )
    table = vigil(*data, "keys", "list", env=env)
    assert table.returncode == 0, table.stderr
    header, *rows = table.stdout.splitlines()
    assert header.split() == ["PREFIX", "ROLE", "TENANT", "STATE", "CREATED_AT", "LABEL"]
    assert any("kyiv-desk" in row and "auditor" in row for row in rows)
    lines = vigil(*data, "keys", "list", "--json", env=env).stdout.splitlines()
    import json

    keys = [json.loads(line) for line in lines]
    assert {"prefix", "role", "tenant", "state", "created_at", "label"} == set(keys[0])
    assert any(k["tenant"] == "kyiv-desk" and k["state"] == "active" for k in keys)


def test_usage_errors_exit_2_and_unavailable_database_exits_3(tmp_path):
    assert vigil("keys", "create", "--role", "emperor").returncode == 2
    down = vigil(
        "--data-dir",
        str(tmp_path / "d"),
        "db",
        "migrate",
        env={"DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none?connect_timeout=2"},
    )
    assert down.returncode == 3
    assert down.stderr.startswith("FAIL:")
    assert "vigil db migrate" in down.stderr or "PostgreSQL" in down.stderr


@pytest.mark.parametrize(
    "args",
    [("audit", "export", "out"), ("keys", "list"), ("check", "--text", "hello"), ("bank", "export", "x")],
    ids=["audit-export", "keys-list", "check", "bank-export"],
)
def test_commands_refuse_to_create_an_instance_where_there_is_none(tmp_path: Path, args: tuple[str, ...]):
    empty = tmp_path / "elsewhere"
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "VIGIL_DATA_DIR")}
    result = subprocess.run(
        [sys.executable, "-m", "service", "--data-dir", str(empty), *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 3, result.stdout + result.stderr
    assert f"No Vigil instance at {empty}" in result.stderr
    assert "--data-dir" in result.stderr
    assert not (empty / "pg").exists()  # no second PostgreSQL, no second log key


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_ready(port: int, proc: subprocess.Popen[str], limit: float = 30) -> float:
    started = time.monotonic()
    while time.monotonic() - started < limit:
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return time.monotonic() - started
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    proc.kill()  # a server that never became ready must not outlive the test
    proc.wait(10)
    raise AssertionError("vigil serve did not become ready")


@pytest.mark.slow
def test_serve_on_an_empty_data_dir_bootstraps_an_admin_key_once(pg_tmp):
    data = pg_tmp / "instance"
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}

    def serve() -> tuple[subprocess.Popen[str], int]:
        port = free_port()
        proc = subprocess.Popen(
            [sys.executable, "-m", "service", "--data-dir", str(data), "serve", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        wait_ready(port, proc, limit=120)  # a new data dir converts the text encoder first (~20-30 s)
        return proc, port

    proc, port = serve()
    try:
        token = None
        deadline = time.monotonic() + 10
        assert proc.stderr is not None
        while token is None and time.monotonic() < deadline:
            line = proc.stderr.readline()
            if line.strip().startswith("vgl_"):
                token = line.strip()
        assert token is not None, "no bootstrap key printed"
        me = httpx.get(f"http://127.0.0.1:{port}/v1/whoami", headers={"Authorization": f"Bearer {token}"})
        assert me.json()["role"] == "admin"
        ready = httpx.get(f"http://127.0.0.1:{port}/readyz").json()["components"]
        assert ready["signing_key"]["state"] == "ok"  # a development instance can sign from the start
        assert ready["trust_anchors"]["state"] == "ok"
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0
    assert not (data / "pg" / "postmaster.pid").exists(), "the embedded database was stopped"

    proc, port = serve()  # an existing data dir: no new bootstrap key
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert "bootstrap admin key" not in err


def test_symbols_add_list_and_remove_an_operators_emblem(database_url, tmp_path, services):
    from PIL import Image, ImageDraw

    env = {"DATABASE_URL": database_url}
    data = ["--data-dir", str(services.settings.data_dir)]
    drawing = tmp_path / "patch.png"
    img = Image.new("RGB", (300, 300), "white")
    ImageDraw.Draw(img).polygon([(20, 20), (280, 20), (280, 200), (150, 280), (20, 200)], fill="black")
    img.save(drawing)
    added = vigil(
        *data, "symbols", "add", str(drawing), "--id", "unit-patch", "--label", "Unit patch",
        "--category", "extremist_symbols", "--tenant", "kyiv-desk", env=env,
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    assert "OK: added unit-patch" in added.stdout
    table = vigil(*data, "symbols", "list", "--tenant", "kyiv-desk", env=env)
    assert table.returncode == 0, table.stderr
    header, *rows = table.stdout.splitlines()
    assert header.split() == ["ID", "CATEGORY", "SOURCE", "LABEL"]
    assert any(r.startswith("z_marking") and "shipped" in r for r in rows)
    assert any(r.startswith("unit-patch") and "tenant kyiv-desk" in r for r in rows)
    blank = tmp_path / "blank.png"
    Image.new("RGB", (100, 100), "white").save(blank)
    refused = vigil(
        *data, "symbols", "add", str(blank), "--id", "blank", "--label", "Blank",
        "--category", "extremist_symbols", "--tenant", "kyiv-desk", env=env,
    )  # fmt: skip
    assert refused.returncode != 0
    assert "plain or transparent background" in refused.stderr
    assert vigil(*data, "symbols", "remove", "unit-patch", "--tenant", "kyiv-desk", env=env).returncode == 0
    gone = vigil(*data, "symbols", "list", "--tenant", "kyiv-desk", "--json", env=env)
    import json

    assert "unit-patch" not in {s["id"] for s in json.loads(gone.stdout)["symbols"]}
