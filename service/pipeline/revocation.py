"""After a consent is revoked: the fingerprints of the outputs made under it go to the system
revocation bank, so a re-upload is blocked by its picture even when its manifest was stripped.

Consent, provenance and match never import each other; this module joins them:
1. ``consent.registry.revoke_grant`` (the caller, in the tenant's transaction) names the assets;
2. the manifest repository holds each released asset's PDQ fingerprints (per frame for video);
3. ``match.banks.add_signals`` puts them in the ``revoked-outputs`` system bank.

In the revocation's own transaction, ``revoke_generations`` turns the studio's released
generations of those assets to ``revoked``: the output is no longer served (410) and the record
says why. Steps 2 and 3 run in a ``system()`` transaction after the revocation committed. Revocation is
idempotent and returns the assets again on a repeat, and adding a hash that is already in the
bank only merges its labels, so a retry after a failure here completes the job.
"""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from service.audit import Event, EventName, append
from service.db import Conn
from service.generate import store as generation_store
from service.generate.records import GenerationStatus
from service.match import banks
from service.pipeline import webhooks
from service.provenance import store as provenance_store
from service.services import Services
from service.vocabulary import Reason

REVOKED_LABEL = "consent_revoked"


def bank_revoked_outputs(services: Services, asset_ids: Sequence[UUID]) -> int:
    """Add the PDQ fingerprints of ``asset_ids`` to the revocation bank; returns new entries."""
    if not asset_ids:
        return 0
    with services.db.system() as conn:
        hashes = provenance_store.asset_fingerprints(conn, [str(a) for a in asset_ids])
        if not hashes:
            return 0  # outputs never released through the manifest repository: nothing to bank
        bank = banks.system_bank(conn, banks.REVOKED_OUTPUTS)
        return banks.add_signals(conn, bank, hashes, labels=[REVOKED_LABEL])


def revoke_generations(conn: Conn, grant_id: UUID, asset_ids: Sequence[UUID]) -> int:
    """Released generations of ``asset_ids`` become ``revoked``, in the caller's tenant
    transaction (audited, webhooks queued). Idempotent; returns how many changed now."""
    changed = 0
    reason = Reason(
        "consent.revoked", f"consent:{grant_id}",
        "the consent this output was made under was withdrawn; it is no longer served",
    )  # fmt: skip
    for gen in generation_store.released_with_assets(conn, asset_ids):
        revoked = generation_store.update(conn, gen.id, status=GenerationStatus.REVOKED, reasons=[reason])
        append(
            conn,
            Event(
                EventName.GENERATION_REVOKED, str(gen.id), gen.tenant_id,
                {"asset_id": str(gen.asset_id), "grant_id": str(grant_id)},
            ),
        )  # fmt: skip
        webhooks.generation_changed(conn, revoked)
        changed += 1
    return changed
