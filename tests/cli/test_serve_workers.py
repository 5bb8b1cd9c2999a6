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


def cpu_ticks(pids: set[int]) -> int:
    """User and system CPU the processes have used, in clock ticks."""
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total


def settled(pids: set[int], *, window_s: float = 0.5, ticks: int = 5) -> bool:
    """True once the processes are idle: a new serving process loads its text encoder in the
    background after it starts serving, and a process busy with that answers late."""
    before = cpu_ticks(pids)
    time.sleep(window_s)
    return cpu_ticks(pids) - before <= ticks


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


def connections_held(pid: int, port: int) -> int:
    """Established TCP connections on ``port`` whose socket ``pid`` holds open."""
    established = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == "01":
                established.add(fields[9])
    held = 0
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:[") and target[8:-1] in established:
            held += 1
    return held


def test_a_client_pool_is_spread_evenly_and_metrics_count_every_process(
    database_url: str, tmp_path: Path
) -> None:
    port = free_port()
    stale = tmp_path / "d" / "tmp" / "metrics-999999999"  # left by a server that was killed
    stale.mkdir(parents=True)
    argv = ["--data-dir", str(tmp_path / "d"), "serve", "--port", str(port), "--workers", "2", "--no-worker"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "service", *argv],
        cwd=ROOT,
        env=env_for(database_url),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    pool: list[socket.socket] = []
    try:
        wait_until(lambda: len(children(proc.pid)) == 2, timeout=60)
        wait_until(
            lambda: httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200, timeout=60
        )
        time.sleep(0.3)  # the processes publish the probes' connections as closed
        wait_until(lambda: settled(children(proc.pid)), timeout=120)
        # A client's keep-alive pool: four connections opened one after another, a request on each.
        for _ in range(4):
            conn = socket.create_connection(("127.0.0.1", port))
            pool.append(conn)
            conn.sendall(b"GET /healthz HTTP/1.1\r\nHost: vigil\r\n\r\n")
            assert conn.recv(4096).startswith(b"HTTP/1.1 200")
            time.sleep(0.05)
        held = sorted(connections_held(pid, port) for pid in children(proc.pid))
        assert held == [2, 2]  # left to the kernel, [1, 3] or [0, 4] as often as not

        # Whichever process answers the scrape counts the requests both served.
        scraped = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
        series = 'vigil_http_requests_total{method="GET",route="/healthz",status="200"}'
        assert [line.split()[-1] for line in scraped.splitlines() if line.startswith(series)] == ["4.0"]
    finally:
        for conn in pool:
            conn.close()
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode in (0, -signal.SIGTERM), err.decode()
    assert not list((tmp_path / "d" / "tmp").glob("metrics-*"))  # its own and the stale one
