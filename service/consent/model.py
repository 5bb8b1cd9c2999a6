"""Consent records as values: subjects, grantors, grants, directives, objections, and the
request and decision of an evaluation. No I/O here.

The JSON names of the enums below are the public request vocabulary of the HTTP API (docs/consent.md).
"""

from __future__ import annotations

import enum
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID

import rfc8785

from service.errors import MalformedRequest
from service.vocabulary import OutputKind, Reason

ADULT_AGE = 18

# ISO 3166-1 alpha-2, optionally with an ISO 3166-2 subdivision: RU, US-CA, DE-BY.
JURISDICTION = re.compile(r"^[A-Z]{2}(-[A-Z0-9]{1,3})?$")
SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")

# The EU member states, for the territory `eu` and the EU default rule.
EU_MEMBERS = frozenset(
    [
        "AT",
        "BE",
        "BG",
        "HR",
        "CY",
        "CZ",
        "DK",
        "EE",
        "FI",
        "FR",
        "DE",
        "GR",
        "IE",
        "IT",
        "LV",
        "LT",
        "LU",
        "MT",
        "NL",
        "PL",
        "PT",
        "RO",
        "SK",
        "SI",
        "ES",
        "SE",
        "HU",
    ]
)
EVERYWHERE = "*"
EU = "eu"


class SubjectKind(enum.StrEnum):
    HUMAN = "human"
    ANIMAL = "animal"


class VitalStatus(enum.StrEnum):
    LIVING = "living"
    DECEASED = "deceased"


class Relationship(enum.StrEnum):
    SELF = "self"
    SPOUSE = "spouse"
    CHILD = "child"
    PARENT = "parent"
    SIBLING = "sibling"
    GRANDCHILD = "grandchild"
    GUARDIAN = "guardian"
    EXECUTOR = "executor"
    HEIR = "heir"


class Verification(enum.StrEnum):
    """How a grantor's identity was checked, weakest first (rules may ask for a minimum)."""

    NONE = "none"
    DOCUMENT = "document"
    ELECTRONIC_ID = "electronic_id"
    IN_PERSON = "in_person"

    @property
    def rank(self) -> int:
        return list(Verification).index(self)


class Modality(enum.StrEnum):
    LIKENESS_STILL = "likeness_still"
    LIKENESS_ANIMATED = "likeness_animated"
    VOICE_CLONE = "voice_clone"
    NAME = "name"


class Purpose(enum.StrEnum):
    PRIVATE_MEMORIAL = "private_memorial"
    FAMILY_SHARING = "family_sharing"
    PUBLIC_POST = "public_post"
    ADVERTISING = "advertising"


class Audience(enum.StrEnum):
    FAMILY = "family"
    PUBLIC = "public"


class AppearsAs(enum.StrEnum):
    LIKENESS = "likeness"
    VOICE = "voice"


class GrantStatus(enum.StrEnum):
    ACTIVE = "active"
    DISPUTED = "disputed"
    REVOKED = "revoked"


class DirectiveType(enum.StrEnum):
    DO_NOT_RECREATE = "do_not_recreate"


class EvidenceKind(enum.StrEnum):
    DEATH_CERTIFICATE = "death_certificate"
    MARRIAGE_CERTIFICATE = "marriage_certificate"
    BIRTH_CERTIFICATE = "birth_certificate"
    COURT_ORDER = "court_order"
    WILL = "will"
    IDENTITY_DOCUMENT = "identity_document"
    SIGNED_CONSENT = "signed_consent"
    OTHER = "other"


class ConsentOutcome(enum.StrEnum):
    GRANTED = "granted"
    DENIED = "denied"
    NEEDS_REVIEW = "needs_review"


def age_on(birth: date, day: date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


@dataclass(frozen=True, slots=True)
class Subject:
    id: UUID
    tenant_id: UUID
    kind: SubjectKind
    vital_status: VitalStatus
    name: str
    jurisdiction: str
    birth_date: date | None
    death_date: date | None
    created_at: datetime

    @property
    def country(self) -> str:
        return self.jurisdiction.split("-", 1)[0]

    def is_minor(self, day: date) -> bool:
        """A living human under 18 on ``day``; an unknown birth date counts as adult (the grantor
        attests adulthood by granting with ``self``)."""
        return (
            self.vital_status is VitalStatus.LIVING
            and self.birth_date is not None
            and age_on(self.birth_date, day) < ADULT_AGE
        )


@dataclass(frozen=True, slots=True)
class Grantor:
    name: str
    relationship: Relationship
    adult: bool
    verification: Verification = Verification.NONE


@dataclass(frozen=True, slots=True)
class Scope:
    modalities: frozenset[Modality]
    purposes: frozenset[Purpose]
    audiences: frozenset[Audience]
    territories: frozenset[str]


@dataclass(frozen=True, slots=True)
class Grant:
    id: UUID
    tenant_id: UUID
    subject_id: UUID
    legal_basis: str  # the id of the rule that authorised it
    grantors: tuple[Grantor, ...]
    scope: Scope
    expires_at: datetime
    script_sha256: str | None
    evidence: tuple[str, ...]  # SHA-256 of evidence documents in the blob store
    status: GrantStatus
    created_at: datetime
    revoked_at: datetime | None

    def expired(self, at: datetime) -> bool:
        return self.expires_at <= at

    def record_sha256(self) -> str:
        """SHA-256 of the grant as it was given (RFC 8785 JSON of its fixed fields; status and
        revocation left out, so the hash a signed manifest carries never changes): what the
        ``vigil.consent`` assertion names, so an auditor can match a manifest to a grant record
        without the manifest holding anyone's name."""
        record = {
            "id": str(self.id), "tenant_id": str(self.tenant_id), "subject_id": str(self.subject_id),
            "legal_basis": self.legal_basis,
            "grantors": [
                {"name": g.name, "relationship": g.relationship.value, "adult": g.adult,
                 "verification": g.verification.value}
                for g in self.grantors
            ],
            "scope": {
                "modalities": sorted(m.value for m in self.scope.modalities),
                "purposes": sorted(p.value for p in self.scope.purposes),
                "audiences": sorted(a.value for a in self.scope.audiences),
                "territories": sorted(self.scope.territories),
            },
            "expires_at": self.expires_at.isoformat(), "script_sha256": self.script_sha256,
            "evidence": list(self.evidence), "created_at": self.created_at.isoformat(),
        }  # fmt: skip
        return hashlib.sha256(rfc8785.dumps(record)).hexdigest()


@dataclass(frozen=True, slots=True)
class Directive:
    """A refusal the person left while alive; it beats any next-of-kin consent."""

    id: UUID
    tenant_id: UUID
    subject_id: UUID
    type: DirectiveType
    modalities: frozenset[Modality]  # empty: every modality
    evidence: tuple[str, ...]
    created_at: datetime

    def forbids(self, modality: Modality) -> bool:
        return not self.modalities or modality in self.modalities


@dataclass(frozen=True, slots=True)
class Objection:
    id: UUID
    tenant_id: UUID
    grant_id: UUID
    objector: Grantor
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Evidence:
    sha256: str
    tenant_id: UUID
    kind: EvidenceKind
    size: int
    created_at: datetime


@dataclass(frozen=True, slots=True)
class SubjectRecords:
    """A subject with every grant and directive on file for it (one evaluation's input)."""

    subject: Subject
    grants: tuple[Grant, ...]
    directives: tuple[Directive, ...]


# --- territories ---------------------------------------------------------------------------


def market_territory(market: str) -> str:
    """The territory a market profile distributes to: `default` → everywhere, `eu` → the EU,
    `us-ca` → US-CA, any other name → its ISO code in upper case."""
    name = market.strip().lower()
    if name == "default":
        return EVERYWHERE
    if name == EU:
        return EU
    code = name.upper()
    if not JURISDICTION.match(code):
        raise MalformedRequest(f"Unknown market {market!r}; use a market name or an ISO 3166 code.")
    return code


def normalise_territory(value: str) -> str:
    text = value.strip()
    if text in (EVERYWHERE, EU) or text.lower() == EU:
        return text.lower()
    code = text.upper()
    if not JURISDICTION.match(code):
        raise MalformedRequest(
            f"Territory {value!r} is not an ISO 3166 code, 'eu' or '*'.", details={"field": "territories"}
        )
    return code


def _covers_code(granted: frozenset[str], code: str) -> bool:
    country = code.split("-", 1)[0]
    return code in granted or country in granted or (EU in granted and country in EU_MEMBERS)


def territory_covered(granted: frozenset[str], requested: str) -> bool:
    """Does a grant for ``granted`` allow distribution to ``requested``? `*` only by `*`;
    `eu` by `eu` or every member state; a code by itself, its country, or `eu` for members."""
    if EVERYWHERE in granted:
        return True
    if requested == EVERYWHERE:
        return False
    if requested == EU:
        return all(_covers_code(granted, member) for member in EU_MEMBERS)
    return _covers_code(granted, requested)


# --- the request and the decision -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RequestedSubject:
    subject_id: UUID
    appears_as: AppearsAs


@dataclass(frozen=True, slots=True)
class ConsentRequest:
    """What a generation asks to do with whom: built from the generation spec."""

    subjects: tuple[RequestedSubject, ...]
    purpose: Purpose
    audience: Audience
    output: OutputKind
    territory: str
    script_sha256: str | None = None

    def modality(self, appears_as: AppearsAs) -> Modality:
        """An image needs likeness_still, a video likeness_animated, a voice voice_clone."""
        if appears_as is AppearsAs.VOICE:
            return Modality.VOICE_CLONE
        return Modality.LIKENESS_STILL if self.output is OutputKind.IMAGE else Modality.LIKENESS_ANIMATED

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any]) -> ConsentRequest:
        """Parse the consent part of a generation spec (docs/generation.md)."""
        try:
            subjects = tuple(
                RequestedSubject(UUID(str(s["subject_id"])), AppearsAs(s.get("appears_as", "likeness")))
                for s in spec["subjects"]
            )
            script = spec.get("script")
            script_sha = spec.get("script_sha256")
            if script is not None:
                script_sha = hashlib.sha256(str(script).encode("utf-8")).hexdigest()
            if script_sha is not None and not SHA256_HEX.match(str(script_sha)):
                raise MalformedRequest("script_sha256 must be 64 lower-case hex digits.")
            return cls(
                subjects=subjects,
                purpose=Purpose(spec["purpose"]),
                audience=Audience(spec["audience"]),
                output=OutputKind(spec["output"]),
                territory=market_territory(str(spec.get("market", "default"))),
                script_sha256=script_sha,
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise MalformedRequest(f"The generation spec is not valid: {exc!s}") from exc


@dataclass(frozen=True, slots=True)
class ConsentDecision:
    decision: ConsentOutcome
    reasons: tuple[Reason, ...]
    grant_ids: tuple[UUID, ...] = ()  # the grants that cover the request (link outputs to these)
    audience_limit: Audience | None = None  # `family` when a minor is shown
    attested_subjects: tuple[UUID, ...] = ()  # animals: the customer's attestation is recorded
