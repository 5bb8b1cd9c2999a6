"""The multi-index matcher is exact: it finds every entry within the threshold, as brute force does."""

from __future__ import annotations

import numpy as np
import pytest

from service.match.index import MultiIndex, brute_force


def _near(rng: np.random.Generator, base: np.ndarray, distance: int) -> np.ndarray:
    bits = np.unpackbits(base)
    flip = rng.choice(bits.size, distance, replace=False)
    bits[flip] ^= 1
    return np.packbits(bits)


def _pairs(query: np.ndarray, ids: np.ndarray, dist: np.ndarray) -> set[tuple[int, int, int]]:
    return set(zip(query.tolist(), ids.tolist(), dist.tolist(), strict=True))


@pytest.mark.parametrize(("bits", "threshold"), [(256, 31), (256, 0), (256, 40), (64, 8), (64, 12)])
def test_every_entry_within_the_threshold_is_found(bits: int, threshold: int) -> None:
    rng = np.random.default_rng(bits + threshold)
    width = bits // 8
    base = rng.integers(0, 256, size=(50_000, width), dtype=np.uint8)
    queries = []
    # planted near-duplicates at every distance up to the threshold and just past it
    for d in range(threshold + 3):
        queries.append(_near(rng, base[d], min(d, bits)))
    queries_arr = np.stack(queries)
    index = MultiIndex(bits)
    index.add(base, np.arange(base.shape[0]) + 1000)
    found = index.search(queries_arr, threshold)
    expected = brute_force(index.as_words(base), index.as_words(queries_arr), threshold)
    assert _pairs(found.query, found.ids, found.distance) == _pairs(
        expected.query, expected.ids + 1000, expected.distance
    )
    for d in range(threshold + 1):
        assert (d, d + 1000, d) in _pairs(found.query, found.ids, found.distance)
    assert not any(
        q == threshold + 1 and i == threshold + 1 + 1000
        for q, i, _ in _pairs(found.query, found.ids, found.distance)
    )


def test_entries_added_later_are_found_before_and_after_the_postings_are_rebuilt() -> None:
    rng = np.random.default_rng(7)
    index = MultiIndex(256)
    first = rng.integers(0, 256, size=(1000, 32), dtype=np.uint8)
    index.add(first, np.arange(1000))
    later = rng.integers(0, 256, size=(20_000, 32), dtype=np.uint8)  # past the tail limit: rebuilt
    index.add(later[:10], np.arange(1000, 1010))  # stays in the tail
    hits = index.search(np.stack([_near(rng, later[3], 20), _near(rng, first[5], 25)]), 31)
    assert _pairs(hits.query, hits.ids, hits.distance) == {(0, 1003, 20), (1, 5, 25)}
    index.add(later[10:], np.arange(1010, 21_000))
    assert len(index) == 21_000
    hits = index.search(np.stack([_near(rng, later[15_000], 31)]), 31)
    assert _pairs(hits.query, hits.ids, hits.distance) == {(0, 16_000, 31)}


def test_an_empty_index_answers_nothing() -> None:
    index = MultiIndex(256)
    assert len(index.search([bytes(32)], 31)) == 0


def test_a_hash_of_the_wrong_width_is_refused() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        MultiIndex(256).search([bytes(8)], 31)
