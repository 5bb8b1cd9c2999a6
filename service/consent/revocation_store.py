"""SQL for revocation and what follows it. The caller owns the transaction.

- ``link_outputs``: generation calls it at release: these assets were made under these grants
  (and from these source media).
- ``revoke_grant``: idempotent; new generation is denied at once (the grant's status), every
  linked output is marked revoked, and deletions of its source media are scheduled. It returns
  the affected asset ids so the caller can add their fingerprints to the revocation bank.
- ``consent_status``: public (provenance of released outputs is public): run it in a
  ``system()`` transaction.
- ``run_due_deletions``: the worker calls it periodically (in a ``system()`` transaction), after
  the configured deletion SLA.
Every change appends its audit event in the same transaction, with ids, hashes and codes only.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from service.audit import Event, EventName, append
from service.audit.events import Value
from service.blobs import BlobStore
from service.consent import rows
from service.consent.model import SHA256_HEX, Grant, GrantStatus
from service.db import Conn
from service.errors import MalformedRequest, NotFound


class ConsentStatus(enum.StrEnum):
    ACTIVE = "active"
    REVOKED = "revoked"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class Revocation:
    grant: Grant
    asset_ids: tuple[UUID, ...]  # every output made under the grant (add them to the revocation bank)
    newly_revoked: bool  # False when the grant was already revoked (idempotent repeat)
    deletion_due_at: datetime | None  # when its source media will be deleted (None: none linked)


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
    known = conn.execute(
        "SELECT count(*) FROM consent_grants WHERE id = ANY(%s) AND tenant_id = %s",
        (list(grant_ids), tenant_id),
    ).fetchone()
    if known is None or known[0] != len(set(grant_ids)):
        raise NotFound("A grant to link outputs to is not in this tenant.")
    cur = conn.execute(
        "INSERT INTO consent_output_links (tenant_id, asset_id, grant_id, revoked_at) "
        "SELECT %s, a, g.id, g.revoked_at FROM unnest(%s::uuid[]) AS a, consent_grants g "
        "WHERE g.id = ANY(%s) AND g.tenant_id = %s ON CONFLICT (asset_id, grant_id) DO NOTHING",
        (tenant_id, list(asset_ids), list(grant_ids), tenant_id),
    )
    linked = cur.rowcount
    if source_sha256s:
        conn.execute(
            "INSERT INTO consent_source_media (tenant_id, grant_id, sha256) "
            "SELECT %s, g, s FROM unnest(%s::uuid[]) AS g, unnest(%s::text[]) AS s "
            "ON CONFLICT (grant_id, sha256) DO NOTHING",
            (tenant_id, list(grant_ids), list(source_sha256s)),
        )
    return linked


def consent_status(conn: Conn, asset_id: UUID) -> ConsentStatus:
    """`revoked` if any grant the asset was made under is revoked, `active` if it was linked to
    grants and none is, `unknown` for an asset Vigil has no consent record of."""
    row = conn.execute(
        "SELECT count(*), coalesce(bool_or(revoked_at IS NOT NULL), false) "
        "FROM consent_output_links WHERE asset_id = %s",
        (asset_id,),
    ).fetchone()
    if row is None or row[0] == 0:
        return ConsentStatus.UNKNOWN
    return ConsentStatus.REVOKED if row[1] else ConsentStatus.ACTIVE


def grants_of_asset(conn: Conn, asset_id: UUID) -> list[UUID]:
    """The grants an asset was made under, in this tenant (oldest link first)."""
    cur = conn.execute(
        "SELECT grant_id FROM consent_output_links WHERE asset_id = %s ORDER BY grant_id", (asset_id,)
    )
    return [UUID(str(row[0])) for row in cur.fetchall()]


def revoke_grant(conn: Conn, grant_id: UUID, *, now: datetime, deletion_sla: timedelta) -> Revocation:
    """Revoke a grant (idempotent): deny new generation, mark its outputs, schedule deletions."""
    row = rows.one(
        conn,
        "UPDATE consent_grants g SET status = 'revoked', revoked_at = %s "
        "WHERE g.id = %s AND g.status <> 'revoked' RETURNING to_jsonb(g)",
        (now, grant_id),
    )
    newly = row is not None
    if row is None:
        row = rows.one(conn, "SELECT to_jsonb(g) FROM consent_grants g WHERE g.id = %s", (grant_id,))
        if row is None:
            raise NotFound(f"No consent {grant_id} in this tenant.")
    grant = rows.grant(row)
    revoked_at = grant.revoked_at or now
    conn.execute(
        "UPDATE consent_output_links SET revoked_at = %s WHERE grant_id = %s AND revoked_at IS NULL",
        (revoked_at, grant_id),
    )
    assets = conn.execute(
        "SELECT asset_id FROM consent_output_links WHERE grant_id = %s ORDER BY asset_id", (grant_id,)
    ).fetchall()
    due_at = revoked_at + deletion_sla
    scheduled = conn.execute(
        "INSERT INTO consent_media_deletions (tenant_id, grant_id, sha256, due_at) "
        "SELECT tenant_id, grant_id, sha256, %s FROM consent_source_media WHERE grant_id = %s "
        "ON CONFLICT (grant_id, sha256) DO NOTHING",
        (due_at, grant_id),
    ).rowcount
    pending = conn.execute(
        "SELECT min(due_at) FROM consent_media_deletions WHERE grant_id = %s", (grant_id,)
    ).fetchone()
    asset_ids = tuple(a[0] for a in assets)
    if newly:
        data: dict[str, Value] = {
            "subject_id": str(grant.subject_id),
            "legal_basis": grant.legal_basis,
            "assets": [str(a) for a in asset_ids],
            "deletions_scheduled": scheduled,
        }
        append(conn, Event(EventName.CONSENT_REVOKED, str(grant.id), grant.tenant_id, data))
    return Revocation(
        grant=grant,
        asset_ids=asset_ids,
        newly_revoked=newly,
        deletion_due_at=pending[0] if pending else None,
    )


def run_due_deletions(conn: Conn, blobs: BlobStore, now: datetime, *, batch: int = 500) -> int:
    """Delete source media whose deletion is due; returns how many were deleted (or already gone).

    A blob still used under a grant that is not revoked (the same photo shows another person who
    consents) is kept, and the row says so. Run in a ``system()`` transaction.
    """
    due = conn.execute(
        "SELECT id, tenant_id, grant_id, sha256 FROM consent_media_deletions "
        "WHERE done_at IS NULL AND due_at <= %s ORDER BY due_at LIMIT %s FOR UPDATE SKIP LOCKED",
        (now, batch),
    ).fetchall()
    done = 0
    for deletion_id, tenant_id, grant_id, sha256 in due:
        in_use = conn.execute(
            "SELECT EXISTS (SELECT 1 FROM consent_source_media m JOIN consent_grants g ON g.id = m.grant_id "
            "WHERE m.sha256 = %s AND g.status <> %s)",
            (sha256, GrantStatus.REVOKED.value),
        ).fetchone()
        if in_use is not None and in_use[0]:
            outcome = "kept"
        else:
            outcome = "deleted" if blobs.delete(sha256) else "absent"
            done += 1
        conn.execute(
            "UPDATE consent_media_deletions SET done_at = %s, outcome = %s WHERE id = %s",
            (now, outcome, deletion_id),
        )
        if outcome != "kept":
            data = {"grant_id": str(grant_id), "sha256": sha256, "outcome": outcome}
            append(conn, Event(EventName.MEDIA_DELETED, str(deletion_id), tenant_id, data))
    return done
