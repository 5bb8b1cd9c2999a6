"""Revocation after release: outputs linked to the grant become `revoked` for every platform,
the affected assets come back for the revocation bank, and source media is deleted after the SLA."""

from __future__ import annotations

from datetime import date, timedelta
from uuid import UUID, uuid4

from service.audit.log import integrate_all
from service.consent import registry, revocation_store, store
from service.consent.model import ConsentOutcome, Relationship, VitalStatus
from service.services import Services
from tests.consent.helpers import NOW, decide, grant, spec, subject, tenant

SLA = timedelta(days=30)


def _released(services: Services) -> tuple[UUID, UUID, UUID, str]:
    t = tenant(services)
    husband = subject(services, t, vital=VitalStatus.DECEASED, death=date(2024, 2, 1))
    g = grant(services, t, husband.id, basis="RU-CC-152.1", grantors=[("Yelena", Relationship.SPOUSE)])
    photo = services.blobs.put_bytes(b"wedding photo bytes")
    asset = uuid4()
    with services.db.tenant(t) as conn:
        assert (
            registry.link_outputs(
                conn, asset_ids=[asset], grant_ids=[g.id], tenant_id=t, source_sha256s=[photo]
            )
            == 1
        )
        # linking again changes nothing
        assert (
            registry.link_outputs(
                conn, asset_ids=[asset], grant_ids=[g.id], tenant_id=t, source_sha256s=[photo]
            )
            == 0
        )
    return t, g.id, asset, photo


def test_revocation_after_release_reaches_the_public_status(services: Services) -> None:
    t, grant_id, asset, _ = _released(services)
    with services.db.system() as conn:
        assert revocation_store.consent_status(conn, asset).value == "active"
        assert revocation_store.consent_status(conn, uuid4()).value == "unknown"
    with services.db.tenant(t) as conn:
        revocation = registry.revoke_grant(conn, grant_id, now=NOW, deletion_sla=SLA)
    assert revocation.asset_ids == (asset,)
    assert revocation.newly_revoked is True
    assert revocation.deletion_due_at == NOW + SLA
    # public: any platform's question is answered in a system() transaction
    with services.db.system() as conn:
        assert revocation_store.consent_status(conn, asset).value == "revoked"
    # new generation is denied at once
    with services.db.tenant(t) as conn:
        husband = store.get_grant(conn, grant_id).subject_id
    assert decide(services, t, spec((husband, "likeness"))).decision is ConsentOutcome.DENIED


def test_revocation_is_idempotent_and_logged_once(services: Services) -> None:
    t, grant_id, asset, _ = _released(services)
    with services.db.tenant(t) as conn:
        registry.revoke_grant(conn, grant_id, now=NOW, deletion_sla=SLA)
    with services.db.tenant(t) as conn:
        again = registry.revoke_grant(conn, grant_id, now=NOW + timedelta(days=1), deletion_sla=SLA)
    assert again.newly_revoked is False
    assert again.asset_ids == (asset,)
    assert again.grant.revoked_at == NOW
    with services.db.system() as conn:
        integrate_all(conn)  # the queued log events are in the tree
        (count,) = conn.execute(
            "SELECT count(*) FROM audit_entries WHERE event = 'consent.revoked'"
        ).fetchone()
    assert count == 1


def test_outputs_linked_after_revocation_are_born_revoked(services: Services) -> None:
    t, grant_id, _, _ = _released(services)
    with services.db.tenant(t) as conn:
        registry.revoke_grant(conn, grant_id, now=NOW, deletion_sla=SLA)
        late = uuid4()
        registry.link_outputs(conn, asset_ids=[late], grant_ids=[grant_id], tenant_id=t)
    with services.db.system() as conn:
        assert revocation_store.consent_status(conn, late).value == "revoked"


def test_source_media_is_deleted_after_the_sla_and_the_deletion_recorded(services: Services) -> None:
    t, grant_id, _, photo = _released(services)
    with services.db.tenant(t) as conn:
        registry.revoke_grant(conn, grant_id, now=NOW, deletion_sla=SLA)
    with services.db.system() as conn:
        assert registry.run_due_deletions(conn, services.blobs, NOW + SLA - timedelta(seconds=1)) == 0
    assert services.blobs.exists(photo)
    with services.db.system() as conn:
        assert registry.run_due_deletions(conn, services.blobs, NOW + SLA) == 1
    assert not services.blobs.exists(photo)
    with services.db.system() as conn:
        integrate_all(conn)  # the queued log events are in the tree
        assert registry.run_due_deletions(conn, services.blobs, NOW + SLA * 2) == 0
        rows = conn.execute("SELECT entry FROM audit_entries WHERE event = 'media.deleted'").fetchall()
    assert len(rows) == 1
    assert photo.encode() in bytes(rows[0][0])


def test_media_still_used_under_a_live_grant_is_kept(services: Services) -> None:
    t, grant_id, _, photo = _released(services)
    widow = subject(services, t)
    other = grant(services, t, widow.id, basis="self", grantors=[("Yelena", Relationship.SELF)])
    with services.db.tenant(t) as conn:
        registry.link_outputs(
            conn, asset_ids=[uuid4()], grant_ids=[other.id], tenant_id=t, source_sha256s=[photo]
        )
        registry.revoke_grant(conn, grant_id, now=NOW, deletion_sla=SLA)
    with services.db.system() as conn:
        assert registry.run_due_deletions(conn, services.blobs, NOW + SLA) == 0
    assert services.blobs.exists(photo)


def test_audit_entries_carry_ids_and_hashes_never_names(services: Services) -> None:
    t, grant_id, _, _ = _released(services)
    with services.db.tenant(t) as conn:
        registry.revoke_grant(conn, grant_id, now=NOW, deletion_sla=SLA)
    with services.db.system() as conn:
        integrate_all(conn)  # the queued log events are in the tree
        entries = [bytes(r[0]) for r in conn.execute("SELECT entry FROM audit_entries").fetchall()]
    events = b"\n".join(entries)
    assert b"consent.granted" in events
    assert b"subject.created" in events
    assert b"Yelena" not in events
    assert b"Someone" not in events
