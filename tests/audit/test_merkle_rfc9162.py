"""The tree code against the independent RFC 9162 verifier, for every tree size 1..200."""

from __future__ import annotations

from service.audit import merkle
from tests.audit import rfc9162

N = 200
ENTRIES = [f"entry-{i}".encode() for i in range(N)]


def _stored_nodes() -> dict[merkle.Node, bytes]:
    """The nodes the log stores, grown the way appends grow them (uneven batches)."""
    nodes: dict[merkle.Node, bytes] = {}
    start = 0
    for batch in (1, 2, 3, 1, 7, 16, 5, 33, 64, 68):
        frontier = [(n, nodes[n]) for n in merkle.chunks(0, start)]
        leaves = [merkle.leaf_hash(e) for e in ENTRIES[start : start + batch]]
        nodes.update(merkle.extend(frontier, leaves, start))
        start += batch
    assert start == N
    return nodes


NODES = _stored_nodes()


def _hashes(ranges: list[merkle.Range]) -> list[bytes]:
    return [merkle.range_hash(r, NODES) for r in ranges]


def test_roots_match_the_rfc_definition_for_every_size() -> None:
    for n in range(1, N + 1):
        assert _hashes(merkle.root_ranges(n)) == [rfc9162.mth(ENTRIES[:n])]


def test_inclusion_proofs_for_every_index_and_size() -> None:
    for n in range(1, N + 1):
        root = rfc9162.mth(ENTRIES[:n])
        for m in range(n):
            proof = _hashes(merkle.inclusion_ranges(m, n))
            assert proof == rfc9162.path(m, ENTRIES[:n])
            assert rfc9162.verify_inclusion(m, n, ENTRIES[m], proof, root)
            assert merkle.root_from_inclusion(m, n, merkle.leaf_hash(ENTRIES[m]), proof) == root


def test_consistency_proofs_for_every_pair_of_sizes() -> None:
    roots = [rfc9162.mth(ENTRIES[:n]) for n in range(N + 1)]
    for second in range(1, N + 1):
        for first in range(1, second + 1):
            proof = _hashes(merkle.consistency_ranges(first, second))
            assert proof == rfc9162.subproof(first, ENTRIES[:second], True)
            assert rfc9162.verify_consistency(first, second, roots[first], roots[second], proof)
            assert merkle.verify_consistency(first, second, roots[first], roots[second], proof)


def test_wrong_proofs_are_refused() -> None:
    roots = [rfc9162.mth(ENTRIES[:n]) for n in range(N + 1)]
    proof = _hashes(merkle.consistency_ranges(37, 150))
    assert not merkle.verify_consistency(37, 150, roots[38], roots[150], proof)
    assert not merkle.verify_consistency(37, 150, roots[37], roots[149], proof)
    inclusion = _hashes(merkle.inclusion_ranges(5, 100))
    assert merkle.root_from_inclusion(6, 100, merkle.leaf_hash(ENTRIES[5]), inclusion) != roots[100]
    assert merkle.root_from_inclusion(5, 100, merkle.leaf_hash(b"forged"), inclusion) != roots[100]
