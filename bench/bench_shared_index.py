"""Memory of a node's serving processes holding a large bank index: one shared, memory-mapped
snapshot (what ``BankIndex(shared_dir=...)`` does) against a private copy in each process (what
every process held before).

Four processes each open the index (``--entries``, default 10,000,000 random PDQ hashes), touch
every page of it and answer planted near-duplicate queries; while all four hold it, their
proportional set size (PSS: a shared page counts 1/n in each of the n processes) and resident
size are read from ``/proc/<pid>/smaps_rollup``. Prints one JSON object.
``python bench/bench_shared_index.py [--entries N] [--processes P]``
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._util import progress
from service.match.index import MultiIndex

QUERIES = 200


def memory_mib(pid: int) -> dict[str, float]:
    fields: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        name, _, rest = line.partition(":")
        if name in ("Rss", "Pss"):
            fields[name.lower() + "_mib"] = int(rest.split()[0]) / 1024
    return fields


def _holder(mode: str, folder: str, entries: int, ready: Any, done: Any, out: Any) -> None:
    index = MultiIndex(256)
    started = time.monotonic()
    if mode == "shared":
        index.adopt(Path(folder), after_id=entries)
    else:  # a private copy: the words read into this process, postings built here
        words = np.load(Path(folder) / "words.npy")
        index.add(words.view(np.uint8).reshape(-1, 32), np.arange(entries, dtype=np.int64))
    opened_s = time.monotonic() - started
    main = index._main
    touched = (
        int(main.words.sum(dtype=np.uint64) % 7) + int(main.perm.sum() % 7) + int(main.offsets.sum() % 7)
    )
    rng = np.random.default_rng(5)
    rows = rng.integers(0, entries, QUERIES)
    timings = []
    found = 0
    for row in rows:
        query = np.array(main.words[row]).view(np.uint8).copy()
        for bit in rng.choice(256, 20, replace=False):
            query[bit // 8] ^= 1 << (bit % 8)
        t = time.perf_counter()
        hits = index.search(query.tobytes(), 31)
        timings.append(time.perf_counter() - t)
        found += int(len(hits) > 0)
    out.put(
        {
            "opened_s": round(opened_s, 2),
            "query_ms_p50": round(statistics.median(timings) * 1000, 3),
            "found": found,
            "touched": touched,
        }
    )
    ready.wait()  # every holder has the index before memory is read
    done.wait()


def measure(mode: str, folder: Path, entries: int, processes: int) -> dict[str, object]:
    ready, done = multiprocessing.Barrier(processes + 1), multiprocessing.Barrier(processes + 1)
    out: Any = multiprocessing.Queue()
    procs = [
        multiprocessing.Process(target=_holder, args=(mode, str(folder), entries, ready, done, out))
        for _ in range(processes)
    ]
    for proc in procs:
        proc.start()
    results = [out.get() for _ in procs]
    ready.wait()
    memory = [memory_mib(p.pid) for p in procs if p.pid is not None]
    done.wait()
    for proc in procs:
        proc.join()
    return {
        "pss_mib_total": round(sum(m["pss_mib"] for m in memory)),
        "rss_mib_total": round(sum(m["rss_mib"] for m in memory)),
        "open_s_max": max(r["opened_s"] for r in results),
        "query_ms_p50": statistics.median(r["query_ms_p50"] for r in results),
        "planted_found": f"{sum(r['found'] for r in results)}/{QUERIES * processes}",
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=10_000_000)
    parser.add_argument("--processes", type=int, default=4)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="vigil-bench-index-"))
    try:
        progress(f"building the postings of {args.entries:,} hashes")
        rng = np.random.default_rng(1)
        hashes = rng.integers(0, 256, (args.entries, 32), dtype=np.uint8)
        index = MultiIndex(256)
        started = time.monotonic()
        index.add(hashes, np.arange(args.entries, dtype=np.int64))
        index.save(root / "snapshot", {"last_id": args.entries})
        build_s = time.monotonic() - started
        del index, hashes
        result: dict[str, object] = {
            "entries": args.entries,
            "processes": args.processes,
            "build_and_save_s": round(build_s, 1),
        }
        for mode in ("shared", "private"):
            progress(f"{args.processes} processes, {mode}")
            result[mode] = measure(mode, root / "snapshot", args.entries, args.processes)
        result["one_copy_mib"] = round(
            sum(f.stat().st_size for f in (root / "snapshot").glob("*.npy")) / 2**20
        )
        print(json.dumps(result))
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
