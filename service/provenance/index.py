"""Fingerprint lookup for the manifest repository: an exact in-memory multi-index.

The index is the one the hash banks use (``service.match.index.MultiIndex``: 16-bit chunks,
probed with their one-bit neighbours for thresholds up to 31, every candidate's full distance
checked), so a stripped copy is found in well under a millisecond at a million signed frames.
PostgreSQL stays the record: before each lookup the index loads the rows committed since its
last load (their ``seq`` is assigned under a lock held to commit, so none is skipped).
"""

from __future__ import annotations

import threading

import numpy as np

from service.db import Conn
from service.match.hashes import PDQ_BITS
from service.match.index import MultiIndex
from service.provenance import store

_LOAD_PAGE = 200_000


class FingerprintIndex:
    def __init__(self) -> None:
        self._index = MultiIndex(PDQ_BITS)
        self._loaded = 0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._index)

    def sync(self, conn: Conn) -> None:
        """Load every committed fingerprint newer than the last one loaded."""
        newest = store.newest_fingerprint(conn)
        with self._lock:
            while self._loaded < newest:
                seqs, hashes = store.fingerprints_after(conn, self._loaded, _LOAD_PAGE)
                if not seqs:
                    break
                self._index.add(np.frombuffer(hashes, dtype=np.uint8).reshape(-1, PDQ_BITS // 8), seqs)
                self._loaded = seqs[-1]

    def nearest(self, conn: Conn, pdq: bytes, threshold: int) -> store.RepositoryMatch | None:
        """The closest signed frame within ``threshold`` PDQ bits of ``pdq`` (exact, ≤ 31)."""
        if threshold > 31:
            raise ValueError("the multi-index answers thresholds up to 31 bits")
        self.sync(conn)
        hits = self._index.search([pdq], threshold)
        if len(hits) == 0:
            return None
        best = int(np.argmin(hits.distance))
        found = store.by_fingerprint(conn, int(hits.ids[best]))
        if found is None:  # deleted since it was loaded
            return None
        record, frame = found
        return store.RepositoryMatch(record=record, distance=int(hits.distance[best]), frame=frame)
