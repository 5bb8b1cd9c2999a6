"""SQL for consent records. The caller owns the transaction (``db.tenant(t)`` or ``db.system()``).

Every change appends its audit event in the same transaction, with ids, hashes and codes only.
Rows are read as JSON objects (``to_jsonb``) and parsed into the frozen values of ``model``, so
one query can bring a subject with all its grants and directives (``load_records``).
Revocation, output links and source-media deletion are in ``revocation_store``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any
from uuid import UUID

from psycopg.types.json import Jsonb

from service.audit import Event, EventName, append
from service.consent import rows
from service.consent.evaluate import evaluate
from service.consent.model import (
    SHA256_HEX,
    ConsentDecision,
    ConsentRequest,
    Directive,
    DirectiveType,
    Evidence,
    EvidenceKind,
    Grant,
    Grantor,
    GrantStatus,
    Modality,
    Objection,
    Scope,
    Subject,
    SubjectKind,
    SubjectRecords,
    VitalStatus,
)
from service.consent.rules import RuleBook
from service.db import Conn
from service.errors import Conflict, ConsentRejected, MalformedRequest, NotFound

# --- subjects --------------------------------------------------------------------------------


def create_subject(
    conn: Conn,
    *,
    tenant_id: UUID,
    kind: SubjectKind,
    vital_status: VitalStatus,
    name: str,
    jurisdiction: str,
    birth_date: date | None = None,
    death_date: date | None = None,
) -> Subject:
    if death_date is not None and vital_status is VitalStatus.LIVING:
        raise MalformedRequest("A living subject has no death_date.", details={"field": "death_date"})
    if birth_date and death_date and death_date < birth_date:
        raise MalformedRequest("death_date is before birth_date.", details={"field": "death_date"})
    row = rows.one(
        conn,
        "INSERT INTO consent_subjects AS s (tenant_id, kind, vital_status, name, jurisdiction, "
        "birth_date, death_date) VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING to_jsonb(s)",
        (tenant_id, kind.value, vital_status.value, name, jurisdiction, birth_date, death_date),
    )
    assert row is not None
    subject = rows.subject(row)
    data = {"kind": kind.value, "vital_status": vital_status.value, "jurisdiction": jurisdiction}
    append(conn, Event(EventName.SUBJECT_CREATED, str(subject.id), tenant_id, data))
    return subject


def get_subject(conn: Conn, subject_id: UUID) -> Subject:
    row = rows.one(conn, "SELECT to_jsonb(s) FROM consent_subjects s WHERE s.id = %s", (subject_id,))
    if row is None:
        raise NotFound(f"No subject {subject_id} in this tenant. Create it with POST /v1/subjects.")
    return rows.subject(row)


# --- evidence --------------------------------------------------------------------------------


def record_evidence(conn: Conn, *, tenant_id: UUID, sha256: str, kind: EvidenceKind, size: int) -> Evidence:
    """Record a document already put in the blob store (idempotent per tenant and hash)."""
    inserted = conn.execute(
        "INSERT INTO consent_evidence (tenant_id, sha256, kind, size) VALUES (%s, %s, %s, %s) "
        "ON CONFLICT (tenant_id, sha256) DO NOTHING",
        (tenant_id, sha256, kind.value, size),
    ).rowcount
    row = rows.one(
        conn,
        "SELECT to_jsonb(e) FROM consent_evidence e WHERE tenant_id = %s AND sha256 = %s",
        (tenant_id, sha256),
    )
    assert row is not None
    if inserted:
        data = {"kind": kind.value, "size": size}
        append(conn, Event(EventName.EVIDENCE_STORED, sha256, tenant_id, data))
    return Evidence(
        sha256=row["sha256"],
        tenant_id=UUID(row["tenant_id"]),
        kind=EvidenceKind(row["kind"]),
        size=int(row["size"]),
        created_at=rows.ts(row["created_at"]),
    )


def _check_evidence(conn: Conn, tenant_id: UUID, hashes: Sequence[str]) -> None:
    for sha in hashes:
        if not SHA256_HEX.match(sha):
            raise MalformedRequest(
                f"Evidence {sha!r} is not a SHA-256 hex digest.", details={"field": "evidence"}
            )
    if not hashes:
        return
    row = conn.execute(
        "SELECT array_agg(sha256) FROM consent_evidence WHERE tenant_id = %s AND sha256 = ANY(%s)",
        (tenant_id, list(hashes)),
    ).fetchone()
    known = set(row[0] or []) if row else set()
    missing = [sha for sha in hashes if sha not in known]
    if missing:
        raise MalformedRequest(
            f"Evidence {missing[0]} was not uploaded; upload it with POST /v1/evidence first.",
            details={"field": "evidence"},
        )


# --- grants ----------------------------------------------------------------------------------


def create_grant(
    conn: Conn,
    rules: RuleBook,
    *,
    tenant_id: UUID,
    subject_id: UUID,
    grantors: Sequence[Grantor],
    legal_basis: str,
    scope: Scope,
    expires_at: datetime,
    now: datetime,
    script_sha256: str | None = None,
    evidence: Sequence[str] = (),
    co_holders: int | None = None,
) -> Grant:
    """Record a grant after its rule has authorised it; refusals cite the rule."""
    subject = get_subject(conn, subject_id)
    rule = rules.get(legal_basis)
    if rule is None:
        raise ConsentRejected(
            f"Unknown legal_basis {legal_basis!r}; use one of: {', '.join(rules.ids())}.",
            details={"rule": legal_basis},
        )
    problem = rule.check_grant(
        subject, grantors, today=now.date(), expires_at=expires_at, now=now, co_holders=co_holders
    )
    if problem is not None:
        raise ConsentRejected(
            f"{rule.id} ({rule.title}) does not authorise this grant: {problem}.",
            details={"rule": rule.id, "subject_id": str(subject_id)},
        )
    if not (scope.modalities and scope.purposes and scope.audiences and scope.territories):
        raise MalformedRequest("modalities, purposes, audiences and territories may not be empty.")
    if script_sha256 is not None and not SHA256_HEX.match(script_sha256):
        raise MalformedRequest("script_sha256 must be 64 lower-case hex digits.")
    _check_evidence(conn, tenant_id, evidence)
    row = rows.one(
        conn,
        "INSERT INTO consent_grants AS g (tenant_id, subject_id, legal_basis, grantors, modalities, "
        "purposes, audiences, territories, expires_at, script_sha256, evidence) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING to_jsonb(g)",
        (
            tenant_id,
            subject_id,
            rule.id,
            Jsonb([rows.grantor_json(g) for g in grantors]),
            sorted(m.value for m in scope.modalities),
            sorted(p.value for p in scope.purposes),
            sorted(a.value for a in scope.audiences),
            sorted(scope.territories),
            expires_at,
            script_sha256,
            list(evidence),
        ),
    )
    assert row is not None
    grant = rows.grant(row)
    data: dict[str, Any] = {
        "subject_id": str(subject_id),
        "legal_basis": rule.id,
        "relationships": sorted({g.relationship.value for g in grantors}),
        "modalities": list(row["modalities"]),
        "expires_at": grant.expires_at.isoformat(),
        "script_sha256": script_sha256,
        "evidence": list(evidence),
    }
    append(conn, Event(EventName.CONSENT_GRANTED, str(grant.id), tenant_id, data))
    return grant


def get_grant(conn: Conn, grant_id: UUID, *, for_update: bool = False) -> Grant:
    sql = "SELECT to_jsonb(g) FROM consent_grants g WHERE g.id = %s"
    row = rows.one(conn, sql + (" FOR UPDATE" if for_update else ""), (grant_id,))
    if row is None:
        raise NotFound(f"No consent {grant_id} in this tenant.")
    return rows.grant(row)


def file_objection(
    conn: Conn, rules: RuleBook, *, tenant_id: UUID, grant_id: UUID, objector: Grantor
) -> tuple[Objection, Grant]:
    """A co-holder of the right objects: the grant becomes disputed (and denies generation)."""
    grant = get_grant(conn, grant_id, for_update=True)
    rule = rules.get(grant.legal_basis)
    if grant.status is GrantStatus.REVOKED:
        raise Conflict(f"Consent {grant_id} is already revoked; an objection changes nothing.")
    if not objector.adult:
        raise ConsentRejected(
            "A minor may not object in their own name; their guardian may.",
            details={"rule": grant.legal_basis},
        )
    if rule is not None and objector.relationship not in rule.objectors:
        allowed = ", ".join(sorted(r.value for r in rule.objectors))
        raise ConsentRejected(
            f"{rule.id}: a {objector.relationship.value} may not object under this rule (may: {allowed}).",
            details={"rule": rule.id},
        )
    row = rows.one(
        conn,
        "INSERT INTO consent_objections AS o (tenant_id, grant_id, objector) VALUES (%s, %s, %s) "
        "RETURNING to_jsonb(o)",
        (tenant_id, grant_id, Jsonb(rows.grantor_json(objector))),
    )
    assert row is not None
    objection = Objection(
        id=UUID(row["id"]),
        tenant_id=tenant_id,
        grant_id=grant_id,
        objector=objector,
        created_at=rows.ts(row["created_at"]),
    )
    conn.execute("UPDATE consent_grants SET status = 'disputed' WHERE id = %s", (grant_id,))
    data = {"objection_id": str(objection.id), "relationship": objector.relationship.value}
    append(conn, Event(EventName.CONSENT_DISPUTED, str(grant_id), tenant_id, data))
    return objection, get_grant(conn, grant_id)


# --- directives ------------------------------------------------------------------------------


def create_directive(
    conn: Conn,
    *,
    tenant_id: UUID,
    subject_id: UUID,
    type: DirectiveType,
    modalities: Iterable[Modality] = (),
    evidence: Sequence[str] = (),
) -> Directive:
    subject = get_subject(conn, subject_id)
    if subject.kind is not SubjectKind.HUMAN:
        raise MalformedRequest("Directives are for human subjects.", details={"field": "subject_id"})
    _check_evidence(conn, tenant_id, evidence)
    row = rows.one(
        conn,
        "INSERT INTO consent_directives AS d (tenant_id, subject_id, type, modalities, evidence) "
        "VALUES (%s, %s, %s, %s, %s) RETURNING to_jsonb(d)",
        (tenant_id, subject_id, type.value, sorted({m.value for m in modalities}), list(evidence)),
    )
    assert row is not None
    directive = rows.directive(row)
    data = {"subject_id": str(subject_id), "type": type.value, "modalities": list(row["modalities"])}
    append(conn, Event(EventName.DIRECTIVE_FILED, str(directive.id), tenant_id, data))
    return directive


def get_directive(conn: Conn, directive_id: UUID) -> Directive:
    row = rows.one(conn, "SELECT to_jsonb(d) FROM consent_directives d WHERE d.id = %s", (directive_id,))
    if row is None:
        raise NotFound(f"No directive {directive_id} in this tenant.")
    return rows.directive(row)


# --- evaluation ------------------------------------------------------------------------------

_LOAD = """
SELECT to_jsonb(s),
       coalesce((SELECT jsonb_agg(to_jsonb(g)) FROM consent_grants g WHERE g.subject_id = s.id), '[]'),
       coalesce((SELECT jsonb_agg(to_jsonb(d)) FROM consent_directives d WHERE d.subject_id = s.id), '[]')
FROM consent_subjects s WHERE s.id = ANY(%s)
"""


def load_records(conn: Conn, subject_ids: Iterable[UUID]) -> dict[UUID, SubjectRecords]:
    """Every subject with all its grants and directives, in one round trip."""
    records: dict[UUID, SubjectRecords] = {}
    for subject_row, grants, directives in conn.execute(_LOAD, (list(set(subject_ids)),)):
        subject = rows.subject(subject_row)
        records[subject.id] = SubjectRecords(
            subject=subject,
            grants=tuple(rows.grant(g) for g in grants),
            directives=tuple(rows.directive(d) for d in directives),
        )
    return records


def check_request(conn: Conn, rules: RuleBook, request: ConsentRequest, *, at: datetime) -> ConsentDecision:
    """Load the request's subjects (one query) and evaluate it: generation's step 1."""
    records = load_records(conn, (s.subject_id for s in request.subjects))
    return evaluate(request, records, rules, at=at)
