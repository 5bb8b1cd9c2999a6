"""Checkpoints as C2SP signed notes, signed with the log's Ed25519 key.

A checkpoint (c2sp.org/tlog-checkpoint) is the note text

    <origin>\\n<tree size>\\n<base64 root hash>\\n

followed by a blank line and one signature line per signer (c2sp.org/signed-note):
``— <name> <base64(key hash[4] ‖ signature)>``. The log signs with Ed25519 (algorithm byte 0x01);
its key hash is SHA-256(name ‖ "\\n" ‖ 0x01 ‖ public key)[:4]. Witnesses co-sign per
c2sp.org/tlog-cosignature (algorithm byte 0x04): they sign ``cosignature/v1\\ntime <t>\\n`` and
the note text, and their line carries key hash ‖ 8-byte big-endian time ‖ signature.

Everything here is pure: an auditor needs only the origin and the public key.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import struct
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

ALG_ED25519 = 0x01
ALG_COSIGNATURE_V1 = 0x04
DASH = "\u2014"


class NoteError(ValueError):
    """A checkpoint or signature that does not parse or does not verify."""


@dataclass(frozen=True, slots=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes

    def body(self) -> str:
        return f"{self.origin}\n{self.size}\n{base64.b64encode(self.root).decode()}\n"


@dataclass(frozen=True, slots=True)
class SignedNote:
    checkpoint: Checkpoint
    text: str  # the signed note text (body)
    signatures: tuple[tuple[str, bytes], ...]  # (name, key hash ‖ signature)

    def signed_by(self, name: str, public_key: bytes) -> bool:
        want = key_hash(name, ALG_ED25519, public_key)
        key = Ed25519PublicKey.from_public_bytes(public_key)
        for signer, blob in self.signatures:
            if signer == name and blob[:4] == want and len(blob) == 68:
                try:
                    key.verify(blob[4:], self.text.encode())
                except InvalidSignature:
                    continue
                return True
        return False


def key_hash(name: str, alg: int, public_key: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + bytes([alg]) + public_key).digest()[:4]


def sign(checkpoint: Checkpoint, name: str, private_key: Ed25519PrivateKey) -> str:
    """The checkpoint as a signed note with the log's signature line."""
    text = checkpoint.body()
    public = private_key.public_key().public_bytes_raw()
    blob = key_hash(name, ALG_ED25519, public) + private_key.sign(text.encode())
    return f"{text}\n{signature_line(name, blob)}"


def signature_line(name: str, blob: bytes) -> str:
    return f"{DASH} {name} {base64.b64encode(blob).decode()}\n"


def parse(note: str) -> SignedNote:
    """Split a signed note into its checkpoint and signature lines (no verification)."""
    text, sep, sigs = note.partition("\n\n")
    if not sep or not sigs.endswith("\n"):
        raise NoteError("not a signed note: expected the text, a blank line and signature lines")
    lines = (text + "\n").split("\n")[:-1]
    if len(lines) < 3:
        raise NoteError("a checkpoint has an origin, a tree size and a root hash")
    try:
        size = int(lines[1])
        root = base64.b64decode(lines[2], validate=True)
    except (ValueError, binascii.Error) as exc:
        raise NoteError(f"bad checkpoint size or root: {exc}") from exc
    if size < 0 or len(root) != 32 or not lines[1].isdigit():
        raise NoteError("bad checkpoint size or root hash length")
    signatures: list[tuple[str, bytes]] = []
    for line in sigs[:-1].split("\n"):
        parts = line.split(" ")
        if len(parts) != 3 or parts[0] != DASH:
            raise NoteError(f"bad signature line: {line!r}")
        try:
            signatures.append((parts[1], base64.b64decode(parts[2], validate=True)))
        except binascii.Error as exc:
            raise NoteError(f"bad signature encoding: {line!r}") from exc
    return SignedNote(Checkpoint(lines[0], size, root), text + "\n", tuple(signatures))


def verify(note: str, origin: str, public_key: bytes) -> Checkpoint:
    """The checkpoint of ``note`` once its origin and the log's signature check out."""
    parsed = parse(note)
    if parsed.checkpoint.origin != origin:
        raise NoteError(f"checkpoint origin {parsed.checkpoint.origin!r} is not {origin!r}")
    if not parsed.signed_by(origin, public_key):
        raise NoteError("no valid signature by the log's key on the checkpoint")
    return parsed.checkpoint


# --- witness co-signatures (c2sp.org/tlog-cosignature) ---------------------------------------


@dataclass(frozen=True, slots=True)
class WitnessKey:
    name: str
    public_key: bytes

    @classmethod
    def parse(cls, vkey: str) -> WitnessKey:
        """A verifier key ``<name>+<hex key hash>+<base64(0x04 ‖ public key)>``."""
        try:
            name, hash_hex, b64 = vkey.strip().split("+", 2)
            raw = base64.b64decode(b64, validate=True)
        except (ValueError, binascii.Error) as exc:
            raise NoteError(f"bad witness key {vkey!r}: expected name+hash+base64") from exc
        if len(raw) != 33 or raw[0] != ALG_COSIGNATURE_V1:
            raise NoteError(f"witness key {name!r} is not an Ed25519 cosignature/v1 key")
        if key_hash(name, ALG_COSIGNATURE_V1, raw[1:]).hex() != hash_hex:
            raise NoteError(f"witness key {name!r}: key hash does not match the key")
        return cls(name, raw[1:])

    def vkey(self) -> str:
        raw = bytes([ALG_COSIGNATURE_V1]) + self.public_key
        digest = key_hash(self.name, ALG_COSIGNATURE_V1, self.public_key).hex()
        return f"{self.name}+{digest}+{base64.b64encode(raw).decode()}"


def cosignature_message(text: str, timestamp: int) -> bytes:
    return f"cosignature/v1\ntime {timestamp}\n{text}".encode()


def cosign(text: str, name: str, private_key: Ed25519PrivateKey, timestamp: int) -> str:
    """A witness's cosignature line over the note text ``text`` (for tests and witness tools)."""
    public = private_key.public_key().public_bytes_raw()
    sig = private_key.sign(cosignature_message(text, timestamp))
    blob = key_hash(name, ALG_COSIGNATURE_V1, public) + struct.pack(">Q", timestamp) + sig
    return signature_line(name, blob)


def verify_cosignature(text: str, line: str, witnesses: list[WitnessKey]) -> WitnessKey:
    """The witness whose valid cosignature ``line`` is over ``text``; NoteError otherwise."""
    parts = line.strip("\n").split(" ")
    if len(parts) != 3 or parts[0] != DASH:
        raise NoteError("a cosignature is one line: '— <witness name> <base64>'")
    try:
        blob = base64.b64decode(parts[2], validate=True)
    except binascii.Error as exc:
        raise NoteError("the cosignature is not base64") from exc
    for witness in witnesses:
        if witness.name != parts[1] or len(blob) != 76:
            continue
        if blob[:4] != key_hash(witness.name, ALG_COSIGNATURE_V1, witness.public_key):
            continue
        (timestamp,) = struct.unpack(">Q", blob[4:12])
        try:
            Ed25519PublicKey.from_public_bytes(witness.public_key).verify(
                blob[12:], cosignature_message(text, timestamp)
            )
        except InvalidSignature:
            continue
        return witness
    raise NoteError(f"no configured witness {parts[1]!r} made this cosignature")
