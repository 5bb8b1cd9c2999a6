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

# Fingerprint rows get their ``seq`` under this lock, held to commit, so readers see them in order.
_FINGERPRINT_LOCK = 0x50444951  # "PDIQ"


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
class RepositoryMatch:
    record: ManifestRecord
    distance: int
    frame: int


def bits(raw: bytes) -> str:
    """A hash as a PostgreSQL bit-string literal, most significant bit first."""
    return "".join(f"{b:08b}" for b in raw)


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
    conn.execute("SELECT pg_advisory_xact_lock(%s)", (_FINGERPRINT_LOCK,))
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO provenance_fingerprints (manifest_id, frame, pdq, pdq_raw, pdq_quality, phash) "
            "VALUES (%s, %s, %s::bit(256), %s, %s, %s::bit(64))",
            [
                (manifest_id, i, bits(h.pdq.value), h.pdq.value, h.pdq.quality, bits(h.phash))
                for i, h in enumerate(frames)
            ],
        )


def newest_fingerprint(conn: Conn) -> int:
    row = conn.execute("SELECT coalesce(max(seq), 0) FROM provenance_fingerprints").fetchone()
    return int(row[0]) if row else 0


def fingerprints_after(conn: Conn, after: int, limit: int) -> tuple[list[int], bytes]:
    """Up to ``limit`` (seq, PDQ) rows after ``after``: the seqs and the hashes concatenated."""
    rows = conn.execute(
        "SELECT seq, pdq_raw FROM provenance_fingerprints WHERE seq > %s ORDER BY seq LIMIT %s",
        (after, limit),
    ).fetchall()
    return [int(r[0]) for r in rows], b"".join(bytes(r[1]) for r in rows)


def by_fingerprint(conn: Conn, seq: int) -> tuple[ManifestRecord, int] | None:
    """The manifest a fingerprint row belongs to, and the frame it is of."""
    row = conn.execute(
        "SELECT m.id, m.asset_id, m.sha256, m.mime, m.report, m.log_index, m.signed_at, f.frame "
        "FROM provenance_fingerprints f JOIN provenance_manifests m ON m.id = f.manifest_id WHERE f.seq = %s",
        (seq,),
    ).fetchone()
    if row is None:
        return None
    return ManifestRecord(*row[:7]), int(row[7])


def by_sha256(conn: Conn, sha256: str) -> ManifestRecord | None:
    with conn.cursor(row_factory=class_row(ManifestRecord)) as cur:
        return cur.execute(
            "SELECT id, asset_id, sha256, mime, report, log_index, signed_at FROM provenance_manifests "
            "WHERE sha256 = %s ORDER BY signed_at DESC LIMIT 1",
            (sha256,),
        ).fetchone()


def asset_fingerprints(conn: Conn, asset_ids: Sequence[str]) -> list[bytes]:
    """The PDQ hashes (every frame, quality ≥ 50) of the released assets ``asset_ids``."""
    rows = conn.execute(
        "SELECT f.pdq_raw FROM provenance_fingerprints f "
        "JOIN provenance_manifests m ON m.id = f.manifest_id "
        "WHERE m.asset_id = ANY(%s) AND f.pdq_quality >= 50 ORDER BY m.id, f.frame",
        (list(asset_ids),),
    ).fetchall()
    return list(dict.fromkeys(bytes(row[0]) for row in rows))
