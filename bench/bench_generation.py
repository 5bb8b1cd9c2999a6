"""Generation end to end: three photos → a labelled, signed JPEG from the built-in compositor.

Each run goes through the real HTTP API (in-process ASGI) and a real job worker: POST
/v1/generations (intake, blobs, consent, record + job) → the job (text screening, compositor,
media screening, policy, label, sign, release) → GET status → GET the output. The policy is the
shipped one with one operator choice, the one an instance without an image model makes: outputs
no image model screened are decided on the remaining signals (else every output waits for a
reviewer and "end to end" would measure a person). The queue alone (claim + complete) is
measured by bench/bench_jobs.py.

Starts a throwaway embedded PostgreSQL and prints one JSON object.
Usage: .venv/bin/python bench/bench_generation.py [--runs N]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

# Run from a checkout: this repository's ``service`` package, not an installed one.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx
import numpy as np
from PIL import Image, ImageDraw

from bench._util import summary_ms
from service.app import create_app
from service.auth import Role
from service.auth import store as auth_store
from service.composition import generation_registry, open_services
from service.db.embedded import EmbeddedPostgres
from service.jobs import Worker
from service.provenance.certs import init_signing
from service.services import Services
from service.settings import Settings

TARGET_P50_S = 1.0
REPO_POLICIES = Path(__file__).resolve().parents[1] / "policies"


def _photo(seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    w, h = 1600, 1200  # about 2 MP, a phone photo scaled down
    x, y = np.meshgrid(np.linspace(0, 1, w), np.linspace(0, 1, h))
    img = Image.fromarray(np.stack([x * 220, y * 200, (1 - x) * 230], axis=2).astype("uint8"))
    draw = ImageDraw.Draw(img)
    for _ in range(40):
        x0, y0 = int(rng.integers(w)), int(rng.integers(h))
        fill = tuple(int(v) for v in rng.integers(0, 256, 3))
        draw.ellipse((x0, y0, x0 + int(rng.integers(40, 300)), y0 + int(rng.integers(40, 300))), fill=fill)
    out = io.BytesIO()
    img.save(out, "JPEG", quality=90)
    return out.getvalue()


def _policies(root: Path) -> Path:
    target = root / "policies"
    shutil.copytree(REPO_POLICIES, target)
    default = target / "default.yaml"
    needle = "  image_model:\n    when_unavailable: review\n    when_not_configured: {generation: review,"
    text = default.read_text()
    if needle not in text:
        raise SystemExit("policies/default.yaml changed: update the bench's policy choice")
    default.write_text(text.replace(needle, needle.replace("generation: review", "generation: ignore")))
    return target


async def _run(services: Services, runs: int, warmup: int) -> dict[str, object]:
    app = create_app(services.settings, services=services)
    with services.db.system() as conn:
        token = auth_store.create_key(conn, tenant_name="bench", role=Role.STUDIO).token
    h = {"Authorization": f"Bearer {token}"}
    worker = Worker(db=services.db, registry=generation_registry(), services=services)
    photos = [("photos", (f"p{i}.jpg", _photo(i), "image/jpeg")) for i in range(3)]
    total: list[float] = []
    submit: list[float] = []
    job: list[float] = []
    fetch: list[float] = []
    statuses: dict[str, int] = {}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as c:
        subject = await c.post(
            "/v1/subjects",
            json={
                "kind": "human",
                "vital_status": "deceased",
                "name": "S",
                "birth_date": "1990-01-01",
                "death_date": "2024-02-01",
                "jurisdiction": "RU",
            },
            headers=h,
        )
        sid = subject.json()["id"]
        grant = await c.post(
            "/v1/consents",
            json={
                "subject_id": sid,
                "grantors": [{"name": "W", "relationship": "spouse", "adult": True}],
                "legal_basis": "RU-CC-152.1",
                "modalities": ["likeness_still"],
                "purposes": ["private_memorial"],
                "audiences": ["family"],
                "territories": ["*"],
                "expires_at": (datetime.now(UTC) + timedelta(days=30)).isoformat(),
            },
            headers=h,
        )
        assert grant.status_code == 201, grant.text
        spec = json.dumps(
            {
                "subjects": [{"subject_id": sid}],
                "market": "eu",
                "purpose": "private_memorial",
                "audience": "family",
                "output": "image",
                "prompt": "a quiet farewell portrait at dawn, the family in the garden",
                "caption": "Forever with us",
            }
        )
        for i in range(warmup + runs):
            t0 = time.perf_counter()
            r = await c.post("/v1/generations", data={"spec": spec}, files=photos, headers=h)
            t1 = time.perf_counter()
            worker.run_one()
            t2 = time.perf_counter()
            got = (await c.get(f"/v1/generations/{r.json()['id']}", headers=h)).json()
            out = await c.get(got["output"]["url"], headers=h) if got["output"] else None
            t3 = time.perf_counter()
            if i < warmup:
                continue
            statuses[got["status"]] = statuses.get(got["status"], 0) + 1
            if out is None or out.status_code != 200:
                continue
            total.append(t3 - t0)
            submit.append(t1 - t0)
            job.append(t2 - t1)
            fetch.append(t3 - t2)
    worker.close()
    end_to_end = summary_ms(total)
    return {
        "bench": "generation",
        "what": "3 photos (2 MP JPEG) -> compositor still -> screened -> labelled (eu) -> signed -> released",
        "end_to_end": end_to_end,
        "target_p50_ms": TARGET_P50_S * 1000,
        "met": end_to_end["p50_ms"] <= TARGET_P50_S * 1000,
        "submit": summary_ms(submit),
        "job": summary_ms(job),
        "status_and_download": summary_ms(fetch),
        "statuses": statuses,
        "queue_alone": "claim + complete throughput is measured by bench/bench_jobs.py",
        "cpu_count": os.cpu_count(),
        "load_average_1m": round(os.getloadavg()[0], 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=2)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="vigil-bench-generation-"))
    root.chmod(0o755)
    server = EmbeddedPostgres(pgdata=root / "pg")
    uri = server.start()
    try:
        settings = Settings(
            data_dir=root / "data",
            database_url=uri,
            log_json=False,
            db_pool_min=1,
            policies_dir=_policies(root),
        )
        init_signing(settings.keys_dir, "Vigil Bench")
        services = open_services(settings)
        try:
            print(json.dumps(asyncio.run(_run(services, args.runs, args.warmup))))
        finally:
            services.close()
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
