"""SQL for consent records: subjects, evidence, grants and their objections, directives, and the
one query that brings a subject with everything on file (``load_records``).

Statements only, each returning the frozen values of ``model``: the rules, the checks and the
audit events are in ``registry``. The caller owns the transaction (``db.tenant(t)`` or
``db.system()``); row-level security keeps a tenant's records out of another's reach, so a row of
another tenant is simply not found. Rows are read as JSON objects (``to_jsonb``) and parsed by
``rows``. The SQL of output links, revocation and source-media deletion is in ``revocation_store``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from uuid import UUID

from psycopg.types.json import Jsonb

from service.consent import rows
from service.consent.model import (
    Directive,
    DirectiveType,
    Evidence,
    EvidenceKind,
    Grant,
    Grantor,
    Modality,
    Objection,
    Scope,
    Subject,
    SubjectKind,
    SubjectRecords,
    VitalStatus,
)
from service.db import Conn
from service.errors import NotFound

# --- subjects --------------------------------------------------------------------------------


def insert_subject(
    conn: Conn,
    *,
    tenant_id: UUID,
    kind: SubjectKind,
    vital_status: VitalStatus,
    name: str,
    jurisdiction: str,
    birth_date: date | None,
    death_date: date | None,
) -> Subject:
    row = rows.one(
        conn,
        "INSERT INTO consent_subjects AS s (tenant_id, kind, vital_status, name, jurisdiction, "
        "birth_date, death_date) VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING to_jsonb(s)",
        (tenant_id, kind.value, vital_status.value, name, jurisdiction, birth_date, death_date),
    )
    assert row is not None
    return rows.subject(row)


def get_subject(conn: Conn, subject_id: UUID) -> Subject:
    row = rows.one(conn, "SELECT to_jsonb(s) FROM consent_subjects s WHERE s.id = %s", (subject_id,))
    if row is None:
        raise NotFound(f"No subject {subject_id} in this tenant. Create it with POST /v1/subjects.")
    return rows.subject(row)


# --- evidence --------------------------------------------------------------------------------


def insert_evidence(
    conn: Conn, *, tenant_id: UUID, sha256: str, kind: EvidenceKind, size: int
) -> tuple[Evidence, bool]:
    """The evidence row for ``sha256`` (idempotent per tenant and hash), and whether it is new."""
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
    evidence = Evidence(
        sha256=row["sha256"],
        tenant_id=UUID(row["tenant_id"]),
        kind=EvidenceKind(row["kind"]),
        size=int(row["size"]),
        created_at=rows.ts(row["created_at"]),
    )
    return evidence, bool(inserted)


def known_evidence(conn: Conn, tenant_id: UUID, hashes: Sequence[str]) -> set[str]:
    """Which of ``hashes`` the tenant has uploaded as evidence."""
    row = conn.execute(
        "SELECT array_agg(sha256) FROM consent_evidence WHERE tenant_id = %s AND sha256 = ANY(%s)",
        (tenant_id, list(hashes)),
    ).fetchone()
    return set(row[0] or []) if row else set()


# --- grants ----------------------------------------------------------------------------------


def insert_grant(
    conn: Conn,
    *,
    tenant_id: UUID,
    subject_id: UUID,
    legal_basis: str,
    grantors: Sequence[Grantor],
    scope: Scope,
    expires_at: datetime,
    script_sha256: str | None,
    evidence: Sequence[str],
) -> Grant:
    row = rows.one(
        conn,
        "INSERT INTO consent_grants AS g (tenant_id, subject_id, legal_basis, grantors, modalities, "
        "purposes, audiences, territories, expires_at, script_sha256, evidence) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING to_jsonb(g)",
        (
            tenant_id,
            subject_id,
            legal_basis,
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
    return rows.grant(row)


def get_grant(conn: Conn, grant_id: UUID, *, for_update: bool = False) -> Grant:
    sql = "SELECT to_jsonb(g) FROM consent_grants g WHERE g.id = %s"
    row = rows.one(conn, sql + (" FOR UPDATE" if for_update else ""), (grant_id,))
    if row is None:
        raise NotFound(f"No consent {grant_id} in this tenant.")
    return rows.grant(row)


def insert_objection(conn: Conn, *, tenant_id: UUID, grant_id: UUID, objector: Grantor) -> Objection:
    row = rows.one(
        conn,
        "INSERT INTO consent_objections AS o (tenant_id, grant_id, objector) VALUES (%s, %s, %s) "
        "RETURNING to_jsonb(o)",
        (tenant_id, grant_id, Jsonb(rows.grantor_json(objector))),
    )
    assert row is not None
    return Objection(
        id=UUID(row["id"]),
        tenant_id=tenant_id,
        grant_id=grant_id,
        objector=objector,
        created_at=rows.ts(row["created_at"]),
    )


def mark_disputed(conn: Conn, grant_id: UUID) -> None:
    conn.execute("UPDATE consent_grants SET status = 'disputed' WHERE id = %s", (grant_id,))


# --- directives ------------------------------------------------------------------------------


def insert_directive(
    conn: Conn,
    *,
    tenant_id: UUID,
    subject_id: UUID,
    type: DirectiveType,
    modalities: Iterable[Modality],
    evidence: Sequence[str],
) -> Directive:
    row = rows.one(
        conn,
        "INSERT INTO consent_directives AS d (tenant_id, subject_id, type, modalities, evidence) "
        "VALUES (%s, %s, %s, %s, %s) RETURNING to_jsonb(d)",
        (tenant_id, subject_id, type.value, sorted({m.value for m in modalities}), list(evidence)),
    )
    assert row is not None
    return rows.directive(row)


def get_directive(conn: Conn, directive_id: UUID) -> Directive:
    row = rows.one(conn, "SELECT to_jsonb(d) FROM consent_directives d WHERE d.id = %s", (directive_id,))
    if row is None:
        raise NotFound(f"No directive {directive_id} in this tenant.")
    return rows.directive(row)


# --- everything on file about subjects ------------------------------------------------------

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
