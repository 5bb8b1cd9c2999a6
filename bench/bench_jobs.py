"""Benchmark of the job queue and the compositor; prints one JSON object.

- queue: claim + complete of no-op jobs by one worker (target ≥ 200 jobs/s), and enqueue rate
- compositor: a JPEG still from three photos (p50; the pipeline's "≤ 1 s end to end" adds
  labelling and signing to this), and an 8 s H.264 MP4
Runs against a throwaway embedded PostgreSQL.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("XDG_RUNTIME_DIR", "/tmp")

import numpy as np  # noqa: E402
import psycopg  # noqa: E402
from PIL import Image  # noqa: E402
from psycopg.conninfo import make_conninfo  # noqa: E402

from service.auth import store as auth_store  # noqa: E402
from service.composition import open_services  # noqa: E402
from service.db.embedded import EmbeddedPostgres  # noqa: E402
from service.generate.compositor import CompositorBackend  # noqa: E402
from service.generate.model import GenerationRequest, PhotoRef  # noqa: E402
from service.jobs import Worker, build_registry, enqueue  # noqa: E402
from service.settings import Settings  # noqa: E402
from service.vocabulary import OutputKind  # noqa: E402

QUEUE_JOBS = 2000
STILL_RUNS = 7


def bench_queue(settings: Settings) -> dict[str, float]:
    services = open_services(settings)
    try:
        with services.db.system() as conn:
            tenant = auth_store.ensure_tenant(conn, "bench").id
        started = time.perf_counter()
        with services.db.tenant(tenant) as conn:
            for i in range(QUEUE_JOBS):
                enqueue(conn, "noop", {"i": i}, tenant_id=tenant)
        enqueue_s = time.perf_counter() - started
        worker = Worker(db=services.db, services=None, registry=build_registry(), lease_s=30, poll_s=0.1)
        try:
            started = time.perf_counter()
            ran = worker.run_pending()
            run_s = time.perf_counter() - started
        finally:
            worker.close()
        assert ran == QUEUE_JOBS, ran
    finally:
        services.close()
    return {
        "queue_jobs": QUEUE_JOBS,
        "queue_claim_complete_jobs_per_s": round(ran / run_s, 1),
        "queue_enqueue_jobs_per_s": round(QUEUE_JOBS / enqueue_s, 1),
    }


def photos(root: Path) -> tuple[PhotoRef, ...]:
    refs = []
    for i, colour in enumerate([(180, 120, 90), (90, 140, 180), (120, 170, 100)]):
        pixels = (np.random.default_rng(i).random((1600, 1200, 3)) * 60 + np.array(colour)).clip(0, 255)
        path = root / f"photo{i}.jpg"
        Image.fromarray(pixels.astype("uint8")).save(path, quality=90)
        refs.append(PhotoRef(hashlib.sha256(path.read_bytes()).hexdigest(), path))
    return tuple(refs)


def bench_compositor(settings: Settings, root: Path) -> dict[str, float]:
    backend = CompositorBackend.from_settings(settings)
    inputs = photos(root)
    out = root / "quarantine"
    times = []
    for run in range(STILL_RUNS):
        request = GenerationRequest(
            f"still-{run}", OutputKind.IMAGE, inputs, "bench", caption="Forever in our hearts"
        )
        started = time.perf_counter()
        backend.generate(request, out_dir=out)
        times.append(time.perf_counter() - started)
    request = GenerationRequest("video", OutputKind.VIDEO, inputs, "bench", caption="Forever in our hearts")
    started = time.perf_counter()
    video = backend.generate(request, out_dir=out)
    video_s = time.perf_counter() - started
    return {
        "compositor_jpeg_3_photos_p50_s": round(statistics.median(times), 3),
        "compositor_jpeg_3_photos_max_s": round(max(times), 3),
        "compositor_mp4_seconds": round(video.info.duration_s or 0.0, 2),
        "compositor_mp4_make_s": round(video_s, 2),
        "compositor_mp4_bytes": video.info.size,
    }


def main() -> None:
    root = Path(tempfile.mkdtemp(prefix="vigil-bench-jobs-"))
    server = EmbeddedPostgres(pgdata=root / "pg")
    try:
        uri = server.start()
        with psycopg.connect(uri, autocommit=True) as conn:
            conn.execute("CREATE DATABASE bench_jobs")
        settings = Settings(
            data_dir=root / "data", database_url=make_conninfo(uri, dbname="bench_jobs"), log_level="WARNING"
        )
        figures: dict[str, object] = {}
        figures.update(bench_queue(settings))
        figures.update(bench_compositor(settings, root))
        figures["targets"] = {
            "queue_claim_complete_jobs_per_s": ">= 200",
            "compositor_mp4_seconds": "6-10",
            "end_to_end_labelled_signed_jpeg_p50_s": "<= 1 (pipeline, measured later; compositor part above)",
        }
        figures["cpu_count"] = os.cpu_count()
        print(json.dumps(figures))
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
