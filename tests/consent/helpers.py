"""Building consent records for tests through the real store (the same calls the API makes)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from uuid import UUID

from service.auth import store as auth_store
from service.consent import registry
from service.consent.model import (
    Audience,
    ConsentDecision,
    ConsentRequest,
    Grant,
    Grantor,
    Modality,
    Purpose,
    Relationship,
    Scope,
    Subject,
    SubjectKind,
    VitalStatus,
)
from service.services import Services

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
ALL_MODALITIES = frozenset(Modality)


def tenant(services: Services, name: str = "acme") -> UUID:
    with services.db.system() as conn:
        return auth_store.ensure_tenant(conn, name).id


def subject(
    services: Services,
    tenant_id: UUID,
    *,
    vital: VitalStatus = VitalStatus.LIVING,
    kind: SubjectKind = SubjectKind.HUMAN,
    jurisdiction: str = "RU",
    birth: date | None = date(1990, 5, 1),
    death: date | None = None,
    name: str = "Someone",
) -> Subject:
    with services.db.tenant(tenant_id) as conn:
        return registry.create_subject(
            conn,
            tenant_id=tenant_id,
            kind=kind,
            vital_status=vital,
            name=name,
            jurisdiction=jurisdiction,
            birth_date=birth,
            death_date=death,
        )


def scope(
    modalities: frozenset[Modality] = ALL_MODALITIES,
    purposes: frozenset[Purpose] = frozenset(Purpose),
    audiences: frozenset[Audience] = frozenset(Audience),
    territories: frozenset[str] = frozenset({"*"}),
) -> Scope:
    return Scope(modalities, purposes, audiences, territories)


def grant(
    services: Services,
    tenant_id: UUID,
    subject_id: UUID,
    *,
    basis: str,
    grantors: list[tuple[str, Relationship]],
    grant_scope: Scope | None = None,
    expires_in: timedelta = timedelta(days=365),
    script_sha256: str | None = None,
    now: datetime = NOW,
    co_holders: int | None = None,
) -> Grant:
    with services.db.tenant(tenant_id) as conn:
        return registry.create_grant(
            conn,
            services.consent_rules,
            tenant_id=tenant_id,
            subject_id=subject_id,
            grantors=[Grantor(name, rel, adult=True) for name, rel in grantors],
            legal_basis=basis,
            scope=grant_scope or scope(),
            expires_at=now + expires_in,
            now=now,
            script_sha256=script_sha256,
            co_holders=co_holders,
        )


def decide(
    services: Services, tenant_id: UUID, spec: dict[str, object], at: datetime = NOW
) -> ConsentDecision:
    with services.db.tenant(tenant_id) as conn:
        return registry.check_request(conn, services.consent_rules, ConsentRequest.from_spec(spec), at=at)


def spec(
    *subjects: tuple[UUID, str], output: str = "video", audience: str = "family", **extra: object
) -> dict[str, object]:
    return {
        "subjects": [{"subject_id": str(s), "appears_as": a} for s, a in subjects],
        "market": extra.pop("market", "default"),
        "purpose": extra.pop("purpose", "private_memorial"),
        "audience": audience,
        "output": output,
        "prompt": "farewell",
        **extra,
    }
