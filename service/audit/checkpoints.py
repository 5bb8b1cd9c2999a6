"""The log's signing key and its checkpoints: issued on request, cached by tree size.

``LogSigner.issue(conn)`` signs the tree as it stands when the request reads it (the checkpoint
covers every entry committed before that read, never a lagging copy), and stores the note so
the same size always gets the same note; witnesses' co-signatures are added to it once verified.
"""

from __future__ import annotations

import base64
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from service.audit import log, note, store
from service.db import Conn, Database
from service.errors import ConfigError, MalformedRequest, NotFound
from service.health import ComponentStatus
from service.settings import Settings
from service.vocabulary import SignalState

KEY_FILE = "log_ed25519.pem"


def load_or_create_key(keys_dir: Path, *, strict: bool) -> Ed25519PrivateKey:
    """The log key under ``keys_dir``, created (mode 0600) on first start."""
    path = keys_dir / KEY_FILE
    keys_dir.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(pem)
        return key
    mode = stat.S_IMODE(path.stat().st_mode)
    if strict and mode & 0o077:
        raise ConfigError(f"{path} is readable by others (mode {mode:o}); run 'chmod 600 {path}'.")
    loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(loaded, Ed25519PrivateKey):
        raise ConfigError(f"{path} is not an Ed25519 private key; move it away to create a new one.")
    return loaded


@dataclass(frozen=True)
class LogSigner:
    origin: str
    key: Ed25519PrivateKey
    witnesses: tuple[note.WitnessKey, ...] = ()

    @classmethod
    def from_settings(cls, settings: Settings) -> LogSigner:
        try:
            witnesses = tuple(note.WitnessKey.parse(k) for k in settings.audit_witness_keys)
        except note.NoteError as exc:
            raise ConfigError(f"VIGIL_AUDIT_WITNESS_KEYS: {exc}.") from exc
        key = load_or_create_key(settings.keys_dir, strict=settings.production)
        return cls(origin=settings.audit_origin, key=key, witnesses=witnesses)

    @property
    def public_key(self) -> bytes:
        return self.key.public_key().public_bytes_raw()

    @property
    def public_key_b64(self) -> str:
        return base64.b64encode(self.public_key).decode()

    def issue(self, conn: Conn, size: int | None = None) -> str:
        """The signed checkpoint of the tree now (or at ``size`` ≤ now), with co-signatures.
        Events queued and committed before this call are integrated first, so "now" covers them.
        """
        log.integrate_all(conn)
        current = store.size(conn)
        size = current if size is None else size
        cached = store.checkpoint_note(conn, size) if 0 <= size <= current else None
        if cached is None:
            root = log.root(conn, size, current=current)
            cached = note.sign(note.Checkpoint(self.origin, size, root), self.origin, self.key)
            store.save_checkpoint(conn, size, root, cached)
        return cached + "".join(store.cosignature_lines(conn, size))

    def check_key(self, conn: Conn) -> None:
        """Refuse to sign this log with another key than the one that signed its checkpoints: a
        second node started without the first node's ``keys/`` folder (or another origin) would
        otherwise sign new checkpoints an auditor holding the published key rejects as forged."""
        newest = store.checkpoint_notes(conn, limit=1)
        if not newest:
            return
        try:
            note.verify(newest[-1], self.origin, self.public_key)
        except note.NoteError as exc:
            raise ConfigError(
                f"This node's log key ({KEY_FILE} in its keys folder) or origin ({self.origin!r}) is not "
                "the one that signed this database's log checkpoints. Every node of one Vigil uses the "
                "first node's keys folder and VIGIL_AUDIT_ORIGIN: copy them here, then start again."
            ) from exc

    def add_cosignature(self, conn: Conn, size: int, line: str) -> note.WitnessKey:
        """Store a witness's cosignature of the checkpoint of ``size``, once it verifies."""
        text = store.checkpoint_note(conn, size)
        if text is None:
            raise NotFound(f"No checkpoint of size {size} was issued; GET /v1/log/checkpoint first.")
        if not self.witnesses:
            raise MalformedRequest("No witnesses are configured; set VIGIL_AUDIT_WITNESS_KEYS.")
        body = note.parse(text).text
        try:
            witness = note.verify_cosignature(body, line, list(self.witnesses))
        except note.NoteError as exc:
            raise MalformedRequest(f"The cosignature does not verify: {exc}.") from exc
        store.save_cosignature(conn, size, witness.name, line.strip("\n") + "\n")
        return witness


def log_status(db: Database, *, timeout: float | None = None) -> ComponentStatus:
    """Readiness of the log: appends need the stored right edge of the tree."""
    with db.system(timeout=timeout) as conn:
        missing = log.missing_frontier(conn)
    if missing:
        return ComponentStatus(SignalState.UNAVAILABLE, f"{missing} right-edge hashes absent. {log.DAMAGED}")
    return ComponentStatus(SignalState.OK)
