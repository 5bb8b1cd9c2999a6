"""An independent RFC 9162 / C2SP verifier for the tests, written from the texts, not from
``service.audit``: the tree's definitions (§2.1.1), inclusion proofs (§2.1.3.1, verification
§2.1.3.2), consistency proofs (§2.1.4.1, verification §2.1.4.2), and the signed-note checkpoint
(c2sp.org/signed-note, c2sp.org/tlog-checkpoint). It needs only the log's public key."""

from __future__ import annotations

import base64
import functools
import hashlib

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey


def sha(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def mth(entries: list[bytes]) -> bytes:
    """MTH(D[n]) by the recursive definition of §2.1.1."""
    return _mth(tuple(entries))


@functools.lru_cache(maxsize=1 << 16)
def _mth(entries: tuple[bytes, ...]) -> bytes:  # memoised: the exhaustive tests ask again and again
    n = len(entries)
    if n == 0:
        return sha(b"")
    if n == 1:
        return sha(b"\x00" + entries[0])
    k = 1
    while k * 2 < n:
        k *= 2
    return sha(b"\x01" + _mth(entries[:k]) + _mth(entries[k:]))


def _k(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def path(m: int, entries: list[bytes]) -> list[bytes]:
    """PATH(m, D[n]) of §2.1.3.1."""
    n = len(entries)
    if n == 1:
        return []
    k = _k(n)
    if m < k:
        return [*path(m, entries[:k]), mth(entries[k:])]
    return [*path(m - k, entries[k:]), mth(entries[:k])]


def subproof(m: int, entries: list[bytes], b: bool) -> list[bytes]:
    """SUBPROOF(m, D[n], b) of §2.1.4.1."""
    n = len(entries)
    if m == n:
        return [] if b else [mth(entries)]
    k = _k(n)
    if m <= k:
        return [*subproof(m, entries[:k], b), mth(entries[k:])]
    return [*subproof(m - k, entries[k:], False), mth(entries[:k])]


def verify_inclusion(leaf_index: int, tree_size: int, entry: bytes, proof: list[bytes], root: bytes) -> bool:
    """§2.1.3.2, step by step."""
    if leaf_index >= tree_size:
        return False
    fn, sn = leaf_index, tree_size - 1
    r = sha(b"\x00" + entry)
    for p in proof:
        if sn == 0:
            return False
        if fn % 2 == 1 or fn == sn:
            r = sha(b"\x01" + p + r)
            if fn % 2 == 0:
                while not (fn % 2 == 1 or fn == 0):
                    fn >>= 1
                    sn >>= 1
        else:
            r = sha(b"\x01" + r + p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(
    first: int, second: int, first_hash: bytes, second_hash: bytes, proof: list[bytes]
) -> bool:
    """§2.1.4.2, step by step (with first == second and first == 0 handled as §2.1.4.1 implies)."""
    if first == second:
        return proof == [] and first_hash == second_hash
    if first == 0 or first > second:
        return first == 0 and proof == []
    consistency_path = list(proof)
    if first & (first - 1) == 0:
        consistency_path = [first_hash, *consistency_path]
    if not consistency_path:
        return False
    fn, sn = first - 1, second - 1
    while fn % 2 == 1:
        fn >>= 1
        sn >>= 1
    fr = sr = consistency_path[0]
    for c in consistency_path[1:]:
        if sn == 0:
            return False
        if fn % 2 == 1 or fn == sn:
            fr = sha(b"\x01" + c + fr)
            sr = sha(b"\x01" + c + sr)
            if fn % 2 == 0:
                while not (fn % 2 == 1 or fn == 0):
                    fn >>= 1
                    sn >>= 1
        else:
            sr = sha(b"\x01" + sr + c)
        fn >>= 1
        sn >>= 1
    return fr == first_hash and sr == second_hash and sn == 0


def open_checkpoint(note: str, origin: str, public_key: bytes) -> tuple[int, bytes]:
    """(tree size, root) of a checkpoint signed by ``origin``'s Ed25519 key; AssertionError if not."""
    text, blank, signatures = note.partition("\n\n")
    assert blank, "no blank line between the note text and its signatures"
    text += "\n"
    lines = text.splitlines()
    assert lines[0] == origin, "wrong origin"
    key_id = sha(origin.encode() + b"\n\x01" + public_key)[:4]
    verifier = Ed25519PublicKey.from_public_bytes(public_key)
    ok = False
    for line in signatures.splitlines():
        dash, name, b64 = line.split(" ")
        assert dash == "\u2014"
        blob = base64.b64decode(b64)
        if name == origin and blob[:4] == key_id:
            verifier.verify(blob[4:], text.encode())  # raises InvalidSignature
            ok = True
    assert ok, "no signature line by the log"
    return int(lines[1]), base64.b64decode(lines[2])
