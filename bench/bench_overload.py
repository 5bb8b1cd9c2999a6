"""Overload: 64 clients sending checks at once to one ``vigil serve`` (default settings) for 30 s.

A check that cannot start within ``VIGIL_CHECK_WAIT_S`` (5 s) is answered 503 ``overloaded`` with
Retry-After instead of queueing without bound. Target: every request answered within 10 s, as
200 or 503. Prints one JSON object: answers by status, latency percentiles per status, the
slowest answer. ``python bench/bench_overload.py [--clients 64] [--seconds 30]``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._util import ROOT, create_key, free_port, multipart, percentile, progress, vigil_process
from bench.bench_check import photo


async def _client(port: int, request: bytes, until: float, answers: dict[int, list[float]]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while time.perf_counter() < until:
            started = time.perf_counter()
            writer.write(request)
            await writer.drain()
            status_line = await reader.readline()
            if not status_line:  # the server closed the connection: count it, open another
                answers[0].append(time.perf_counter() - started)
                writer.close()
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                continue
            status = int(status_line.split()[1])
            length = 0
            while (line := await reader.readline()) not in (b"\r\n", b""):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            await reader.readexactly(length)
            answers[status].append(time.perf_counter() - started)
    finally:
        writer.close()


async def _run(port: int, request: bytes, clients: int, seconds: float) -> dict[int, list[float]]:
    answers: dict[int, list[float]] = defaultdict(list)
    until = time.perf_counter() + seconds
    await asyncio.gather(*(_client(port, request, until, answers) for _ in range(clients)))
    return answers


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="vigil-bench-overload-"))
    root.chmod(0o755)
    data = root / "data"
    try:
        subprocess.run(
            [sys.executable, "-m", "service", "--data-dir", str(data), "db", "migrate"],
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
        token = create_key(data, "platform")
        port = free_port()
        server = vigil_process(
            "--data-dir",
            str(data),
            "serve",
            "--no-worker",
            "--port",
            str(port),
            env={"VIGIL_LOG_LEVEL": "ERROR"},
        )
        try:
            progress("waiting for vigil serve (a new data dir converts the text encoder first)")
            deadline = time.time() + 300
            while True:
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.time() > deadline or server.poll() is not None:
                    raise SystemExit("vigil serve did not become ready")
                time.sleep(0.5)
            picture = photo(root / "upload.jpg", 3)
            body, content_type = multipart({}, {"file": (picture.name, picture.read_bytes(), "image/jpeg")})
            request = (
                f"POST /v1/check HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
                f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n\r\n"
            ).encode() + body
            progress(f"{args.clients} clients for {args.seconds:.0f} s")
            answers = asyncio.run(_run(port, request, args.clients, args.seconds))
        finally:
            server.send_signal(signal.SIGINT)
            server.communicate(timeout=60)
        every = [t for times in answers.values() for t in times]
        result = {
            "clients": args.clients,
            "seconds": args.seconds,
            "answers": {str(status): len(times) for status, times in sorted(answers.items())},
            "latency_s": {
                str(status): {
                    "p50": round(percentile(t, 0.5), 3),
                    "p99": round(percentile(t, 0.99), 3),
                    "max": round(max(t), 3),
                }
                for status, t in sorted(answers.items())
            },
            "slowest_answer_s": round(max(every), 3),
            "all_within_10_s_as_200_or_503": max(every) <= 10 and set(answers) <= {200, 503},
        }
        print(json.dumps(result))
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
