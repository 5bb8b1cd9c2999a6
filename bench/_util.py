"""Small helpers shared by the benchmarks (no third-party load generator needed)."""

from __future__ import annotations

import asyncio
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


# The vector instructions int8 and float products run on: the same model is several times faster
# with VNNI or AMX than with AVX2 alone, and its last digits differ between them.
_VECTOR_FLAGS = ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "amx_int8")


def vector_extensions() -> list[str]:
    """Which of ``_VECTOR_FLAGS`` this CPU reports (empty where /proc/cpuinfo cannot be read)."""
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8")
    except OSError:
        return []
    lines = [line for line in text.splitlines() if line.startswith("flags")]
    flags = set(lines[0].split(":", 1)[1].split()) if lines else set()
    return [f for f in _VECTOR_FLAGS if f in flags]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def summary_ms(values: list[float]) -> dict[str, float]:
    return {
        "p50_ms": round(percentile(values, 0.5) * 1000, 3),
        "p90_ms": round(percentile(values, 0.9) * 1000, 3),
        "p99_ms": round(percentile(values, 0.99) * 1000, 3),
        "mean_ms": round(statistics.fmean(values) * 1000, 3),
        "n": len(values),
    }


class Timer:
    """Wall time and this thread's CPU time of each timed block (``with timer: ...``): on a
    shared, overloaded machine the wall figures mostly measure waiting for a core; the CPU
    figures measure the work."""

    def __init__(self) -> None:
        self.wall: list[float] = []
        self.cpu: list[float] = []
        self._t = self._c = 0.0

    def __enter__(self) -> Timer:
        self._t, self._c = time.perf_counter(), time.thread_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall.append(time.perf_counter() - self._t)
        self.cpu.append(time.thread_time() - self._c)

    def figures(self) -> dict[str, float]:
        ordered = sorted(self.wall)
        return {
            "p50_ms": round(statistics.median(ordered) * 1e3, 3),
            "p95_ms": round(ordered[int(len(ordered) * 0.95) - 1] * 1e3, 3),
            "cpu_p50_ms": round(statistics.median(self.cpu) * 1e3, 3),
            "cpu_mean_ms": round(statistics.fmean(self.cpu) * 1e3, 3),
            "n": len(ordered),
        }


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def create_key(data: Path, role: str) -> str:
    """``vigil keys create --role ROLE`` on the instance at ``data``: the token it printed."""
    made = subprocess.run(
        [sys.executable, "-m", "service", "--data-dir", str(data), "keys", "create", "--role", role],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return made.stdout.strip().splitlines()[-1]


def vigil_process(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "service", *args],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


async def _worker(
    host: str, port: int, request: bytes, until: float, lat: list[float], expect: bytes = b" 200 "
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while time.perf_counter() < until:
            t0 = time.perf_counter()
            writer.write(request)
            await writer.drain()
            length = 0
            status = await reader.readline()
            if expect not in status:
                raise RuntimeError(f"the server answered {status!r}")
            while True:
                line = await reader.readline()
                if line in (b"\r\n", b""):
                    break
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            await reader.readexactly(length)
            lat.append(time.perf_counter() - t0)
    finally:
        writer.close()


def multipart(fields: dict[str, str], files: dict[str, tuple[str, bytes, str]]) -> tuple[bytes, str]:
    """A multipart/form-data body and its content type (for ``load(..., body=...)``)."""
    boundary = "vigil-bench-boundary"
    parts: list[bytes] = []
    for name, value in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode())
        parts.append(value.encode() + b"\r\n")
    for name, (filename, data, mime) in files.items():
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
            f"Content-Type: {mime}\r\n\r\n".encode()
        )
        parts.append(data + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def load(
    host: str,
    port: int,
    path: str,
    headers: dict[str, str],
    *,
    seconds: float,
    connections: int,
    method: str = "GET",
    body: bytes = b"",
    expect: bytes = b" 200 ",
) -> dict[str, float]:
    """A keep-alive HTTP/1.1 load generator on loopback: latency percentiles and requests/s.

    ``method``/``body`` send e.g. a multipart POST (put its content type in ``headers``).
    """
    head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    if body:
        head += f"Content-Length: {len(body)}\r\n"
    request = f"{method} {path} HTTP/1.1\r\nHost: {host}\r\n{head}\r\n".encode() + body
    lat: list[float] = []

    async def run() -> float:
        start = time.perf_counter()
        until = start + seconds
        await asyncio.gather(*(_worker(host, port, request, until, lat, expect) for _ in range(connections)))
        return time.perf_counter() - start

    elapsed = asyncio.run(run())
    out = summary_ms(lat)
    out["req_per_s"] = round(len(lat) / elapsed, 1)
    out["connections"] = connections
    return out
