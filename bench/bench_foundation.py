"""Foundation figures: start to /readyz (empty and existing data dir), authenticated GET latency.

Prints one JSON object. Targets: existing data dir ≤ 5 s, empty ≤ 15 s; an authenticated GET
that looks its key up in PostgreSQL: p50 ≤ 3 ms and ≥ 500 req/s from a loopback load generator.
"""

from __future__ import annotations

import json
import shutil
import signal
import tempfile
import time
from pathlib import Path

import httpx

from bench._util import create_key, free_port, load, progress, vigil_process


def start_and_time(data: Path) -> tuple[object, int, float]:
    port = free_port()
    started = time.perf_counter()
    proc = vigil_process(
        "--data-dir", str(data), "serve", "--port", str(port), env={"VIGIL_LOG_LEVEL": "WARNING"}
    )
    while True:
        if proc.poll() is not None:
            raise SystemExit(f"vigil serve exited: {proc.stderr.read() if proc.stderr else ''}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.02)
    return proc, port, time.perf_counter() - started


def stop(proc: object) -> None:
    proc.send_signal(signal.SIGINT)  # type: ignore[attr-defined]
    proc.communicate(timeout=30)  # type: ignore[attr-defined]


def main() -> None:
    root = Path(tempfile.mkdtemp(prefix="vigil-bench-"))
    data = root / "instance"
    try:
        progress("first start on an empty data dir …")
        proc, _, first = start_and_time(data)
        stop(proc)
        progress("start on the existing data dir …")
        existing = []
        for _ in range(3):
            proc, port, elapsed = start_and_time(data)
            existing.append(elapsed)
            if len(existing) < 3:
                stop(proc)
        token = create_key(data, "platform")
        progress("authenticated GET /v1/whoami under load …")
        headers = {"Authorization": f"Bearer {token}"}
        load("127.0.0.1", port, "/v1/whoami", headers, seconds=2, connections=4)  # warm up
        single = load("127.0.0.1", port, "/v1/whoami", headers, seconds=5, connections=1)
        loaded = load("127.0.0.1", port, "/v1/whoami", headers, seconds=8, connections=8)
        stop(proc)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print(
        json.dumps(
            {
                "bench": "foundation",
                "start_empty_data_dir_s": round(first, 2),
                "target_start_empty_s": 15,
                "start_existing_data_dir_s": round(min(existing), 2),
                "start_existing_all_s": [round(x, 2) for x in existing],
                "target_start_existing_s": 5,
                "auth_get_one_connection": single,
                "auth_get_8_connections": loaded,
                "target_auth_get_p50_ms": 3,
                "target_auth_get_req_per_s": 500,
            }
        )
    )


if __name__ == "__main__":
    main()
