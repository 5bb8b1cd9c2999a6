"""Consent API (studio, admin): subjects, consents (grants), revocation, objections, directives,
evidence documents, and a preflight evaluation of a generation spec. Tenant-scoped."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, File, Form, UploadFile
from pydantic import BaseModel, Field, field_validator

from service.api.deps import CurrentStudio, ServicesDep
from service.api.schemas import ReasonOut
from service.consent import registry, store
from service.consent.model import (
    AppearsAs,
    Audience,
    ConsentOutcome,
    ConsentRequest,
    DirectiveType,
    EvidenceKind,
    Grant,
    Grantor,
    GrantStatus,
    Modality,
    Purpose,
    Relationship,
    Scope,
    Subject,
    SubjectKind,
    Verification,
    VitalStatus,
    normalise_territory,
)
from service.media.intake import spool
from service.pipeline import revocation
from service.vocabulary import OutputKind

router = APIRouter(prefix="/v1", tags=["consent"])

Sha256 = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]


class SubjectIn(BaseModel):
    kind: SubjectKind
    vital_status: VitalStatus
    name: str = Field(min_length=1, max_length=200)
    birth_date: date | None = None
    death_date: date | None = None
    jurisdiction: str = Field(
        pattern=r"^[A-Z]{2}(-[A-Z0-9]{1,3})?$", description="ISO 3166-1 code, optional subdivision: RU, US-CA"
    )


class SubjectOut(SubjectIn):
    id: UUID
    created_at: datetime

    @classmethod
    def of(cls, s: Subject) -> SubjectOut:
        return cls(
            id=s.id,
            kind=s.kind,
            vital_status=s.vital_status,
            name=s.name,
            birth_date=s.birth_date,
            death_date=s.death_date,
            jurisdiction=s.jurisdiction,
            created_at=s.created_at,
        )


class GrantorIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    relationship: Relationship
    adult: bool
    verification: Verification = Field(
        Verification.NONE, description="How the grantor's identity was checked."
    )

    @classmethod
    def of(cls, p: Grantor) -> GrantorIn:
        return cls(name=p.name, relationship=p.relationship, adult=p.adult, verification=p.verification)

    def value(self) -> Grantor:
        return Grantor(self.name, self.relationship, self.adult, self.verification)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


class ConsentIn(BaseModel):
    subject_id: UUID
    grantors: list[GrantorIn] = Field(min_length=1, max_length=50)
    legal_basis: str = Field(min_length=1, max_length=40, description="A rule id from policies/consent/")
    modalities: list[Modality] = Field(min_length=1)
    purposes: list[Purpose] = Field(min_length=1)
    audiences: list[Audience] = Field(min_length=1)
    territories: list[str] = Field(min_length=1, max_length=300, description="ISO 3166 codes, 'eu' or '*'")
    expires_at: datetime
    script_sha256: Sha256 | None = None
    evidence: list[Sha256] = Field(default_factory=list, description="SHA-256 of uploaded evidence")
    co_holders: int | None = Field(
        None, ge=1, description="How many people share the right (default: the grantors of its class)"
    )

    @field_validator("expires_at")
    @classmethod
    def _tz(cls, value: datetime) -> datetime:
        return _aware(value)


class ConsentOut(BaseModel):
    id: UUID
    subject_id: UUID
    legal_basis: str
    grantors: list[GrantorIn]
    modalities: list[Modality]
    purposes: list[Purpose]
    audiences: list[Audience]
    territories: list[str]
    expires_at: datetime
    script_sha256: str | None
    evidence: list[str]
    status: GrantStatus
    created_at: datetime
    revoked_at: datetime | None

    @classmethod
    def of(cls, g: Grant) -> ConsentOut:
        return cls(
            id=g.id,
            subject_id=g.subject_id,
            legal_basis=g.legal_basis,
            grantors=[GrantorIn.of(p) for p in g.grantors],
            modalities=sorted(g.scope.modalities),
            purposes=sorted(g.scope.purposes),
            audiences=sorted(g.scope.audiences),
            territories=sorted(g.scope.territories),
            expires_at=g.expires_at,
            script_sha256=g.script_sha256,
            evidence=list(g.evidence),
            status=g.status,
            created_at=g.created_at,
            revoked_at=g.revoked_at,
        )


class RevocationOut(BaseModel):
    consent: ConsentOut
    affected_assets: list[UUID] = Field(description="Released outputs made under the grant, now revoked")
    newly_revoked: bool
    deletion_due_at: datetime | None = Field(description="When the grant's source media will be deleted")


class ObjectionOut(BaseModel):
    id: UUID
    consent_id: UUID
    relationship: Relationship
    created_at: datetime
    consent: ConsentOut


class DirectiveIn(BaseModel):
    subject_id: UUID
    type: DirectiveType
    modalities: list[Modality] = Field(default_factory=list, description="Empty: every modality")
    evidence: list[Sha256] = Field(default_factory=list)


class DirectiveOut(DirectiveIn):
    id: UUID
    created_at: datetime


class EvidenceOut(BaseModel):
    sha256: str
    kind: EvidenceKind
    size: int
    created_at: datetime


class SpecSubjectIn(BaseModel):
    subject_id: UUID
    appears_as: AppearsAs = AppearsAs.LIKENESS


class GenerationSpecIn(BaseModel):
    """The consent-relevant fields of a generation spec (docs/generation.md)."""

    subjects: list[SpecSubjectIn] = Field(min_length=1, max_length=50)
    market: str = Field("default", max_length=20, description="`default` (everywhere), `eu`, `cn`, `us-ca`…")
    purpose: Purpose
    audience: Audience
    output: OutputKind
    prompt: str | None = Field(None, max_length=20_000)
    script: str | None = Field(None, max_length=20_000, description="compared by SHA-256 with a voice grant")


class ConsentDecisionOut(BaseModel):
    decision: ConsentOutcome
    reasons: list[ReasonOut]
    consent_ids: list[UUID]
    audience_limit: Audience | None


@router.post("/subjects", status_code=201)
def create_subject(body: SubjectIn, who: CurrentStudio, services: ServicesDep) -> SubjectOut:
    """A person or animal who may be depicted or voiced."""
    with services.db.tenant(who.tenant_id) as conn:
        subject = registry.create_subject(
            conn,
            tenant_id=who.tenant_id,
            kind=body.kind,
            vital_status=body.vital_status,
            name=body.name,
            jurisdiction=body.jurisdiction,
            birth_date=body.birth_date,
            death_date=body.death_date,
        )
    return SubjectOut.of(subject)


@router.get("/subjects/{subject_id}")
def get_subject(subject_id: UUID, who: CurrentStudio, services: ServicesDep) -> SubjectOut:
    with services.db.tenant(who.tenant_id) as conn:
        return SubjectOut.of(store.get_subject(conn, subject_id))


@router.post("/consents", status_code=201)
def create_consent(body: ConsentIn, who: CurrentStudio, services: ServicesDep) -> ConsentOut:
    """A grant; refused (422, `consent_rejected`) when its rule does not authorise the grantors."""
    scope = Scope(
        modalities=frozenset(body.modalities),
        purposes=frozenset(body.purposes),
        audiences=frozenset(body.audiences),
        territories=frozenset(normalise_territory(t) for t in body.territories),
    )
    with services.db.tenant(who.tenant_id) as conn:
        grant = registry.create_grant(
            conn,
            services.consent_rules,
            tenant_id=who.tenant_id,
            subject_id=body.subject_id,
            grantors=[g.value() for g in body.grantors],
            legal_basis=body.legal_basis,
            scope=scope,
            expires_at=body.expires_at,
            now=datetime.now(UTC),
            script_sha256=body.script_sha256,
            evidence=body.evidence,
            co_holders=body.co_holders,
        )
    return ConsentOut.of(grant)


@router.get("/consents/{consent_id}")
def get_consent(consent_id: UUID, who: CurrentStudio, services: ServicesDep) -> ConsentOut:
    with services.db.tenant(who.tenant_id) as conn:
        return ConsentOut.of(store.get_grant(conn, consent_id))


@router.post("/consents/{consent_id}/revoke")
def revoke_consent(consent_id: UUID, who: CurrentStudio, services: ServicesDep) -> RevocationOut:
    """Idempotent. New generation is denied at once; released outputs become `revoked`."""
    sla = timedelta(days=services.settings.consent_deletion_sla_days)
    with services.db.tenant(who.tenant_id) as conn:
        result = registry.revoke_grant(conn, consent_id, now=datetime.now(UTC), deletion_sla=sla)
        revocation.revoke_generations(conn, consent_id, result.asset_ids)  # no longer served
    # Their fingerprints go to the revocation bank: re-uploads are blocked even when stripped.
    revocation.bank_revoked_outputs(services, result.asset_ids)
    return RevocationOut(
        consent=ConsentOut.of(result.grant),
        affected_assets=list(result.asset_ids),
        newly_revoked=result.newly_revoked,
        deletion_due_at=result.deletion_due_at,
    )


@router.post("/consents/{consent_id}/objections", status_code=201)
def object_to_consent(
    consent_id: UUID, body: GrantorIn, who: CurrentStudio, services: ServicesDep
) -> ObjectionOut:
    """A co-holder of the right objects: the consent becomes `disputed` and denies generation."""
    with services.db.tenant(who.tenant_id) as conn:
        objection, grant = registry.file_objection(
            conn, services.consent_rules, tenant_id=who.tenant_id, grant_id=consent_id, objector=body.value()
        )
    return ObjectionOut(
        id=objection.id,
        consent_id=grant.id,
        relationship=objection.objector.relationship,
        created_at=objection.created_at,
        consent=ConsentOut.of(grant),
    )


@router.post("/directives", status_code=201)
def create_directive(body: DirectiveIn, who: CurrentStudio, services: ServicesDep) -> DirectiveOut:
    """A refusal the person left while alive (`do_not_recreate`); it beats any consent."""
    with services.db.tenant(who.tenant_id) as conn:
        d = registry.create_directive(
            conn,
            tenant_id=who.tenant_id,
            subject_id=body.subject_id,
            type=body.type,
            modalities=body.modalities,
            evidence=body.evidence,
        )
    return _directive_out(d)


@router.get("/directives/{directive_id}")
def get_directive(directive_id: UUID, who: CurrentStudio, services: ServicesDep) -> DirectiveOut:
    with services.db.tenant(who.tenant_id) as conn:
        return _directive_out(store.get_directive(conn, directive_id))


def _directive_out(d: Any) -> DirectiveOut:
    return DirectiveOut(
        id=d.id,
        subject_id=d.subject_id,
        type=d.type,
        modalities=sorted(d.modalities),
        evidence=list(d.evidence),
        created_at=d.created_at,
    )


@router.post("/evidence", status_code=201)
def upload_evidence(
    who: CurrentStudio,
    services: ServicesDep,
    file: UploadFile = File(description="a certificate, court order, will or signed consent"),
    kind: EvidenceKind = Form(description="what the document is"),
) -> EvidenceOut:
    """Store an evidence document in the blob store; grants and directives cite its SHA-256."""
    path, size, _ = spool(file.file, directory=services.settings.tmp_dir, max_bytes=services.limits.max_bytes)
    try:
        sha256 = services.blobs.put_file(path)
    finally:
        path.unlink(missing_ok=True)
    with services.db.tenant(who.tenant_id) as conn:
        ev = registry.record_evidence(conn, tenant_id=who.tenant_id, sha256=sha256, kind=kind, size=size)
    return EvidenceOut(sha256=ev.sha256, kind=ev.kind, size=ev.size, created_at=ev.created_at)


@router.post("/consents/evaluate")
def evaluate_spec(spec: GenerationSpecIn, who: CurrentStudio, services: ServicesDep) -> ConsentDecisionOut:
    """Preflight: would consent on file allow this generation spec now? (writes nothing)"""
    request = ConsentRequest.from_spec(spec.model_dump(mode="json"))
    with services.db.tenant(who.tenant_id) as conn:
        decision = registry.check_request(conn, services.consent_rules, request, at=datetime.now(UTC))
    return ConsentDecisionOut(
        decision=decision.decision,
        reasons=[ReasonOut.of(r) for r in decision.reasons],
        consent_ids=list(decision.grant_ids),
        audience_limit=decision.audience_limit,
    )
