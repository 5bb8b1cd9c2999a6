"""Exact Hamming-radius search over binary hashes by multi-index hashing (Norouzi et al., 2012).

Why this index (the choice for 10 M entries, measured in ``bench/bench_match.py``):

- A hash of ``b`` bits is cut into ``m = b / 16`` chunks of 16 bits. If two hashes are at most
  ``t`` bits apart, then by the pigeonhole principle at least one chunk differs in at most
  ``floor(t / m)`` bits. So the candidates of a query are the entries whose chunk ``i`` equals one
  of the query's chunk-``i`` values with up to ``floor(t / m)`` bits flipped — for PDQ at t = 31
  that is 16 chunks × 17 values. Every candidate is then verified with its full Hamming distance.
  Nothing within ``t`` is ever missed (unlike approximate nearest-neighbour indexes such as HNSW,
  which missed 15–67 % of planted near-duplicates here).
- Postings are one ``argsort`` per chunk (int32 permutation) plus a 65,537-entry offsets table,
  so a lookup is two array reads and the whole query is vectorised numpy with no Python loop per
  candidate. Memory is ``b/8`` bytes of hash + 8 bytes of id + ``4·m`` bytes of postings per
  entry: 104 bytes for PDQ, about 1 GB at 10 M entries.
- New entries go to a small unindexed tail searched by brute force; the postings are rebuilt
  when the tail outgrows ``max(16384, n/8)`` (a rebuild of 10 M PDQ entries takes a few seconds).
- The postings can be written to a folder (``save``) and opened memory-mapped (``adopt``): the
  serving processes of one node then share one copy in the page cache instead of one each
  (``match.matching.BankIndex`` publishes and adopts them).

The index holds hashes and ids only; which bank an id belongs to, its labels and whether it is
quarantined stay in PostgreSQL (the record of truth), see ``match.matching``.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

CHUNK_BITS = 16
_BUCKETS = 1 << CHUNK_BITS
_MIN_TAIL = 16_384

U64 = npt.NDArray[np.uint64]
I64 = npt.NDArray[np.int64]


def _flip_masks(radius: int) -> npt.NDArray[np.intp]:
    """Every 16-bit mask with at most ``radius`` bits set (the chunk values to probe)."""
    masks = [0]
    for r in range(1, radius + 1):
        for bits in itertools.combinations(range(CHUNK_BITS), r):
            masks.append(sum(1 << b for b in bits))
    return np.asarray(masks, dtype=np.intp)


@dataclass(frozen=True, slots=True)
class Hits:
    """Every (query, entry) pair within the radius: parallel arrays, one row per pair."""

    query: npt.NDArray[np.intp]  # position of the query in the batch
    ids: I64  # the id the entry was added with
    distance: npt.NDArray[np.int64]

    def __len__(self) -> int:
        return int(self.ids.shape[0])


_ARRAYS = ("words", "ids", "perm", "offsets")


class _Postings:
    """An immutable snapshot: indexed hashes, their ids and the per-chunk postings."""

    def __init__(self, words: U64, ids: I64, built: tuple[npt.NDArray[np.int32], I64] | None = None) -> None:
        self.words = words  # (n, b/64) uint64
        self.ids = ids
        if built is not None:  # read back from a saved snapshot
            self.perm, self.offsets = built
            return
        n = words.shape[0]
        chunks = words.view(np.uint16)  # (n, m): the hash's 16-bit chunks
        m = chunks.shape[1]
        self.perm = np.empty((m, n), dtype=np.int32)
        self.offsets = np.empty((m, _BUCKETS + 1), dtype=np.int64)
        for c in range(m):
            column = chunks[:, c]
            self.perm[c] = np.argsort(column, kind="stable")
            self.offsets[c, 0] = 0
            np.cumsum(np.bincount(column, minlength=_BUCKETS), out=self.offsets[c, 1:])

    def __len__(self) -> int:
        return int(self.words.shape[0])

    def save(self, directory: Path, meta: dict[str, object]) -> None:
        """Write the arrays as ``.npy`` files and ``meta`` as ``meta.json`` into ``directory``
        (which must not exist yet), through a part folder renamed at the end: a reader never
        sees half of it."""
        part = directory.with_name(f".{directory.name}.{os.getpid()}.part")
        shutil.rmtree(part, ignore_errors=True)
        part.mkdir(parents=True)
        for name in _ARRAYS:
            np.save(part / f"{name}.npy", np.ascontiguousarray(getattr(self, name)))
        (part / "meta.json").write_text(json.dumps(meta))
        os.replace(part, directory)

    @classmethod
    def open(cls, directory: Path) -> _Postings:
        """The saved arrays, memory-mapped read-only: every process that opens them shares the pages."""
        words, ids, perm, offsets = (np.load(directory / f"{n}.npy", mmap_mode="r") for n in _ARRAYS)
        return cls(words, ids, (perm, offsets))


class MultiIndex:
    """Exact search for every entry within Hamming distance ``t`` of each query.

    Thread-safe: queries read an immutable snapshot; ``add`` swaps in a new one under a lock.
    """

    def __init__(self, bits: int) -> None:
        if bits % 64:
            raise ValueError("the hash width must be a multiple of 64 bits")
        self.bits = bits
        self._nwords = bits // 64
        self._chunks = bits // CHUNK_BITS
        empty_words = np.empty((0, self._nwords), dtype=np.uint64)
        empty_ids = np.empty(0, dtype=np.int64)
        self._main = _Postings(empty_words, empty_ids)
        self._tail_words: U64 = empty_words
        self._tail_ids: I64 = empty_ids
        self._lock = threading.Lock()
        self._masks: dict[int, npt.NDArray[np.intp]] = {}

    def __len__(self) -> int:
        return len(self._main) + int(self._tail_ids.shape[0])

    def as_words(self, hashes: npt.NDArray[np.uint8] | bytes | list[bytes]) -> U64:
        """Hashes as (n, b/64) uint64 rows (a view where possible); raw bytes or an (n, b/8) uint8 array."""
        if isinstance(hashes, bytes):
            hashes = [hashes]
        if isinstance(hashes, list):
            raw = np.frombuffer(b"".join(hashes), dtype=np.uint8)
        else:
            raw = np.ascontiguousarray(hashes, dtype=np.uint8)
        width = self.bits // 8
        if raw.size % width:
            raise ValueError(f"hashes must be {width} bytes each")
        return raw.reshape(-1, width).view(np.uint64)

    @property
    def tail_full(self) -> bool:
        """The unindexed tail has outgrown what brute force should scan: time to rebuild."""
        return int(self._tail_ids.shape[0]) > max(_MIN_TAIL, len(self._main) // 8)

    def save(self, directory: Path, meta: dict[str, object]) -> None:
        """Index everything held (postings and tail) and write it, with ``meta``, to ``directory``."""
        with self._lock:
            main, tail_words, tail_ids = self._main, self._tail_words, self._tail_ids
        built = _Postings(np.concatenate([main.words, tail_words]), np.concatenate([main.ids, tail_ids]))
        built.save(directory, meta)

    def adopt(self, directory: Path, *, after_id: int) -> None:
        """Search the postings saved in ``directory`` (memory-mapped), which hold every entry up to
        id ``after_id``; the tail keeps only the entries added after it."""
        opened = _Postings.open(directory)
        with self._lock:
            keep = self._tail_ids > after_id
            self._main = opened
            self._tail_words, self._tail_ids = self._tail_words[keep], self._tail_ids[keep]

    def add(
        self, hashes: npt.NDArray[np.uint8] | list[bytes], ids: npt.ArrayLike, *, rebuild: bool = True
    ) -> None:
        """Add entries (ids ascending). ``rebuild=False``: never rebuild the postings here (the
        caller publishes a shared snapshot instead), the tail just grows."""
        words = self.as_words(hashes)
        id_array = np.asarray(ids, dtype=np.int64).reshape(-1)
        if id_array.shape[0] != words.shape[0]:
            raise ValueError("one id per hash")
        with self._lock:
            full = self._tail_ids.shape[0] + id_array.shape[0] > max(_MIN_TAIL, len(self._main) // 8)
            if rebuild and full:
                # one copy of everything into the new snapshot (``words`` may view the caller's array)
                self._main = _Postings(
                    np.concatenate([self._main.words, self._tail_words, words]),
                    np.concatenate([self._main.ids, self._tail_ids, id_array]),
                )
                self._tail_words, self._tail_ids = self._tail_words[:0], self._tail_ids[:0]
            else:
                self._tail_words = np.concatenate([self._tail_words, words])
                self._tail_ids = np.concatenate([self._tail_ids, id_array])

    def _flip(self, radius: int) -> npt.NDArray[np.intp]:
        masks = self._masks.get(radius)
        if masks is None:
            masks = self._masks[radius] = _flip_masks(radius)
        return masks

    def search(self, queries: npt.NDArray[np.uint8] | list[bytes] | bytes, threshold: int) -> Hits:
        """Every entry at distance ≤ ``threshold`` from each query, with its distance (exact)."""
        q = self.as_words(queries)
        main, tail_words, tail_ids = self._main, self._tail_words, self._tail_ids
        parts = [self._search_main(main, q, threshold)]
        if tail_ids.shape[0]:
            parts.append(_brute(tail_words, tail_ids, q, threshold))
        if len(parts) == 1:
            return parts[0]
        return Hits(
            query=np.concatenate([p.query for p in parts]),
            ids=np.concatenate([p.ids for p in parts]),
            distance=np.concatenate([p.distance for p in parts]),
        )

    def _search_main(self, main: _Postings, q: U64, threshold: int) -> Hits:
        n = len(main)
        nq = q.shape[0]
        if n == 0 or nq == 0:
            return _no_hits()
        m = self._chunks
        masks = self._flip(threshold // m)
        # (nq, m, k) chunk values to probe, and where their postings start and end
        probes = q.view(np.uint16).astype(np.intp)[:, :, None] ^ masks[None, None, :]
        chunk = np.arange(m, dtype=np.intp)[None, :, None]
        flat = (chunk * (_BUCKETS + 1) + probes).reshape(-1)
        starts = np.take(main.offsets.reshape(-1), flat)
        ends = np.take(main.offsets.reshape(-1), flat + 1)
        lengths = ends - starts
        total = int(lengths.sum())
        if total == 0:
            return _no_hits()
        # Concatenate the ranges [start, end) of every probe without a Python loop.
        bases = (starts + np.broadcast_to(chunk * n, probes.shape).reshape(-1)) - (
            np.cumsum(lengths) - lengths
        )
        positions = np.repeat(bases, lengths) + np.arange(total, dtype=np.int64)
        # np.take, not fancy indexing: for row gathers it is several times faster in numpy 2.x
        rows = np.take(main.perm.reshape(-1), positions)
        qrow = np.repeat(np.repeat(np.arange(nq, dtype=np.intp), m * masks.shape[0]), lengths)
        dist = _distance(np.take(main.words, rows, axis=0), q, qrow)
        keep = dist <= threshold
        # A row that shares several chunks with the query is found several times: report it once.
        key, first = np.unique(qrow[keep].astype(np.int64) * n + rows[keep], return_index=True)
        return Hits(
            query=(key // n).astype(np.intp), ids=np.take(main.ids, key % n), distance=dist[keep][first]
        )


def _distance(words: U64, q: U64, qrow: npt.NDArray[np.intp]) -> npt.NDArray[np.int64]:
    """Hamming distance of each row to its query; column by column (a reduction over an axis of
    four is several times slower in numpy than four vector adds)."""
    counts = np.bitwise_count(words ^ np.take(q, qrow, axis=0))
    dist: npt.NDArray[np.int64] = counts[:, 0].astype(np.int64)
    for w in range(1, counts.shape[1]):
        dist += counts[:, w]
    return dist


def _brute(words: U64, ids: I64, q: U64, threshold: int) -> Hits:
    """Every (query, entry) distance, one 64-bit word at a time: a sum over the last axis of a
    (queries, n, words) array is several times slower in numpy than adding the columns."""
    columns = np.ascontiguousarray(words.T)
    dist = np.bitwise_count(q[:, 0, None] ^ columns[None, 0]).astype(np.uint16)  # ≤ 256 bits
    for w in range(1, columns.shape[0]):
        dist += np.bitwise_count(q[:, w, None] ^ columns[None, w])
    qrow, rows = np.nonzero(dist <= threshold)
    return Hits(query=qrow.astype(np.intp), ids=ids[rows], distance=dist[qrow, rows].astype(np.int64))


def _no_hits() -> Hits:
    return Hits(
        query=np.empty(0, dtype=np.intp),
        ids=np.empty(0, dtype=np.int64),
        distance=np.empty(0, dtype=np.int64),
    )


def brute_force(words: U64, q: U64, threshold: int) -> Hits:
    """Reference search over every entry (tests and the benchmark compare against it)."""
    return _brute(words, np.arange(words.shape[0], dtype=np.int64), q, threshold)
