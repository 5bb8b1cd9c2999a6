"""Transparency-log figures: sustained append rate, proof latency at 1,000,000 entries, and the
time ``vigil audit verify`` takes over all of them. Prints one JSON object.

Runs against a throwaway embedded PostgreSQL. The 1 M entries are bulk-loaded the way an import
would be: canonical event bytes COPYed in, with the stored subtree hashes computed by the same
``merkle.extend`` the append path uses (so the tree is the real one, and verify checks it).
"""

from __future__ import annotations

import json
import multiprocessing
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from service.audit import Event, EventName, append, append_many, merkle, store
from service.audit import log as audit_log
from service.audit.log import append_now
from service.cli.db import pg_tool
from service.composition import open_services
from service.db.embedded import EmbeddedPostgres
from service.services import Services
from service.settings import Settings

TOTAL = 1_000_000
APPEND_EVENTS = 20_000
BATCH = 500
PROOFS = 1_000
TENANT = UUID("00000000-0000-4000-8000-00000000b0b0")


def _event(i: int) -> Event:
    return Event(EventName.CHECK_DECIDED, f"chk_{i}", TENANT, {"decision": "allow", "sha256": f"{i:064x}"})


def bench_append(services: Services) -> dict[str, float]:
    t0 = time.perf_counter()
    done = 0
    while done < APPEND_EVENTS:
        with services.db.system() as conn:
            append_many(conn, [_event(done + i) for i in range(BATCH)])
        done += BATCH
    batched = APPEND_EVENTS / (time.perf_counter() - t0)
    t0 = time.perf_counter()
    for i in range(500):
        with services.db.system() as conn:
            append(conn, _event(i))
    single = 500 / (time.perf_counter() - t0)
    return {"append_events_per_s_batched": round(batched), "append_events_per_s_one_per_txn": round(single)}


def _writer(url: str, seconds: float, mode: str, counts: Any) -> None:
    """One writer process: one event per transaction, queued (or appended at once) as a check
    does; ``bare``: the same bytes inserted into a plain table, the database's own ceiling."""
    done = 0
    with psycopg.connect(url) as conn:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            with conn.transaction():
                event = _event(done)
                if mode == "bare":
                    conn.execute("INSERT INTO bench_bare (entry) VALUES (%s)", (event.canonical(),))
                else:
                    (append_now if mode == "appended_at_once" else append)(conn, event)
            done += 1
    counts.put(done)


def _sequence_while(services: Services, running: Callable[[], bool]) -> list[float]:
    """Integrate queued events as the service's sequencer does while the writers run; the
    longest wait in each batch integrated."""
    waits: list[float] = []
    while running():
        with services.db.system() as conn:
            done = audit_log.integrate(conn)
        if done.count:
            waits.append(done.longest_wait_s)
        else:
            time.sleep(0.1)
    return waits


def bench_writers(
    url: str, services: Services, writers: int = 16, seconds: float = 10.0
) -> dict[str, object]:
    """Events per second from ``writers`` processes, one event per transaction: queued with the
    sequencer integrating beside them (the service's path), and appended at once under the log's
    lock (the path before the queue), with the sequencing lag of the queued events."""
    out: dict[str, object] = {}
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute("CREATE TABLE IF NOT EXISTS bench_bare (id bigserial PRIMARY KEY, entry bytea)")
    for mode in ("queued", "appended_at_once", "bare"):
        counts: Any = multiprocessing.Queue()
        procs = [
            multiprocessing.Process(target=_writer, args=(url, seconds, mode, counts)) for _ in range(writers)
        ]
        started = time.monotonic()
        for proc in procs:
            proc.start()
        waits = _sequence_while(services, lambda procs=procs: any(p.is_alive() for p in procs))
        elapsed = time.monotonic() - started
        total = sum(counts.get() for _ in procs)
        with services.db.system() as conn:
            audit_log.integrate_all(conn)
        name = "inserts" if mode == "bare" else "events"
        out[f"{name}_per_s_{writers}_writers_{mode}"] = round(total / elapsed)
        if mode == "queued":
            ordered = sorted(waits) or [0.0]
            out["sequencing_lag_s_p99"] = round(ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))], 3)
            out["sequencing_lag_s_max"] = round(ordered[-1], 3)
    return out


def bench_writers_pgbench(
    url: str, services: Services, writers: int = 16, seconds: float = 10.0
) -> dict[str, object]:
    """The same measure with ``pgbench`` (PostgreSQL's own C client, from the embedded server's
    wheel) as the 16 writers: the service's enqueue statement, one per transaction, while the
    sequencer integrates beside them. On a 2-core machine the Python writers above spend much of
    the CPU themselves; this shows what the log's path costs the database alone."""
    with services.db.system() as conn:
        pgbench = pg_tool("pgbench", conn.info.server_version // 10000)
    canonical = _event(0).canonical()
    literal = f"'\\x{canonical.hex()}'::bytea, '{EventName.CHECK_DECIDED.value}'"
    scripts = {
        "queued": store.ENQUEUE_ONE.replace("%s, %s", literal),
        "bare": f"INSERT INTO bench_bare (entry) VALUES ('\\x{canonical.hex()}'::bytea)",
    }
    out: dict[str, object] = {}
    work = Path(tempfile.mkdtemp(prefix="vigil-bench-pgbench-"))
    try:
        for mode, statement in scripts.items():
            script = work / f"{mode}.sql"
            script.write_text(f"BEGIN;\n{statement};\nCOMMIT;\n")
            with services.db.system() as conn:
                before = store.size(conn) + store.queue_state(conn)[0]
            argv = [pgbench, "-n", "-M", "prepared", "-c", str(writers), "-j", "2"]
            run = subprocess.Popen(
                [*argv, "-T", str(int(seconds)), "-f", str(script), url],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            waits = _sequence_while(services, lambda run=run: run.poll() is None)
            stdout, stderr = run.communicate()
            tps = [line for line in stdout.splitlines() if line.startswith("tps = ")]
            if run.returncode != 0 or not tps:
                raise RuntimeError(f"pgbench failed: {stderr.strip()[-500:]}")
            rate = float(tps[0].split()[2])
            name = "inserts" if mode == "bare" else "events"
            out[f"{name}_per_s_{writers}_writers_pgbench_{mode}"] = round(rate)
            if mode == "queued":
                with services.db.system() as conn:
                    audit_log.integrate_all(conn)
                    integrated = store.size(conn) - before
                ordered = sorted(waits) or [0.0]
                out["pgbench_sequencing_lag_s_p99"] = round(
                    ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))], 3
                )
                out["pgbench_events_integrated"] = integrated
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return out


def bulk_load(services: Services, target: int) -> float:
    """COPY entries and their subtree hashes until the log holds ``target`` entries."""
    t0 = time.perf_counter()
    template = _event(0).canonical()
    chunk = 100_000
    with services.db.system() as conn:
        store.lock(conn)
        start = store.size(conn)
        frontier_nodes = merkle.chunks(0, start)
        found = store.nodes(conn, frontier_nodes)
        frontier = [(n, found[n]) for n in frontier_nodes]
        while start < target:
            n = min(chunk, target - start)
            entries = [template.replace(b"chk_0", f"chk_{start + i}".encode()) for i in range(n)]
            created = merkle.extend(frontier, [merkle.leaf_hash(e) for e in entries], start)
            with conn.cursor().copy("COPY audit_entries (idx, entry, event) FROM STDIN") as copy:
                for i, entry in enumerate(entries):
                    copy.write_row((start + i, entry, "check.decided"))
            with conn.cursor().copy("COPY audit_nodes (level, idx, hash) FROM STDIN") as copy:
                for (level, index), h in created:
                    copy.write_row((level, index, h))
            start += n
            known = dict(frontier)
            known.update(created)
            frontier = [(node, known[node]) for node in merkle.chunks(0, start)]
    with psycopg.connect(services.db.url, autocommit=True) as owner:
        owner.execute("ANALYZE audit_entries, audit_nodes")  # as after any import (table owner)
    return time.perf_counter() - t0


def bench_proofs(services: Services, size: int) -> dict[str, float]:
    rng = random.Random(7)
    inclusion, consistency = [], []
    for _ in range(PROOFS):
        index = rng.randrange(size)
        t0 = time.perf_counter()
        with services.db.system() as conn:
            audit_log.inclusion_proof(conn, index, size)
        inclusion.append(time.perf_counter() - t0)
        first = rng.randrange(1, size)
        t0 = time.perf_counter()
        with services.db.system() as conn:
            audit_log.consistency_proof(conn, first, size)
        consistency.append(time.perf_counter() - t0)
    ms = 1000.0
    return {
        "inclusion_proof_ms_p50": round(statistics.median(inclusion) * ms, 3),
        "inclusion_proof_ms_p95": round(sorted(inclusion)[int(0.95 * PROOFS)] * ms, 3),
        "consistency_proof_ms_p50": round(statistics.median(consistency) * ms, 3),
        "consistency_proof_ms_p95": round(sorted(consistency)[int(0.95 * PROOFS)] * ms, 3),
    }


def bench_verify(settings: Settings) -> dict[str, object]:
    env = {**os.environ, "DATABASE_URL": str(settings.database_url), "VIGIL_DATA_DIR": str(settings.data_dir)}
    t0 = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "service", "audit", "verify", "--json"],
        cwd=Path(__file__).resolve().parents[1],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - t0
    report = json.loads(done.stdout) if done.stdout else {}
    return {
        "verify_s": round(elapsed, 1),
        "verify_entries": report.get("checked"),
        "verify_passed": report.get("passed"),
        "verify_size": report.get("size"),
    }


def bench_verify_http(settings: Settings, services: Services) -> dict[str, object]:
    """The same verification over the HTTP API (in-process ASGI client: no network)."""
    from fastapi.testclient import TestClient

    from service.app import create_app
    from service.audit.sources import HttpSource
    from service.audit.verify import verify
    from service.auth import Role
    from service.auth import store as auth_store

    with services.db.system() as conn:
        token = auth_store.create_key(conn, tenant_name="bench", role=Role.AUDITOR).token
    source = HttpSource("http://bench", token, client=TestClient(create_app(settings, services=services)))
    signer = services.log_signer
    t0 = time.perf_counter()
    report, _ = verify(source, origin=signer.origin, public_key=signer.public_key)
    return {"verify_http_s": round(time.perf_counter() - t0, 1), "verify_http_passed": report.passed}


def main() -> None:
    writers_only = "--writers-only" in sys.argv
    numbers = [a for a in sys.argv[1:] if not a.startswith("--")]
    total = int(numbers[0]) if numbers else TOTAL  # default: the 1,000,000
    root = Path(tempfile.mkdtemp(prefix="vigil-bench-audit-"))
    server = EmbeddedPostgres(pgdata=root / "pg")
    url = server.start()
    try:
        settings = Settings(data_dir=root / "data", database_url=url, log_json=False)
        services = open_services(settings)
        try:
            result: dict[str, object] = {}
            result.update(bench_writers(url, services))
            result.update(bench_writers_pgbench(url, services))
            if writers_only:
                print(json.dumps(result))
                return
            result.update(bench_append(services))
            result["bulk_load_s"] = round(bulk_load(services, total), 1)
            with services.db.system() as conn:
                size = store.size(conn)
            result["entries"] = size
            result.update(bench_proofs(services, size))
            result.update(bench_verify(settings))
            result.update(bench_verify_http(settings, services))
            result["targets"] = {
                "append_events_per_s_batched": ">= 2000",
                "inclusion_proof_ms_p50": "<= 5",
                "consistency_proof_ms_p50": "<= 5",
                "verify_s": "<= 60 at 1,000,000 entries",
            }
        finally:
            services.close()
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
