"""Typed values of provenance: what to sign, and what a verification found (no I/O)."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from service.vocabulary import SourceType


class ProvenanceState(enum.StrEnum):
    TRUSTED = "trusted"  # intact, and the signer chains to a trust anchor
    VALID = "valid"  # intact, signer not trusted
    INVALID = "invalid"  # tampered, or a bad certificate
    ABSENT = "absent"  # no manifest in these bytes


@dataclass(frozen=True, slots=True)
class ConsentAssertion:
    """``vigil.consent``: the grants that allowed the asset. Ids and hashes only."""

    grant_ids: tuple[str, ...] = ()
    grant_hashes: tuple[str, ...] = ()  # SHA-256 of each grant's canonical record

    def data(self) -> dict[str, Any]:
        return {"grant_ids": list(self.grant_ids), "grant_hashes": list(self.grant_hashes)}


@dataclass(frozen=True, slots=True)
class ModerationAssertion:
    """``vigil.moderation``: the verdict the asset was released under."""

    verdict: str
    policy_version: str
    classifier_versions: Mapping[str, str] = field(default_factory=dict)

    def data(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict,
            "policy_version": self.policy_version,
            "classifier_versions": dict(self.classifier_versions),
        }


@dataclass(frozen=True, slots=True)
class Ingredient:
    """An input of the asset, named by hash (never by file name, never with a thumbnail)."""

    sha256: str
    mime: str
    relationship: str = "inputTo"  # or "componentOf", "parentOf"


@dataclass(frozen=True, slots=True)
class SignSpec:
    """Everything a manifest says. The generation pipeline and ``vigil sign`` both build one."""

    source_type: SourceType | str = SourceType.TRAINED_ALGORITHMIC_MEDIA
    software_agent: str = "Vigil"
    title: str = "Vigil asset"  # never an input's file name
    asset_id: str | None = None
    consent: ConsentAssertion | None = None
    moderation: ModerationAssertion | None = None
    ingredients: tuple[Ingredient, ...] = ()


@dataclass(frozen=True, slots=True)
class Code:
    code: str
    explanation: str
    url: str | None = None
    kind: str = "success"  # success | informational | failure


@dataclass(frozen=True, slots=True)
class SignerInfo:
    issuer: str | None  # the O= of the signing certificate
    common_name: str | None
    serial: str | None
    alg: str | None


@dataclass(frozen=True, slots=True)
class Timestamp:
    time: str | None
    trusted: bool


@dataclass(frozen=True, slots=True)
class Original:
    """What the manifest repository holds about the signed original a copy without a manifest was
    matched to: its validation when Vigil signed it, checked on the original's bytes, never on
    the copy's (a stripped copy's own checks stay in ``ProvenanceReport.codes``)."""

    state: ProvenanceState  # the original's state when it was signed and recorded
    sha256: str | None  # of the original's signed bytes
    codes: tuple[Code, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"state": self.state.value, "sha256": self.sha256, "codes": [asdict(c) for c in self.codes]}


@dataclass(frozen=True, slots=True)
class ProvenanceReport:
    """What ``verify`` found (docs/provenance.md). ``state`` first, then the evidence."""

    state: ProvenanceState
    codes: tuple[Code, ...] = ()
    signer: SignerInfo | None = None
    signed_at: str | None = None
    timestamp: Timestamp | None = None
    digital_source_type: str | None = None
    ai_generated: bool = False
    actions: tuple[Mapping[str, Any], ...] = ()
    ingredients: tuple[Mapping[str, Any], ...] = ()
    assertions: Mapping[str, Any] = field(default_factory=dict)
    recovered_by: str | None = None  # None | "fingerprint"
    asset_id: str | None = None
    log_index: int | None = None
    trust_list: str | None = None  # which anchor list the signer chained to
    sha256: str | None = None  # of the bytes verified
    fingerprint_distance: int | None = None  # PDQ distance when recovered by fingerprint
    # For an asset Vigil released: "active", or "revoked" once the people entitled withdrew the
    # consent it was made under (filled in by the verify flow; None for assets Vigil did not make).
    consent_status: str | None = None
    # The URL of the manifest a file points to instead of carrying it (never fetched by Vigil).
    remote_manifest_url: str | None = None
    # For a copy recovered from the repository: the original's validation, apart from ``codes``
    # (which are the checks made on the uploaded bytes).
    original: Original | None = None

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["state"] = self.state.value
        out["original"] = self.original.to_dict() if self.original is not None else None
        return out


@dataclass(frozen=True, slots=True)
class SignedAsset:
    sha256: str
    mime: str
    manifest: bytes  # the C2PA manifest store
    report: ProvenanceReport | None  # verification of the signed bytes right after signing
    asset_id: str | None = None
    log_index: int | None = None
