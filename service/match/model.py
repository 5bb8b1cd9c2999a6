"""Banks, signals and match results (values only, no I/O).

A bank belongs to one tenant, or to the system (``tenant_id`` None): system banks (revoked
outputs, rejected outputs, shared propaganda lists) are consulted by every tenant's checks and
written only from a ``system()`` transaction.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from service.match.hashes import PDQ_BITS, PHASH_BITS

BANK_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,62}$")
LABEL = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")


class BankKind(enum.StrEnum):
    BLOCK = "block"  # a match is evidence against the item
    ALLOW = "allow"  # template frames: a match suppresses block matches of the same frame


class HashType(enum.StrEnum):
    PDQ = "pdq"
    PHASH = "phash"

    @property
    def bits(self) -> int:
        return PDQ_BITS if self is HashType.PDQ else PHASH_BITS

    @property
    def hex_digits(self) -> int:
        return self.bits // 4

    @property
    def default_threshold(self) -> int:
        """The industry thresholds that survive JPEG, resize and grayscale (docs/matching.md)."""
        return 31 if self is HashType.PDQ else 8

    @property
    def max_threshold(self) -> int:
        """Past these a match says little (nearest distinct images were 84 apart in PDQ)."""
        return 64 if self is HashType.PDQ else 16


@dataclass(frozen=True, slots=True)
class Bank:
    id: UUID
    tenant_id: UUID | None  # None: a system bank, consulted by every tenant
    name: str
    kind: str
    hash_type: str
    threshold: int
    created_at: datetime
    signals: int = 0
    quarantined: int = 0  # entries disabled by flood quarantine

    @property
    def system(self) -> bool:
        return self.tenant_id is None


@dataclass(frozen=True, slots=True)
class Signal:
    """One line of a bank file: a hash and its labels."""

    signal_type: HashType
    value: bytes  # MSB first
    labels: tuple[str, ...] = ()

    @property
    def hex(self) -> str:
        return self.value.hex()


@dataclass(frozen=True, slots=True)
class StoredSignal:
    id: int
    bank_id: UUID
    signal: bytes
    labels: list[str]
    quarantined_at: datetime | None


@dataclass(frozen=True, slots=True)
class Match:
    """A frame whose hash is within the bank's threshold of a bank entry."""

    bank: str
    kind: BankKind
    hash_type: HashType
    distance: int
    threshold: int
    signal: str  # hex of the bank entry
    signal_id: int
    labels: tuple[str, ...]
    frame: int  # frame index (0 for an image)
    t: float  # seconds from the start (0 for an image)
    system: bool  # the bank is a system bank

    def summary(self) -> dict[str, str | int | float | bool | list[str]]:
        """The Verdict's ``matches[]`` item (``bank``, ``distance``, ``hash_type`` and the rest)."""
        return {
            "bank": self.bank,
            "distance": self.distance,
            "hash_type": self.hash_type.value,
            "kind": self.kind.value,
            "threshold": self.threshold,
            "labels": list(self.labels),
            "system": self.system,
            "frame": self.frame,
            "t": self.t,
        }


@dataclass(frozen=True, slots=True)
class FrameQuality:
    frame: int
    t: float
    quality: int


@dataclass(frozen=True, slots=True)
class MatchReport:
    """Everything matching learned about one item.

    ``matches`` are what policy acts on: block matches not suppressed by an allow match of the
    same frame, plus the allow matches themselves. ``suppressed`` are block matches an allow
    match cancelled; ``quarantined`` are entries that matched but are disabled after a flood;
    ``low_quality`` frames were too flat or small for PDQ and were not matched.
    """

    matches: tuple[Match, ...]
    suppressed: tuple[Match, ...]
    quarantined: tuple[Match, ...]
    low_quality: tuple[FrameQuality, ...]
    frames: int

    @property
    def block_matches(self) -> tuple[Match, ...]:
        return tuple(m for m in self.matches if m.kind is BankKind.BLOCK)
