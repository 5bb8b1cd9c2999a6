"""One bank index per node: the serving processes share memory-mapped snapshots of the postings
(``BankIndex(shared_dir=...)``), each keeping only the entries committed after the snapshot."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np

from service.match import banks
from service.match.matching import BankIndex
from service.match.model import BankKind, HashType
from service.services import Services

ENTRIES = 20_000  # past the unindexed tail's limit (16,384): the first sync publishes a snapshot


def _hashes(seed: int, count: int) -> list[bytes]:
    rng = random.Random(seed)
    return [rng.randbytes(32) for _ in range(count)]


def _near(value: bytes, bits: int, seed: int) -> bytes:
    """``value`` with ``bits`` of its 256 bits flipped."""
    number = int.from_bytes(value, "big")
    for bit in random.Random(seed).sample(range(256), bits):
        number ^= 1 << bit
    return number.to_bytes(32, "big")


def _fill(services: Services, hashes: list[bytes]) -> None:
    with services.db.system() as conn:
        bank = banks.ensure_bank(
            conn, "shared-list", tenant_id=None, kind=BankKind.BLOCK, hash_type=HashType.PDQ
        )
        banks.add_signals(conn, bank, hashes, ("propaganda",))


def _ids(index: BankIndex, query: bytes) -> list[int]:
    return [int(i) for i in index.search(HashType.PDQ, [query]).ids]


def test_processes_of_a_node_share_one_snapshot_and_keep_only_newer_entries(
    services: Services, tmp_path: Path
):
    shared = tmp_path / "match-index"
    planted = _hashes(1, ENTRIES)
    _fill(services, planted)
    first, second = BankIndex(shared_dir=shared), BankIndex(shared_dir=shared)

    with services.db.system() as conn:
        first.sync(conn)  # builds and publishes the postings of every entry
    snapshots = sorted((shared / "pdq").glob("upto-*"))
    assert len(snapshots) == 1
    with services.db.system() as conn:
        second.sync(conn)  # opens them instead of loading 20,000 rows

    for index in (first, second):
        postings = index.indexes[HashType.PDQ]._main
        assert isinstance(postings.words, np.memmap)  # pages shared through the page cache
        assert len(postings) == ENTRIES
        assert index.adopted[HashType.PDQ] == json.loads((snapshots[0] / "meta.json").read_text())["last_id"]
    query = _near(planted[12_345], 20, seed=7)
    assert _ids(first, query) == _ids(second, query) != []

    later = _hashes(2, 10)
    _fill(services, later)  # committed after the snapshot: each process holds just these
    with services.db.system() as conn:
        second.sync(conn)
    assert int(second.indexes[HashType.PDQ]._tail_ids.shape[0]) == 10
    assert _ids(second, _near(later[3], 9, seed=8)) != []


def test_a_snapshot_of_another_database_is_never_adopted(services: Services, tmp_path: Path):
    shared = tmp_path / "match-index"
    _fill(services, _hashes(3, ENTRIES))
    with services.db.system() as conn:
        BankIndex(shared_dir=shared).sync(conn)
    (snapshot,) = (shared / "pdq").glob("upto-*")
    meta = json.loads((snapshot / "meta.json").read_text())
    (snapshot / "meta.json").write_text(json.dumps({**meta, "last_signal": "00" * 32}))  # not this database's

    stranger = BankIndex(shared_dir=shared)
    with services.db.system() as conn:
        stranger.sync(conn)

    # Loaded from PostgreSQL instead, and published again from what it loaded.
    assert len(stranger.indexes[HashType.PDQ]) == ENTRIES
    rebuilt = json.loads((snapshot / "meta.json").read_text())
    assert rebuilt["last_signal"] == meta["last_signal"] != "00" * 32
