"""``vigil serve --workers N``: N HTTP processes on one port, restarted when one dies."""

from __future__ import annotations

import io
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image

from service.auth import Role
from service.auth import store as auth_store
from service.services import Services
from tests.jobs.test_serve_worker import ROOT, env_for, free_port, wait_until


def children(pid: int) -> set[int]:
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid and "spawn_main" in (stat.parent / "cmdline").read_text(errors="replace"):
            found.add(int(stat.parent.name))
    return found


def photo() -> bytes:
    rng = np.random.default_rng(3)
    out = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (300, 400, 3), dtype=np.uint8)).save(out, "JPEG")
    return out.getvalue()


def test_workers_serve_one_port_and_a_dead_one_is_replaced(
    services: Services, database_url: str, tmp_path: Path
) -> None:
    with services.db.system() as conn:
        token = auth_store.create_key(conn, tenant_name="acme", role=Role.PLATFORM).token
    port = free_port()
    argv = [sys.executable, "-m", "service", "--data-dir", str(tmp_path / "d"), "serve", "--port", str(port)]
    env = {**env_for(database_url), "VIGIL_CHECK_CONCURRENCY": "1"}
    proc = subprocess.Popen(
        [*argv, "--workers", "2"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: len(children(proc.pid)) == 2, timeout=60)
        wait_until(lambda: httpx.get(f"{url}/readyz", timeout=2).status_code == 200, timeout=60)
        first = children(proc.pid)
        for _ in range(4):  # each on a new connection, so both processes are likely asked
            checked = httpx.post(
                f"{url}/v1/check",
                headers={"Authorization": f"Bearer {token}"},
                files={"file": ("photo.jpg", photo(), "image/jpeg")},
                timeout=30,
            )
            assert checked.status_code == 200, checked.text
            assert checked.json()["decision"] in ("allow", "label", "review")

        victim = min(first)
        os.kill(victim, signal.SIGKILL)
        wait_until(lambda: len(children(proc.pid) - {victim}) == 2, timeout=60)
        wait_until(lambda: httpx.get(f"{url}/healthz", timeout=2).status_code == 200)
        assert httpx.get(f"{url}/healthz", timeout=2).json() == {"status": "ok"}
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode in (0, -signal.SIGTERM), err.decode()
    assert b"starting another" in err  # the replacement was logged
    assert b"stopped" in err  # and the parent's job worker stopped cleanly
    deadline = time.monotonic() + 10
    while children(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not children(proc.pid)


def test_a_port_in_use_is_a_clear_error(services: Services, database_url: str, tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        argv = ["--data-dir", str(tmp_path / "d"), "serve", "--port", str(port), "--workers", "2"]
        done = subprocess.run(
            [sys.executable, "-m", "service", *argv, "--no-worker"],
            cwd=ROOT,
            env=env_for(database_url),
            capture_output=True,
            timeout=60,
            check=False,
        )
    assert done.returncode != 0
    assert f"Cannot listen on 127.0.0.1:{port}".encode() in done.stderr


def test_a_port_another_server_shares_is_refused_not_joined() -> None:
    from service.cli.main import cli  # noqa: F401  (the command modules import through it)
    from service.cli.serve import _reuse_port_sockets
    from service.errors import ConfigError

    [first] = _reuse_port_sockets("127.0.0.1", 0, 1)
    try:
        port = first.getsockname()[1]
        with pytest.raises(ConfigError, match=f"Cannot listen on 127.0.0.1:{port}"):
            _reuse_port_sockets("127.0.0.1", port, 2)
    finally:
        first.close()
