"""SQL of the manifest repository. The caller owns the transaction; nothing here commits.

The tables carry no tenant: provenance of released assets is public, read in ``system()``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from psycopg.rows import class_row

from service.db import Conn
from service.match.hashes import ImageHashes

CHUNKS = 16


@dataclass(frozen=True, slots=True)
class ManifestRecord:
    id: UUID
    asset_id: str | None
    sha256: str
    mime: str
    report: dict[str, Any]
    log_index: int | None
    signed_at: datetime


@dataclass(frozen=True, slots=True)
class Match:
    record: ManifestRecord
    distance: int
    frame: int


def bits(raw: bytes) -> str:
    """A hash as a PostgreSQL bit-string literal, most significant bit first."""
    return "".join(f"{b:08b}" for b in raw)


def chunks(pdq: bytes) -> list[int]:
    return [int.from_bytes(pdq[2 * i : 2 * i + 2], "big") for i in range(CHUNKS)]


def neighbours(value: int) -> list[int]:
    """``value`` and every 16-bit value one bit away from it."""
    return [value] + [value ^ (1 << b) for b in range(16)]


# One statement, one round trip. (1) ``exact``: candidates agreeing exactly on some 16-bit chunk
# (BitmapOr of 16 btree probes); any hash within 15 bits is among them. (2) ``near``: only when
# (1) found nothing within min(threshold, 15), each chunk and its 16 one-bit neighbours, which
# finds everything within 31 bits (the NOT EXISTS is a one-time filter: skipped, not run).
_NEAREST = (
    "WITH best_exact AS ("
    "  SELECT manifest_id, frame, d FROM ("
    "    SELECT manifest_id, frame, bit_count(pdq # %(q)s::bit(256)) AS d FROM provenance_fingerprints"
    "    WHERE c0 = %(e0)s OR c1 = %(e1)s OR c2 = %(e2)s OR c3 = %(e3)s OR c4 = %(e4)s "
    "OR c5 = %(e5)s OR c6 = %(e6)s OR c7 = %(e7)s OR c8 = %(e8)s OR c9 = %(e9)s "
    "OR c10 = %(e10)s OR c11 = %(e11)s OR c12 = %(e12)s OR c13 = %(e13)s OR c14 = %(e14)s "
    "OR c15 = %(e15)s) c"
    "  WHERE d <= %(t1)s ORDER BY d LIMIT 1"
    "), near AS ("
    "  SELECT manifest_id, frame, d FROM ("
    "    SELECT manifest_id, frame, bit_count(pdq # %(q)s::bit(256)) AS d FROM provenance_fingerprints"
    "    WHERE c0 = ANY(%(n0)s) OR c1 = ANY(%(n1)s) OR c2 = ANY(%(n2)s) OR c3 = ANY(%(n3)s) "
    "OR c4 = ANY(%(n4)s) OR c5 = ANY(%(n5)s) OR c6 = ANY(%(n6)s) OR c7 = ANY(%(n7)s) "
    "OR c8 = ANY(%(n8)s) OR c9 = ANY(%(n9)s) OR c10 = ANY(%(n10)s) OR c11 = ANY(%(n11)s) "
    "OR c12 = ANY(%(n12)s) OR c13 = ANY(%(n13)s) OR c14 = ANY(%(n14)s) "
    "OR c15 = ANY(%(n15)s)) c"
    "  WHERE d <= %(t)s AND NOT EXISTS (SELECT 1 FROM best_exact) ORDER BY d LIMIT 1"
    ") "
    "SELECT m.id, m.asset_id, m.sha256, m.mime, m.report, m.log_index, m.signed_at, b.frame, b.d "
    "FROM (SELECT * FROM best_exact UNION ALL SELECT * FROM near) b "
    "JOIN provenance_manifests m ON m.id = b.manifest_id ORDER BY b.d LIMIT 1"
)


def insert_manifest(
    conn: Conn,
    *,
    manifest_id: UUID,
    asset_id: str | None,
    sha256: str,
    mime: str,
    manifest: bytes,
    report: dict[str, Any],
    log_index: int | None,
) -> None:
    conn.execute(
        "INSERT INTO provenance_manifests (id, asset_id, sha256, mime, manifest, report, log_index) "
        "VALUES (%s, %s, %s, %s, %s, %s::jsonb, %s)",
        (manifest_id, asset_id, sha256, mime, manifest, json.dumps(report), log_index),
    )


def insert_fingerprints(conn: Conn, manifest_id: UUID, frames: Sequence[ImageHashes]) -> None:
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO provenance_fingerprints (manifest_id, frame, pdq, pdq_quality, phash, "
            "c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11, c12, c13, c14, c15) "
            "VALUES (%s, %s, %s::bit(256), %s, %s::bit(64), "
            "%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            [
                (manifest_id, i, bits(h.pdq.value), h.pdq.quality, bits(h.phash), *chunks(h.pdq.value))
                for i, h in enumerate(frames)
            ],
        )


def by_sha256(conn: Conn, sha256: str) -> ManifestRecord | None:
    with conn.cursor(row_factory=class_row(ManifestRecord)) as cur:
        return cur.execute(
            "SELECT id, asset_id, sha256, mime, report, log_index, signed_at FROM provenance_manifests "
            "WHERE sha256 = %s ORDER BY signed_at DESC LIMIT 1",
            (sha256,),
        ).fetchone()


def nearest(conn: Conn, pdq: bytes, threshold: int) -> Match | None:
    """The closest signed frame within ``threshold`` (≤ 31) PDQ bits of ``pdq``.

    A best candidate at ≤ 15 bits from the exact-chunk pass is the true nearest (anything closer
    would also agree exactly on a chunk); otherwise the one-bit-neighbour pass decides.
    """
    if threshold > 31:
        raise ValueError("the chunk index answers thresholds up to 31 bits")
    params: dict[str, Any] = {"q": bits(pdq), "t": threshold, "t1": min(threshold, 15)}
    for i, value in enumerate(chunks(pdq)):
        params[f"e{i}"] = value
        params[f"n{i}"] = neighbours(value)
    row = conn.execute(_NEAREST, params).fetchone()
    if row is None:
        return None
    record = ManifestRecord(*row[:7])
    return Match(record=record, distance=int(row[8]), frame=int(row[7]))


def asset_fingerprints(conn: Conn, asset_ids: Sequence[str]) -> list[bytes]:
    """The PDQ hashes (every frame, quality ≥ 50) of the released assets ``asset_ids``."""
    rows = conn.execute(
        "SELECT f.pdq::text FROM provenance_fingerprints f "
        "JOIN provenance_manifests m ON m.id = f.manifest_id "
        "WHERE m.asset_id = ANY(%s) AND f.pdq_quality >= 50 ORDER BY m.id, f.frame",
        (list(asset_ids),),
    ).fetchall()
    return list(dict.fromkeys(int(row[0], 2).to_bytes(32, "big") for row in rows))
