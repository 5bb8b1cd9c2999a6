"""SQL for what follows a grant at release and at revocation: output links, source media, and
scheduled deletions. Statements only (the steps and their audit events are in ``registry``);
the caller owns the transaction.

``consent_status`` and ``grants_of_asset`` are reads for the check and verify flows: provenance of
released outputs is public, so run them in a ``system()`` transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

from service.consent import rows
from service.consent.model import Grant, GrantStatus
from service.db import Conn
from service.errors import NotFound
from service.vocabulary import ConsentStatus

# --- links made at release -------------------------------------------------------------------


def count_grants(conn: Conn, grant_ids: Sequence[UUID], tenant_id: UUID) -> int:
    """How many of ``grant_ids`` are grants of ``tenant_id``."""
    row = conn.execute(
        "SELECT count(*) FROM consent_grants WHERE id = ANY(%s) AND tenant_id = %s",
        (list(grant_ids), tenant_id),
    ).fetchone()
    return int(row[0]) if row else 0


def insert_output_links(
    conn: Conn, *, tenant_id: UUID, asset_ids: Sequence[UUID], grant_ids: Sequence[UUID]
) -> int:
    """Link each asset to each grant (idempotent); a link to a revoked grant is born revoked.
    Returns the number of new links."""
    return conn.execute(
        "INSERT INTO consent_output_links (tenant_id, asset_id, grant_id, revoked_at) "
        "SELECT %s, a, g.id, g.revoked_at FROM unnest(%s::uuid[]) AS a, consent_grants g "
        "WHERE g.id = ANY(%s) AND g.tenant_id = %s ON CONFLICT (asset_id, grant_id) DO NOTHING",
        (tenant_id, list(asset_ids), list(grant_ids), tenant_id),
    ).rowcount


def insert_source_media(
    conn: Conn, *, tenant_id: UUID, grant_ids: Sequence[UUID], sha256s: Sequence[str]
) -> None:
    conn.execute(
        "INSERT INTO consent_source_media (tenant_id, grant_id, sha256) "
        "SELECT %s, g, s FROM unnest(%s::uuid[]) AS g, unnest(%s::text[]) AS s "
        "ON CONFLICT (grant_id, sha256) DO NOTHING",
        (tenant_id, list(grant_ids), list(sha256s)),
    )


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


# --- revocation ------------------------------------------------------------------------------


def mark_revoked(conn: Conn, grant_id: UUID, now: datetime) -> tuple[Grant, bool]:
    """The grant, revoked at ``now`` unless it already was; and whether this call revoked it."""
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
    return rows.grant(row), newly


def revoke_links(conn: Conn, grant_id: UUID, revoked_at: datetime) -> tuple[UUID, ...]:
    """Mark the grant's output links revoked; every asset linked to it, in id order."""
    conn.execute(
        "UPDATE consent_output_links SET revoked_at = %s WHERE grant_id = %s AND revoked_at IS NULL",
        (revoked_at, grant_id),
    )
    assets = conn.execute(
        "SELECT asset_id FROM consent_output_links WHERE grant_id = %s ORDER BY asset_id", (grant_id,)
    ).fetchall()
    return tuple(a[0] for a in assets)


def schedule_deletions(conn: Conn, grant_id: UUID, due_at: datetime) -> tuple[int, datetime | None]:
    """Schedule the deletion of the grant's source media (idempotent); how many were newly
    scheduled, and when the earliest of its deletions is due."""
    scheduled = conn.execute(
        "INSERT INTO consent_media_deletions (tenant_id, grant_id, sha256, due_at) "
        "SELECT tenant_id, grant_id, sha256, %s FROM consent_source_media WHERE grant_id = %s "
        "ON CONFLICT (grant_id, sha256) DO NOTHING",
        (due_at, grant_id),
    ).rowcount
    pending = conn.execute(
        "SELECT min(due_at) FROM consent_media_deletions WHERE grant_id = %s", (grant_id,)
    ).fetchone()
    return scheduled, pending[0] if pending else None


# --- deletions -------------------------------------------------------------------------------


def due_deletions(conn: Conn, now: datetime, batch: int) -> list[tuple[UUID, UUID, UUID, str]]:
    """Deletions due by ``now``, locked for this transaction (others skip them):
    (id, tenant id, grant id, sha256)."""
    return [
        (r[0], r[1], r[2], str(r[3]))
        for r in conn.execute(
            "SELECT id, tenant_id, grant_id, sha256 FROM consent_media_deletions "
            "WHERE done_at IS NULL AND due_at <= %s ORDER BY due_at LIMIT %s FOR UPDATE SKIP LOCKED",
            (now, batch),
        ).fetchall()
    ]


def still_used(conn: Conn, sha256: str) -> bool:
    """Whether a grant that is not revoked still lists ``sha256`` among its source media."""
    row = conn.execute(
        "SELECT EXISTS (SELECT 1 FROM consent_source_media m JOIN consent_grants g ON g.id = m.grant_id "
        "WHERE m.sha256 = %s AND g.status <> %s)",
        (sha256, GrantStatus.REVOKED.value),
    ).fetchone()
    return bool(row is not None and row[0])


def finish_deletion(conn: Conn, deletion_id: UUID, now: datetime, outcome: str) -> None:
    conn.execute(
        "UPDATE consent_media_deletions SET done_at = %s, outcome = %s WHERE id = %s",
        (now, outcome, deletion_id),
    )
