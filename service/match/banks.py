"""Managing banks: create, import (all-or-nothing), add signals from other stages, export.

Each change appends a ``bank.changed`` audit event in the caller's transaction. ``tenant_id``
None means a system bank (revoked and rejected outputs, shared lists): write those only from a
``system()`` transaction; every tenant's checks consult them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

from service.audit import Event, EventName, append
from service.db import Conn
from service.errors import Conflict, MalformedRequest, NotFound
from service.match import bankfile, store
from service.match.model import BANK_NAME, LABEL, Bank, BankKind, HashType, Signal

# The system banks other stages feed (created on first use by ``system_bank``).
REVOKED_OUTPUTS = "revoked-outputs"
REJECTED_OUTPUTS = "rejected-outputs"


@dataclass(frozen=True, slots=True)
class ImportResult:
    bank: Bank
    lines: int  # signals in the file
    added: int  # new entries (a hash already in the bank only merges its labels)


def _event(conn: Conn, bank: Bank, data: dict[str, str | int | None]) -> None:
    append(conn, Event(EventName.BANK_CHANGED, str(bank.id), bank.tenant_id, data))


def create_bank(
    conn: Conn,
    *,
    tenant_id: UUID | None,
    name: str,
    kind: BankKind | str,
    hash_type: HashType | str,
    threshold: int | None = None,
) -> Bank:
    if not BANK_NAME.match(name):
        raise MalformedRequest(f"Bank name {name[:70]!r} must be 1-63 of a-z, 0-9, '.', '_', '-'.")
    try:
        kind = BankKind(kind)
        hash_type = HashType(hash_type)
    except ValueError as exc:
        raise MalformedRequest(f"{exc}; kind is block or allow, hash_type is pdq or phash.") from exc
    if threshold is None:
        threshold = hash_type.default_threshold
    if not 0 <= threshold <= hash_type.max_threshold:
        raise MalformedRequest(
            f"A {hash_type} threshold must be between 0 and {hash_type.max_threshold} "
            f"(default {hash_type.default_threshold}), got {threshold}."
        )
    bank = store.create_bank(
        conn, tenant_id=tenant_id, name=name, kind=kind, hash_type=hash_type, threshold=threshold
    )
    _event(
        conn,
        bank,
        {"action": "created", "kind": kind.value, "hash_type": hash_type.value, "threshold": threshold},
    )
    return bank


def get_bank(conn: Conn, *, tenant_id: UUID | None, name: str) -> Bank:
    return store.get_bank(conn, tenant_id=tenant_id, name=name)


def system_bank(
    conn: Conn, name: str, *, kind: BankKind = BankKind.BLOCK, hash_type: HashType = HashType.PDQ
) -> Bank:
    """The system bank ``name``, created with the default threshold if new (system() scope)."""
    return ensure_bank(conn, name, tenant_id=None, kind=kind, hash_type=hash_type)


def ensure_bank(
    conn: Conn,
    name: str,
    *,
    tenant_id: UUID | None,
    kind: BankKind = BankKind.BLOCK,
    hash_type: HashType = HashType.PDQ,
) -> Bank:
    """The bank ``name`` of ``tenant_id`` (None: the system), created with the default threshold if
    new; Conflict if a bank of that name exists with another kind or hash type."""
    try:
        bank = store.get_bank(conn, tenant_id=tenant_id, name=name)
    except NotFound:
        return create_bank(conn, tenant_id=tenant_id, name=name, kind=kind, hash_type=hash_type)
    if (bank.kind, bank.hash_type) != (kind.value, hash_type.value):
        raise Conflict(
            f"Bank {name!r} exists as a {bank.kind} bank of {bank.hash_type} hashes; Vigil needs it as a "
            f"{kind.value} bank of {hash_type.value} hashes. Rename or delete that bank."
        )
    return bank


def import_file(conn: Conn, bank: Bank, data: bytes, *, fmt: str | None = None) -> ImportResult:
    """Parse the whole file first; any bad line refuses the import (nothing is written)."""
    signals = bankfile.parse(data, fmt=fmt, expected=HashType(bank.hash_type))
    added = store.insert_signals(conn, bank, signals) if signals else 0
    _event(conn, bank, {"action": "imported", "lines": len(signals), "added": added})
    return ImportResult(
        bank=store.get_bank(conn, tenant_id=bank.tenant_id, name=bank.name), lines=len(signals), added=added
    )


def add_signals(conn: Conn, bank: Bank, hashes: Sequence[bytes], labels: Sequence[str] = ()) -> int:
    """Add raw hashes (e.g. the PDQ of a revoked output) with the same labels; returns new entries."""
    hash_type = HashType(bank.hash_type)
    for label in labels:
        if not LABEL.match(label):
            raise MalformedRequest(f"Label {label[:70]!r} may hold only letters, digits and _.:- (1-64).")
    for h in hashes:
        if len(h) * 8 != hash_type.bits:
            raise MalformedRequest(f"Bank {bank.name!r} holds {hash_type.bits}-bit {hash_type} hashes.")
    added = store.insert_signals(conn, bank, [Signal(hash_type, bytes(h), tuple(labels)) for h in hashes])
    _event(conn, bank, {"action": "added", "added": added})
    return added


def withdraw(conn: Conn, bank: Bank, label: str, *, owner_prefix: str) -> int:
    """Withdraw one owner's entries (e.g. ``generation:<id>``) from a bank whose entries each
    name their owners; an entry another owner also holds stays. Returns the entries deleted."""
    deleted = store.withdraw(conn, bank, label, owner_prefix=owner_prefix)
    _event(conn, bank, {"action": "withdrawn", "owner": label, "deleted": deleted})
    return deleted


def release(conn: Conn, bank: Bank, signal_hex: str) -> None:
    """Re-enable an entry that flood quarantine disabled (after a human looked at it)."""
    hash_type = HashType(bank.hash_type)
    try:
        value = bytes.fromhex(signal_hex)
    except ValueError as exc:
        raise MalformedRequest(f"The signal must be {hash_type.hex_digits} hex digits.") from exc
    if len(value) * 8 != hash_type.bits:
        raise MalformedRequest(f"The signal must be {hash_type.hex_digits} hex digits.")
    if not store.release(conn, bank, value):
        raise NotFound(f"Bank {bank.name!r} has no quarantined entry {signal_hex.lower()}.")
    _event(conn, bank, {"action": "released", "signal": value.hex()})


def export_file(conn: Conn, bank: Bank, *, fmt: str = "csv") -> str:
    """The bank in the form it is imported in (quarantined entries included: they are data)."""
    hash_type = HashType(bank.hash_type)
    signals = [Signal(hash_type, s.signal, tuple(s.labels)) for s in store.bank_signals(conn, bank)]
    if fmt == "json":
        return bankfile.to_json(signals)
    if fmt == "csv":
        return bankfile.to_csv(signals)
    raise MalformedRequest(f"Unknown export format {fmt!r}; use csv or json.")
