"""Provenance figures: sign and verify a 1 MP JPEG in-process (no TSA), and the p50 of a
fingerprint lookup in a manifest repository of 1,000,000 signed assets.

Run: .venv/bin/python bench/bench_provenance.py  (prints one JSON object)

The repository is loaded with COPY into the real schema (migrations); the in-memory fingerprint
index then loads it once, as the first lookup after a start would. Queries are stored hashes
with 1-31 random bits flipped (each must find its row) and random hashes (must find nothing
within the threshold).
"""

from __future__ import annotations

import argparse
import io
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import psycopg
from PIL import Image, ImageDraw

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from service.db import migrate as migrations
from service.db.embedded import EmbeddedPostgres
from service.provenance import (
    SignSpec,
    sign_file,
    verify_file,
)
from service.provenance.certs import init_signing
from service.provenance.index import FingerprintIndex
from service.provenance.signer import VigilSigner
from service.provenance.trust import TrustStore

HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)


def one_megapixel_jpeg(path: Path) -> Path:
    rng = np.random.default_rng(1)
    x, y = np.meshgrid(np.linspace(0, 1, 1000), np.linspace(0, 1, 1000))
    img = Image.fromarray(np.stack([x * 255, y * 255, (1 - x) * 255], axis=2).astype("uint8"))
    draw = ImageDraw.Draw(img)
    for _ in range(60):
        x0, y0 = (int(v) for v in rng.integers(0, 1000, 2))
        draw.ellipse((x0, y0, x0 + 120, y0 + 90), fill=tuple(int(v) for v in rng.integers(0, 256, 3)))
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=90)
    path.write_bytes(buf.getvalue())
    return path


def bench_sign_verify(work: Path, runs: int) -> dict[str, float]:
    files = init_signing(work / "keys", "Bench")
    trust = TrustStore.from_pem(vigil_ca=files.ca)
    signer = VigilSigner.from_files(files.chain, files.key)
    src = one_megapixel_jpeg(work / "in.jpg")
    spec = SignSpec(asset_id="bench")
    sign_ms, verify_ms = [], []
    for i in range(runs + 3):
        t = time.perf_counter()
        sign_file(src, work / "out.jpg", spec, signer=signer, trust=trust, verify=False)
        sign_ms.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        verify_file(work / "out.jpg", trust=trust)
        verify_ms.append((time.perf_counter() - t) * 1000)
        if i < 3:  # warm-up
            sign_ms.pop()
            verify_ms.pop()
    return {"sign_ms_p50": statistics.median(sign_ms), "verify_ms_p50": statistics.median(verify_ms)}


def _hex_cols(values: np.ndarray, width: int) -> np.ndarray:
    shifts = 4 * np.arange(width - 1, -1, -1, dtype=np.uint64)
    return HEX[((values[:, None].astype(np.uint64) >> shifts) & 15).astype(np.intp)]


def _dec5(values: np.ndarray) -> np.ndarray:
    digits = (values[:, None] // 10 ** np.arange(4, -1, -1)) % 10
    return (digits + ord("0")).astype(np.uint8)


def _tab(n: int) -> np.ndarray:
    return np.full((n, 1), ord("\t"), dtype=np.uint8)


def _const(n: int, text: bytes) -> np.ndarray:
    return np.tile(np.frombuffer(text, dtype=np.uint8), (n, 1))


def load(conn: psycopg.Connection, rows: int, batch: int = 100_000) -> np.ndarray:
    """COPY ``rows`` manifests and fingerprints; returns the stored PDQ hashes (rows × 32 bytes)."""
    rng = np.random.default_rng(7)
    pdqs = rng.integers(0, 256, size=(rows, 32), dtype=np.uint8)
    # The foreign key is checked once after the load rather than per row.
    conn.execute(
        "ALTER TABLE provenance_fingerprints DROP CONSTRAINT provenance_fingerprints_manifest_id_fkey"
    )
    for start in range(0, rows, batch):
        n = min(batch, rows - start)
        ids = np.arange(start, start + n, dtype=np.uint64)
        uuid = np.hstack([_const(n, b"00000000-0000-4000-8000-"), _hex_cols(ids, 12)])
        sha = _hex_cols(ids, 16)
        manifests = np.hstack(
            [uuid, _tab(n), _const(n, b"0" * 48), sha, _tab(n), _const(n, b"image/jpeg\t\\\\x00\t{}\n")]
        )
        block = pdqs[start : start + n]
        bits = np.unpackbits(block, axis=1) + ord("0")
        raw_hex = HEX[np.stack([block >> 4, block & 15], axis=2).reshape(n, 64).astype(np.intp)]
        fingerprints = np.hstack(
            [
                uuid,
                _const(n, b"\t0\t"),
                bits,
                _const(n, b"\t\\\\x"),
                raw_hex,
                _const(n, b"\t100\t"),
                _const(n, b"0" * 64),
                _const(n, b"\n"),
            ]
        )
        with conn.cursor() as cur:
            with cur.copy("COPY provenance_manifests (id, sha256, mime, manifest, report) FROM STDIN") as cp:
                cp.write(manifests.tobytes())
            copy = "COPY provenance_fingerprints (manifest_id, frame, pdq, pdq_raw, pdq_quality, phash) "
            with cur.copy(copy + "FROM STDIN") as cp:
                cp.write(fingerprints.tobytes())
    t = time.perf_counter()
    conn.execute(
        "ALTER TABLE provenance_fingerprints ADD CONSTRAINT provenance_fingerprints_manifest_id_fkey "
        "FOREIGN KEY (manifest_id) REFERENCES provenance_manifests (id) ON DELETE CASCADE"
    )
    print(f"fk {time.perf_counter() - t:.1f}s", file=sys.stderr)
    conn.execute("ANALYZE provenance_manifests")
    conn.execute("ANALYZE provenance_fingerprints")
    return pdqs


def bench_lookup(rows: int, queries: int) -> dict[str, float | int]:
    root = Path(tempfile.mkdtemp(prefix="vigil-bench-pg-"))
    server = EmbeddedPostgres(pgdata=root / "pg")
    try:
        url = server.start()
        migrations.migrate(url)
        with psycopg.connect(url, autocommit=True) as conn:
            t = time.perf_counter()
            pdqs = load(conn, rows)
            load_s = time.perf_counter() - t
            index = FingerprintIndex()
            t = time.perf_counter()
            index.sync(conn)  # what the first lookup after a start pays
            index_load_s = time.perf_counter() - t
            rng = np.random.default_rng(11)
            bands: dict[str, list[float]] = {"le15": [], "16to31": []}
            hits = 0
            for _ in range(queries):
                target = int(rng.integers(0, rows))
                bits = np.unpackbits(pdqs[target])
                flips = int(rng.integers(1, 32))
                bits[rng.choice(256, size=flips, replace=False)] ^= 1
                query = np.packbits(bits).tobytes()
                t = time.perf_counter()
                match = index.nearest(conn, query, 31)
                bands["le15" if flips <= 15 else "16to31"].append((time.perf_counter() - t) * 1000)
                hits += match is not None and match.record.id.int & ((1 << 48) - 1) == target
            times = bands["le15"] + bands["16to31"]
            misses, random_ms = 0, []
            for _ in range(queries):
                query = rng.integers(0, 256, 32, dtype=np.uint8).tobytes()
                t = time.perf_counter()
                misses += index.nearest(conn, query, 31) is None
                random_ms.append((time.perf_counter() - t) * 1000)
        return {
            "manifests": rows,
            "load_s": round(load_s, 1),
            "index_load_s": round(index_load_s, 2),
            "lookup_ms_p50": statistics.median(times),
            "lookup_ms_p95": float(np.percentile(times, 95)),
            "lookup_le15_bits_ms_p50": statistics.median(bands["le15"]),
            "lookup_16_to_31_bits_ms_p50": statistics.median(bands["16to31"]),
            "lookup_unmatched_ms_p50": statistics.median(random_ms),
            "recall_planted_1_to_31_bits": hits / queries,
            "random_queries_unmatched": misses / queries,
        }
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        figures: dict[str, object] = dict(bench_sign_verify(Path(work), args.runs))
    figures.update(bench_lookup(args.rows, args.queries))
    figures["targets"] = {"sign_ms_p50": 10, "verify_ms_p50": 5, "lookup_ms_p50": 10}
    figures["note"] = (
        "shared 2-core machine; lookup_ms_* include the database round trips (sync check, record fetch)"
    )
    print(json.dumps({k: round(v, 2) if isinstance(v, float) else v for k, v in figures.items()}))


if __name__ == "__main__":
    main()
