"""The RFC 9162 Merkle tree, as pure functions over stored perfect-subtree hashes.

Hashes are domain separated (RFC 9162 §2.1.1): a leaf is SHA-256(0x00 ‖ entry), an inner node
SHA-256(0x01 ‖ left ‖ right). The store keeps every *perfect* subtree hash, keyed by
``(level, index)``: node ``(l, i)`` covers leaves ``[i·2^l, (i+1)·2^l)``. Any range the RFC's
recursion names (a subtree ``D[a:b]``) splits into at most ⌈log₂ n⌉ such nodes, so roots and
proofs need O(log n) stored hashes, never a rehash of the leaves.

The proof functions below return the *ranges* whose hashes make up a proof, in RFC order; the
caller fetches the nodes those ranges need (``nodes_for``) in one read and folds them
(``range_hash``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence

Node = tuple[int, int]  # (level, index)
Range = tuple[int, int]  # [start, end) of leaf indices

EMPTY_ROOT = hashlib.sha256(b"").digest()  # MTH({}) (RFC 9162 §2.1.1)


def leaf_hash(entry: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than ``n`` (n > 1): the RFC's ``k``."""
    return 1 << ((n - 1).bit_length() - 1)


def chunks(start: int, end: int) -> list[Node]:
    """The perfect subtrees that tile ``[start, end)``, left to right (largest aligned first)."""
    out: list[Node] = []
    while start < end:
        level = (start & -start).bit_length() - 1 if start else (end - start).bit_length() - 1
        while (1 << level) > end - start:
            level -= 1
        out.append((level, start >> level))
        start += 1 << level
    return out


def fold(hashes: Sequence[bytes]) -> bytes:
    """The hash of a range from its chunk hashes: MTH nests to the right (§2.1.1)."""
    acc = hashes[-1]
    for h in reversed(hashes[:-1]):
        acc = node_hash(h, acc)
    return acc


def nodes_for(ranges: Iterable[Range]) -> set[Node]:
    return {node for a, b in ranges for node in chunks(a, b)}


def range_hash(rng: Range, nodes: Mapping[Node, bytes]) -> bytes:
    return fold([nodes[node] for node in chunks(*rng)])


def root_ranges(size: int) -> list[Range]:
    return [(0, size)] if size else []


def inclusion_ranges(index: int, size: int) -> list[Range]:
    """PATH(m, D[n]) of RFC 9162 §2.1.3.1 as ranges, leaf-side sibling first."""
    out: list[Range] = []
    lo, hi, m = 0, size, index
    while hi - lo > 1:
        k = _split(hi - lo)
        if m - lo < k:
            out.append((lo + k, hi))
            hi = lo + k
        else:
            out.append((lo, lo + k))
            lo += k
    out.reverse()
    return out


def consistency_ranges(first: int, second: int) -> list[Range]:
    """PROOF(m, D[n]) = SUBPROOF(m, D[n], true) of RFC 9162 §2.1.4.1 as ranges."""
    if first == 0 or first == second:
        return []
    out: list[Range] = []
    lo, hi, m, whole = 0, second, first, True
    while m != hi - lo:
        k = _split(hi - lo)
        if m <= k:
            out.append((lo + k, hi))
            hi = lo + k
        else:
            out.append((lo, lo + k))
            m -= k
            lo += k
            whole = False
    if not whole:
        out.append((lo, hi))
    out.reverse()
    return out


def extend(
    frontier: Sequence[tuple[Node, bytes]], leaf_hashes: Sequence[bytes], start: int
) -> list[tuple[Node, bytes]]:
    """New perfect-subtree nodes after appending ``leaf_hashes`` at index ``start``.

    ``frontier`` is the right edge of the tree of size ``start``: its ``chunks(0, start)`` with
    their hashes, left to right. Returns the new leaves and every node they complete.
    """
    stack = list(frontier)
    created: list[tuple[Node, bytes]] = []
    for offset, h in enumerate(leaf_hashes):
        item: tuple[Node, bytes] = ((0, start + offset), h)
        created.append(item)
        while stack and stack[-1][0][0] == item[0][0]:
            (level, index), left = stack.pop()
            item = ((level + 1, index >> 1), node_hash(left, item[1]))
            created.append(item)
        stack.append(item)
    return created


# --- verification (what an auditor runs; RFC 9162 §2.1.3.2 and §2.1.4.2) -------------------


def root_from_inclusion(index: int, size: int, leaf: bytes, proof: Sequence[bytes]) -> bytes | None:
    """The root an inclusion proof leads to (§2.1.3.2), or None when the proof is malformed."""
    if index >= size:
        return None
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return r if sn == 0 else None


def verify_consistency(
    first: int, second: int, first_root: bytes, second_root: bytes, proof: Sequence[bytes]
) -> bool:
    """§2.1.4.2: does ``proof`` show the tree of size ``second`` extends the one of ``first``?"""
    if first > second:
        return False
    if first == second:
        return not proof and first_root == second_root
    if first == 0:
        return not proof
    path = list(proof)
    if first & (first - 1) == 0:  # a power of two: first_root is the first node
        path.insert(0, first_root)
    if not path:
        return False
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == first_root and sr == second_root
