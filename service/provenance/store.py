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


# Each chunk column is probed with its candidate values (BitmapOr of 16 btree scans), then the
# full distance is checked on the candidates only.
_NEAREST = (
    "SELECT manifest_id, frame, d FROM ("
    "  SELECT manifest_id, frame, bit_count(pdq # %s::bit(256)) AS d FROM provenance_fingerprints"
    "  WHERE c0 = ANY(%s) OR c1 = ANY(%s) OR c2 = ANY(%s) OR c3 = ANY(%s) OR c4 = ANY(%s)"
    "     OR c5 = ANY(%s) OR c6 = ANY(%s) OR c7 = ANY(%s) OR c8 = ANY(%s) OR c9 = ANY(%s)"
    "     OR c10 = ANY(%s) OR c11 = ANY(%s) OR c12 = ANY(%s) OR c13 = ANY(%s) OR c14 = ANY(%s)"
    "     OR c15 = ANY(%s)) candidates "
    "WHERE d <= %s ORDER BY d LIMIT 1"
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

    Two passes. (1) Exact chunk values (16 probes): any hash within 15 bits agrees exactly on
    some chunk, so a best candidate at ≤ 15 bits is the true nearest; re-encoded and resized
    copies land here. (2) Otherwise each chunk and its 16 one-bit neighbours (272 probes), which
    finds everything within 31 bits.
    """
    if threshold > 31:
        raise ValueError("the chunk index answers thresholds up to 31 bits")
    values = chunks(pdq)
    row = conn.execute(_NEAREST, [bits(pdq), *([v] for v in values), min(threshold, 15)]).fetchone()
    if row is None and threshold > 15:
        row = conn.execute(_NEAREST, [bits(pdq), *(neighbours(v) for v in values), threshold]).fetchone()
    if row is None:
        return None
    with conn.cursor(row_factory=class_row(ManifestRecord)) as cur:
        record = cur.execute(
            "SELECT id, asset_id, sha256, mime, report, log_index, signed_at FROM provenance_manifests "
            "WHERE id = %s",
            (row[0],),
        ).fetchone()
    return None if record is None else Match(record=record, distance=int(row[2]), frame=int(row[1]))
