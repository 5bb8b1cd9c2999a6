"""What a studio and the generation flow do with consent records: each function checks what it
is given against the rules, writes through the stores, and appends its audit event (ids, hashes
and codes only) in the caller's transaction, so no record changes without its event.

- subjects, evidence, grants, objections and directives (``create_*``, ``record_evidence``,
  ``file_objection``);
- ``check_request``: generation's step 1, the request's subjects loaded in one query and
  evaluated (``evaluate``);
- ``link_outputs``: at release, these assets were made under these grants (from these media);
- ``revoke_grant``: idempotent; new generation is denied at once (the grant's status), every
  linked output is marked revoked and the deletion of its source media scheduled. It returns the
  affected asset ids so the caller can add their fingerprints to the revocation bank;
- ``run_due_deletions``: the worker deletes source media whose deletion SLA has passed (in a
  ``system()`` transaction).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID

from service.audit import Event, EventName, append
from service.audit.events import Value
from service.blobs import BlobStore
from service.consent import revocation_store, store
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
    VitalStatus,
)
from service.consent.rules import RuleBook
from service.db import Conn
from service.errors import Conflict, ConsentRejected, MalformedRequest, NotFound


@dataclass(frozen=True, slots=True)
class Revocation:
    grant: Grant
    asset_ids: tuple[UUID, ...]  # every output made under the grant (add them to the revocation bank)
    newly_revoked: bool  # False when the grant was already revoked (idempotent repeat)
    deletion_due_at: datetime | None  # when its source media will be deleted (None: none linked)


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
    subject = store.insert_subject(
        conn,
        tenant_id=tenant_id,
        kind=kind,
        vital_status=vital_status,
        name=name,
        jurisdiction=jurisdiction,
        birth_date=birth_date,
        death_date=death_date,
    )
    data = {"kind": kind.value, "vital_status": vital_status.value, "jurisdiction": jurisdiction}
    append(conn, Event(EventName.SUBJECT_CREATED, str(subject.id), tenant_id, data))
    return subject


def record_evidence(conn: Conn, *, tenant_id: UUID, sha256: str, kind: EvidenceKind, size: int) -> Evidence:
    """Record a document already put in the blob store (idempotent per tenant and hash)."""
    evidence, new = store.insert_evidence(conn, tenant_id=tenant_id, sha256=sha256, kind=kind, size=size)
    if new:
        data = {"kind": kind.value, "size": size}
        append(conn, Event(EventName.EVIDENCE_STORED, sha256, tenant_id, data))
    return evidence


def _check_evidence(conn: Conn, tenant_id: UUID, hashes: Sequence[str]) -> None:
    for sha in hashes:
        if not SHA256_HEX.match(sha):
            raise MalformedRequest(
                f"Evidence {sha!r} is not a SHA-256 hex digest.", details={"field": "evidence"}
            )
    if not hashes:
        return
    known = store.known_evidence(conn, tenant_id, hashes)
    missing = [sha for sha in hashes if sha not in known]
    if missing:
        raise MalformedRequest(
            f"Evidence {missing[0]} was not uploaded; upload it with POST /v1/evidence first.",
            details={"field": "evidence"},
        )


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
    subject = store.get_subject(conn, subject_id)
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
    grant = store.insert_grant(
        conn,
        tenant_id=tenant_id,
        subject_id=subject_id,
        legal_basis=rule.id,
        grantors=grantors,
        scope=scope,
        expires_at=expires_at,
        script_sha256=script_sha256,
        evidence=evidence,
    )
    data: dict[str, Any] = {
        "subject_id": str(subject_id),
        "legal_basis": rule.id,
        "relationships": sorted({g.relationship.value for g in grantors}),
        "modalities": sorted(m.value for m in scope.modalities),
        "expires_at": grant.expires_at.isoformat(),
        "script_sha256": script_sha256,
        "evidence": list(evidence),
    }
    append(conn, Event(EventName.CONSENT_GRANTED, str(grant.id), tenant_id, data))
    return grant


def file_objection(
    conn: Conn, rules: RuleBook, *, tenant_id: UUID, grant_id: UUID, objector: Grantor
) -> tuple[Objection, Grant]:
    """A co-holder of the right objects: the grant becomes disputed (and denies generation)."""
    grant = store.get_grant(conn, grant_id, for_update=True)
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
    objection = store.insert_objection(conn, tenant_id=tenant_id, grant_id=grant_id, objector=objector)
    store.mark_disputed(conn, grant_id)
    data = {"objection_id": str(objection.id), "relationship": objector.relationship.value}
    append(conn, Event(EventName.CONSENT_DISPUTED, str(grant_id), tenant_id, data))
    return objection, store.get_grant(conn, grant_id)


def create_directive(
    conn: Conn,
    *,
    tenant_id: UUID,
    subject_id: UUID,
    type: DirectiveType,
    modalities: Iterable[Modality] = (),
    evidence: Sequence[str] = (),
) -> Directive:
    subject = store.get_subject(conn, subject_id)
    if subject.kind is not SubjectKind.HUMAN:
        raise MalformedRequest("Directives are for human subjects.", details={"field": "subject_id"})
    _check_evidence(conn, tenant_id, evidence)
    directive = store.insert_directive(
        conn, tenant_id=tenant_id, subject_id=subject_id, type=type, modalities=modalities, evidence=evidence
    )
    data = {
        "subject_id": str(subject_id),
        "type": type.value,
        "modalities": sorted(m.value for m in directive.modalities),
    }
    append(conn, Event(EventName.DIRECTIVE_FILED, str(directive.id), tenant_id, data))
    return directive


def check_request(conn: Conn, rules: RuleBook, request: ConsentRequest, *, at: datetime) -> ConsentDecision:
    """Load the request's subjects (one query) and evaluate it: generation's step 1."""
    records = store.load_records(conn, (s.subject_id for s in request.subjects))
    return evaluate(request, records, rules, at=at)


def link_outputs(
    conn: Conn,
    *,
    asset_ids: Sequence[UUID],
    grant_ids: Sequence[UUID],
    tenant_id: UUID,
    source_sha256s: Sequence[str] = (),
) -> int:
    """Record that ``asset_ids`` were made under ``grant_ids`` (from ``source_sha256s``).

    Idempotent. An output linked to a grant that is already revoked is born revoked.
    Returns the number of new links.
    """
    for sha in source_sha256s:
        if not SHA256_HEX.match(sha):
            raise MalformedRequest(f"{sha!r} is not a SHA-256 hex digest.")
    if revocation_store.count_grants(conn, grant_ids, tenant_id) != len(set(grant_ids)):
        raise NotFound("A grant to link outputs to is not in this tenant.")
    linked = revocation_store.insert_output_links(
        conn, tenant_id=tenant_id, asset_ids=asset_ids, grant_ids=grant_ids
    )
    if source_sha256s:
        revocation_store.insert_source_media(
            conn, tenant_id=tenant_id, grant_ids=grant_ids, sha256s=source_sha256s
        )
    return linked


def revoke_grant(conn: Conn, grant_id: UUID, *, now: datetime, deletion_sla: timedelta) -> Revocation:
    """Revoke a grant (idempotent): deny new generation, mark its outputs, schedule deletions."""
    grant, newly = revocation_store.mark_revoked(conn, grant_id, now)
    revoked_at = grant.revoked_at or now
    asset_ids = revocation_store.revoke_links(conn, grant_id, revoked_at)
    scheduled, due_at = revocation_store.schedule_deletions(conn, grant_id, revoked_at + deletion_sla)
    if newly:
        data: dict[str, Value] = {
            "subject_id": str(grant.subject_id),
            "legal_basis": grant.legal_basis,
            "assets": [str(a) for a in asset_ids],
            "deletions_scheduled": scheduled,
        }
        append(conn, Event(EventName.CONSENT_REVOKED, str(grant.id), grant.tenant_id, data))
    return Revocation(grant=grant, asset_ids=asset_ids, newly_revoked=newly, deletion_due_at=due_at)


def run_due_deletions(conn: Conn, blobs: BlobStore, now: datetime, *, batch: int = 500) -> int:
    """Delete source media whose deletion is due; returns how many were deleted (or already gone).

    A blob still used under a grant that is not revoked (the same photo shows another person who
    consents) is kept, and the row says so. Run in a ``system()`` transaction.
    """
    done = 0
    for deletion_id, tenant_id, grant_id, sha256 in revocation_store.due_deletions(conn, now, batch):
        if revocation_store.still_used(conn, sha256):
            outcome = "kept"
        else:
            outcome = "deleted" if blobs.delete(sha256) else "absent"
            done += 1
        revocation_store.finish_deletion(conn, deletion_id, now, outcome)
        if outcome != "kept":
            data = {"grant_id": str(grant_id), "sha256": sha256, "outcome": outcome}
            append(conn, Event(EventName.MEDIA_DELETED, str(deletion_id), tenant_id, data))
    return done
