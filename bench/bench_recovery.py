"""Recovery figures: a real ``vigil serve`` on the embedded PostgreSQL, whose postmaster is killed
(SIGKILL, as an OOM kill would) several times.

Prints one JSON object: seconds from each kill to ``/readyz`` answering 200 again with an
authenticated request served (target ≤ 30 s), and how long ``/readyz`` takes to answer while the
database is down (target ≤ 1 s). ``python bench/bench_recovery.py [--kills N]``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import tempfile
import time
from pathlib import Path

import httpx

from bench._util import free_port, percentile, progress, vigil_process


def postmaster_pid(pgdata: Path) -> int:
    return int((pgdata / "postmaster.pid").read_text().splitlines()[0])


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--kills", type=int, default=5)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="vigil-bench-recovery-"))
    root.chmod(0o755)  # the embedded PostgreSQL runs as its own user when run as root
    data, port = root / "data", free_port()
    env = {"VIGIL_LOG_LEVEL": "ERROR"}
    os.environ.pop("DATABASE_URL", None)
    server = vigil_process("--data-dir", str(data), "serve", "--port", str(port), env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        token = None
        started = time.monotonic()
        assert server.stderr is not None
        while token is None and time.monotonic() - started < 300:
            line = server.stderr.readline().strip()
            if line.startswith("vgl_"):
                token = line
        assert token is not None, "no bootstrap key"
        while True:
            try:
                if httpx.get(f"{base}/readyz", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:  # not listening yet
                pass
            time.sleep(0.2)
        progress("serving; killing its PostgreSQL")
        recovery: list[float] = []
        down_answers: list[float] = []
        for n in range(args.kills):
            pid = postmaster_pid(data / "pg")
            os.kill(pid, signal.SIGKILL)
            killed = time.monotonic()
            while not gone(pid) and time.monotonic() - killed < 5:
                time.sleep(0.01)
            while True:
                asked = time.monotonic()
                try:
                    ready = httpx.get(f"{base}/readyz", timeout=10)
                except httpx.HTTPError:
                    ready = None
                if ready is not None and ready.status_code == 503:
                    down_answers.append(time.monotonic() - asked)
                if ready is not None and ready.status_code == 200:
                    me = httpx.get(
                        f"{base}/v1/whoami", headers={"Authorization": f"Bearer {token}"}, timeout=10
                    )
                    if me.status_code == 200:
                        break
                if time.monotonic() - killed > 120:
                    raise SystemExit("not serving 120 s after the kill")
                time.sleep(0.1)
            recovery.append(time.monotonic() - killed)
            progress(f"kill {n + 1}: serving again after {recovery[-1]:.1f} s")
            time.sleep(2)
        print(
            json.dumps(
                {
                    "kills": args.kills,
                    "kill_to_serving_s": {
                        "p50": round(percentile(recovery, 0.5), 2),
                        "max": round(max(recovery), 2),
                        "target_max": 30,
                    },
                    "readyz_while_down_ms": {
                        "p50": round(percentile(down_answers, 0.5) * 1000, 1) if down_answers else None,
                        "max": round(max(down_answers) * 1000, 1) if down_answers else None,
                        "answers": len(down_answers),
                        "target_max": 1000,
                    },
                }
            )
        )
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.communicate(timeout=60)
        except Exception:
            server.kill()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
