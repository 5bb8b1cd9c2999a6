"""Matching frames against every bank a tenant consults: its own banks and the system banks.

``BankIndex`` keeps one ``MultiIndex`` per hash type and catches up from PostgreSQL (the record
of truth) at the start of every match: one query reads the newest signal id, and only newer rows
are loaded, so each process sees every committed change. Bank, labels, threshold and quarantine
state are read from PostgreSQL for the few entries the index returns, so a changed threshold or
a quarantine applies at once.

With a ``shared_dir`` (the node's ``<data_dir>/tmp/match-index``), the serving processes of a node
share one copy of the postings: when a process's unindexed tail outgrows its limit it takes the
folder's lock, builds the postings of everything it holds and publishes them as
``<hash type>/upto-<last id>/`` (``.npy`` files); every process then opens the newest snapshot
memory-mapped at its next match (the page cache holds one copy for all of them) and keeps in its
own memory only the entries committed after it. A snapshot is adopted only when PostgreSQL still
holds its last entry with the same hash (another database's snapshot is never read).

Rules, in order, per frame:
1. PDQ quality below 50 (flat or tiny frames): reported in ``low_quality``, not matched at all.
2. PDQ: the 8 dihedral hashes are queried (flips and rotations); pHash: the frame's hash.
   A match is an entry within its bank's threshold; the smallest distance is kept.
3. A match in an allow bank suppresses the block matches of the same frame (template frames).
4. Flood quarantine: each block entry counts the distinct items (SHA-256 of the checked media)
   it matched within ``flood_window_s``; past ``flood_limit`` it is quarantined (disabled,
   audited) and its matches are reported in ``quarantined`` instead of ``matches``.
"""

from __future__ import annotations

import fcntl
import json
import shutil
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

import numpy as np
from PIL import Image

from service.audit import Event, EventName, append
from service.db import Conn, in_system_scope
from service.match import store
from service.match.hashes import PDQ_BITS, PHASH_BITS, ImageHashes, hamming, hash_image
from service.match.index import Hits, MultiIndex
from service.match.model import BankKind, FrameQuality, HashType, Match, MatchReport
from service.media import MediaInfo, MediaLimits
from service.media.intake import iter_frames

_LOAD_PAGE = 200_000
# Consecutive video frames closer than this (PDQ bits) are one shot: only the first is kept.
DUPLICATE_FRAME_DISTANCE = 10


@dataclass(frozen=True, slots=True)
class FrameHashes:
    frame: int
    t: float
    hashes: ImageHashes


class BankIndex:
    """The index of every bank entry, kept in step with PostgreSQL (shared by a node's processes
    through memory-mapped snapshots when ``shared_dir`` is given)."""

    def __init__(
        self, *, flood_limit: int = 100, flood_window_s: float = 3600.0, shared_dir: Path | None = None
    ) -> None:
        self.flood_limit = flood_limit
        self.flood_window_s = flood_window_s
        self.indexes = {HashType.PDQ: MultiIndex(PDQ_BITS), HashType.PHASH: MultiIndex(PHASH_BITS)}
        self.loaded = dict.fromkeys(HashType, 0)
        self.radius = dict.fromkeys(HashType, 0)
        self.shared_dir = shared_dir
        self.adopted = dict.fromkeys(HashType, 0)  # last id of the snapshot in use (0: none)
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return sum(len(i) for i in self.indexes.values())

    def sync(self, conn: Conn) -> None:
        """Load every committed entry newer than the last one loaded (needs a system() scope)."""
        if not in_system_scope(conn):
            raise ValueError("the bank index loads every tenant's banks: pass a system() transaction")
        state = store.index_state(conn)
        with self._lock:
            for hash_type, (newest, radius) in state.items():
                kind = HashType(hash_type)
                self.radius[kind] = radius
                if self.shared_dir is None:
                    self._catch_up(conn, kind, newest)
                    continue
                self._adopt_newest(conn, kind)
                if newest - self.loaded[kind] > _LOAD_PAGE:  # a large load: one process makes it
                    with self._publishing(kind):  # while the others wait, then adopt its snapshot
                        self._adopt_newest(conn, kind)
                        self._catch_up(conn, kind, newest)
                        if self.indexes[kind].tail_full:
                            self._publish(conn, kind)
                    continue
                self._catch_up(conn, kind, newest)
                if self.indexes[kind].tail_full:
                    with self._publishing(kind):
                        self._adopt_newest(conn, kind)  # another process may have published just now
                        if self.indexes[kind].tail_full:
                            self._publish(conn, kind)

    def _catch_up(self, conn: Conn, kind: HashType, newest: int) -> None:
        while self.loaded[kind] < newest:
            ids, hashes = store.signals_after(conn, kind, self.loaded[kind], _LOAD_PAGE)
            if not ids:
                break
            data = np.frombuffer(hashes, dtype=np.uint8)
            self.indexes[kind].add(data, ids, rebuild=self.shared_dir is None)
            self.loaded[kind] = ids[-1]

    # --- snapshots shared by a node's processes ----------------------------------------------
    def _folder(self, kind: HashType) -> Path:
        assert self.shared_dir is not None
        folder = self.shared_dir / kind.value
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    @contextmanager
    def _publishing(self, kind: HashType) -> Iterator[None]:
        with (self._folder(kind) / ".lock").open("a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _adopt_newest(self, conn: Conn, kind: HashType) -> None:
        """Open the newest snapshot of ``kind`` if it is newer than the one this process uses."""
        found = sorted(self._folder(kind).glob("upto-*"))
        if not found or int(found[-1].name.removeprefix("upto-")) <= self.adopted[kind]:
            return
        newest = found[-1]
        last = int(newest.name.removeprefix("upto-"))
        if not _made_from(conn, newest, last):
            return  # another database's snapshot, or its last entry is gone: load from PostgreSQL
        self.indexes[kind].adopt(newest, after_id=last)
        self.adopted[kind] = last
        self.loaded[kind] = max(self.loaded[kind], last)

    def _publish(self, conn: Conn, kind: HashType) -> None:
        """Build the postings of everything held, publish them, adopt them, drop older ones."""
        folder, last = self._folder(kind), self.loaded[kind]
        target = folder / f"upto-{last:015d}"
        if not _made_from(conn, target, last):
            shutil.rmtree(target, ignore_errors=True)
            self.indexes[kind].save(target, {"last_id": last, "last_signal": store.signal_hex(conn, last)})
        self.indexes[kind].adopt(target, after_id=last)
        self.adopted[kind] = last
        for old in folder.glob("upto-*"):
            if old != target:  # a process still mapping an old one keeps its pages until it moves on
                shutil.rmtree(old, ignore_errors=True)

    def search(self, hash_type: HashType, hashes: list[bytes]) -> Hits:
        return self.indexes[hash_type].search(hashes, self.radius[hash_type])


def _made_from(conn: Conn, snapshot: Path, last: int) -> bool:
    """Whether ``snapshot`` was built from this database: its last entry is there, same hash."""
    try:
        meta = json.loads((snapshot / "meta.json").read_text())
    except (OSError, ValueError):
        return False
    return bool(meta.get("last_id") == last and meta.get("last_signal") == store.signal_hex(conn, last))


def hash_frames(frames: Iterable[tuple[int, float, Image.Image]]) -> list[FrameHashes]:
    """Hash (index, t, image) frames, dropping a frame that repeats the one kept before it."""
    kept: list[FrameHashes] = []
    for index, t, image in frames:
        hashes = hash_image(image)
        previous = kept[-1].hashes.pdq if kept else None
        if (
            previous is not None
            and not previous.low_quality
            and not hashes.pdq.low_quality
            and hamming(hashes.pdq.value, previous.value) <= DUPLICATE_FRAME_DISTANCE
        ):
            continue
        kept.append(FrameHashes(index, t, hashes))
    return kept


def match_image(
    conn: Conn, index: BankIndex, *, tenant_id: UUID | None, image: Image.Image, item: str | None
) -> MatchReport:
    return match_hashes(conn, index, tenant_id=tenant_id, frames=hash_frames([(0, 0.0, image)]), item=item)


def match_media(
    conn: Conn,
    index: BankIndex,
    *,
    tenant_id: UUID | None,
    info: MediaInfo,
    limits: MediaLimits,
    fps: float = 1.0,
) -> MatchReport:
    """An image, or a video's frames at ~``fps`` (consecutive duplicates dropped); item = its SHA-256."""
    frames = ((f.index, f.t, f.image) for f in iter_frames(info, fps=fps, limits=limits))
    return match_hashes(conn, index, tenant_id=tenant_id, frames=hash_frames(frames), item=info.sha256)


def match_hashes(
    conn: Conn,
    index: BankIndex,
    *,
    tenant_id: UUID | None,
    frames: Sequence[FrameHashes],
    item: str | None,
) -> MatchReport:
    """Match frames against ``tenant_id``'s banks and the system banks.

    ``conn`` must be a ``services.db.system()`` transaction (the index loads every bank, and a
    flood may quarantine a system entry); ``tenant_id`` decides which banks count. ``item`` is the
    SHA-256 hex of the checked media, counted for flood quarantine (None: not counted).
    """
    index.sync(conn)
    low = tuple(FrameQuality(f.frame, f.t, f.hashes.pdq.quality) for f in frames if f.hashes.pdq.low_quality)
    good = [f for f in frames if not f.hashes.pdq.low_quality]
    found: dict[tuple[int, int], tuple[int, HashType]] = {}  # (frame pos, signal id) -> distance
    pdq_hits = index.search(HashType.PDQ, [h.value for f in good for h in f.hashes.pdq_dihedral])
    per_frame = [len(f.hashes.pdq_dihedral) for f in good]
    owner = [pos for pos, n in enumerate(per_frame) for _ in range(n)]
    _collect(found, pdq_hits, owner, HashType.PDQ)
    phash_hits = index.search(HashType.PHASH, [f.hashes.phash for f in good])
    _collect(found, phash_hits, list(range(len(good))), HashType.PHASH)
    if not found:
        return MatchReport((), (), (), low, len(frames))

    entries = {
        e.id: e for e in store.signal_hits(conn, sorted({sid for _, sid in found}), tenant_id=tenant_id)
    }
    by_frame: dict[int, list[Match]] = {}
    for (pos, sid), (distance, hash_type) in sorted(found.items()):
        e = entries.get(sid)
        if e is None or e.hash_type != hash_type.value or distance > e.threshold:
            continue
        frame = good[pos]
        by_frame.setdefault(pos, []).append(
            Match(
                bank=e.bank,
                kind=BankKind(e.kind),
                hash_type=hash_type,
                distance=distance,
                threshold=e.threshold,
                signal=e.signal.hex(),
                signal_id=e.id,
                labels=tuple(e.labels),
                frame=frame.frame,
                t=frame.t,
                system=e.bank_tenant_id is None,
            )
        )

    kept: list[Match] = []
    suppressed: list[Match] = []
    quarantined: list[Match] = []
    for matches in by_frame.values():
        live = [m for m in matches if entries[m.signal_id].quarantined_at is None]
        quarantined.extend(m for m in matches if entries[m.signal_id].quarantined_at is not None)
        if any(m.kind is BankKind.ALLOW for m in live):
            suppressed.extend(m for m in live if m.kind is BankKind.BLOCK)
            kept.extend(m for m in live if m.kind is BankKind.ALLOW)
        else:
            kept.extend(live)

    if item is not None:
        flooded = _flood(conn, index, [m for m in kept if m.kind is BankKind.BLOCK], entries, item)
        quarantined.extend(m for m in kept if m.signal_id in flooded)
        kept = [m for m in kept if m.signal_id not in flooded]
    return MatchReport(_best(kept), _best(suppressed), _best(quarantined), low, len(frames))


def _collect(
    found: dict[tuple[int, int], tuple[int, HashType]], hits: Hits, owner: list[int], hash_type: HashType
) -> None:
    for q, sid, dist in zip(hits.query.tolist(), hits.ids.tolist(), hits.distance.tolist(), strict=True):
        key = (owner[q], sid)
        if key not in found or dist < found[key][0]:
            found[key] = (dist, hash_type)


def _best(matches: Iterable[Match]) -> tuple[Match, ...]:
    """One match per bank entry (its closest frame), closest first."""
    best: dict[int, Match] = {}
    for m in matches:
        if m.signal_id not in best or m.distance < best[m.signal_id].distance:
            best[m.signal_id] = m
    return tuple(sorted(best.values(), key=lambda m: (m.distance, m.bank, m.signal_id)))


def _flood(
    conn: Conn, index: BankIndex, matches: list[Match], entries: dict[int, store.SignalHit], item: str
) -> set[int]:
    ids = sorted({m.signal_id for m in matches})
    counts = store.record_hits(conn, ids, item=item, window_s=index.flood_window_s)
    over = [sid for sid, n in counts.items() if n > index.flood_limit]
    if not over:
        return set()
    newly = store.quarantine(conn, over)
    for sid in newly:
        e = entries[sid]
        append(
            conn,
            Event(
                EventName.BANK_CHANGED,
                str(e.bank_id),
                e.bank_tenant_id,
                {"action": "quarantined", "signal_id": sid, "signal": e.signal.hex(), "items": counts[sid]},
            ),
        )
    return set(over)
