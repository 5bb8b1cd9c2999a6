"""After a reviewer rejects: the picture goes to a bank, so the same picture uploaded later (a
re-encoded or stripped copy included) is blocked by it; an appeal that overturns the rejection
takes it out again.

- A held generation output goes to the ``rejected-outputs`` system bank (every tenant's checks).
- A platform's upload that a check sent to review goes to that tenant's own ``review-rejected``
  bank (its PDQ hashes are in the flag's context), in the decision's transaction.

Generation, check, review and match never import each other; this module joins them. For a
generation output:
1. the review effects of generation flags (``generation_review.reject`` / ``generation_review.approve`` when
   overturned) queue a job in the decision's own transaction, so a decision is never recorded
   without its banking;
2. the job reads the held output from the blob store and hashes it as a check does (PDQ per
   image, per sampled video frame);
3. ``match.banks`` adds the hashes to, or withdraws them from, ``rejected-outputs`` in a
   ``system()`` transaction, labelled with the generation's id (never anything about its people).

Each job reads the generation's status when it runs, so the two settle right in either order,
and both are safe to run again (adding merges labels; withdrawing twice finds nothing).
"""

from __future__ import annotations

import logging
from uuid import UUID

from service.db import Conn
from service.errors import NotFound
from service.generate import store
from service.generate.records import GenerationStatus
from service.jobs import Job, JobContext, enqueue
from service.jobs.registry import HandlerRegistry
from service.match import banks
from service.media.intake import inspect
from service.pipeline import check_steps
from service.review.effects import Effect, Effects, Settled
from service.services import Services

log = logging.getLogger(__name__)

CHECK_BANK = "review-rejected"
CHECK_OWNER_PREFIX = "check:"
BANK_JOB = "generation.bank_rejected"
WITHDRAW_JOB = "generation.withdraw_rejected"
REJECTED_LABEL = "review_rejected"
OWNER_PREFIX = "generation:"


def owner_label(generation_id: UUID) -> str:
    return f"{OWNER_PREFIX}{generation_id}"


def queue_banking(conn: Conn, tenant_id: UUID, generation_id: UUID, *, withdraw: bool = False) -> None:
    """In the decision's transaction: bank (or, after an overturned rejection, withdraw) the output."""
    kind = WITHDRAW_JOB if withdraw else BANK_JOB
    enqueue(conn, kind, {"generation_id": str(generation_id)}, tenant_id=tenant_id)


def _status(services: Services, job: Job) -> tuple[UUID, GenerationStatus, str | None]:
    generation_id = UUID(str(job.payload["generation_id"]))
    with services.db.tenant(job.tenant_id) as conn:
        gen = store.get(conn, generation_id)
    return generation_id, gen.status, gen.quarantine_sha256


def bank_rejected(job: Job, ctx: JobContext[Services]) -> None:
    """Handler of ``generation.bank_rejected``."""
    services = ctx.services
    generation_id, status, output_sha = _status(services, job)
    if status is GenerationStatus.BLOCKED and output_sha is not None:
        info = inspect(services.blobs.path(output_sha), services.limits)
        frames = check_steps.decode(info, limits=services.limits, look_closer=False).frames
        hashes = list(dict.fromkeys(f.hashes.pdq.value for f in frames if not f.hashes.pdq.low_quality))
        if hashes:
            with services.db.system() as conn:
                bank = banks.system_bank(conn, banks.REJECTED_OUTPUTS)
                banks.add_signals(conn, bank, hashes, labels=[REJECTED_LABEL, owner_label(generation_id)])
        else:
            log.warning("generation %s: no frame of quality for the rejected-outputs bank", generation_id)
    with ctx.completing():
        pass


def withdraw_rejected(job: Job, ctx: JobContext[Services]) -> None:
    """Handler of ``generation.withdraw_rejected``: an overturned rejection leaves the bank."""
    services = ctx.services
    generation_id, status, _ = _status(services, job)
    if status is not GenerationStatus.BLOCKED:
        with services.db.system() as conn:
            bank = banks.system_bank(conn, banks.REJECTED_OUTPUTS)
            banks.withdraw(conn, bank, owner_label(generation_id), owner_prefix=OWNER_PREFIX)
    with ctx.completing():
        pass


# --- uploads a check sent to review ------------------------------------------------------------


def check_rejected(conn: Conn, settled: Settled) -> Effect:
    """Review effect of ``("check", "reject")``: the upload's PDQ hashes into the tenant's bank."""
    pdq = settled.flag.context.get("fingerprints", {}).get("pdq", [])
    hashes = [bytes.fromhex(h) for h in pdq if isinstance(h, str)]
    target = f"bank:{CHECK_BANK}"
    if not hashes:
        log.info("flag %s has no fingerprint to bank (text only, or no frame of quality)", settled.flag.id)
        return Effect(target, "nothing", "Nothing to bank: the check had no picture of enough quality.")
    bank = banks.ensure_bank(conn, CHECK_BANK, tenant_id=settled.flag.tenant_id)
    owner = f"{CHECK_OWNER_PREFIX}{settled.flag.source_id}"
    banks.add_signals(conn, bank, hashes, labels=[REJECTED_LABEL, owner])
    return Effect(
        target,
        "banked",
        f"{len(hashes)} fingerprint(s) added: copies of this upload are blocked from now on.",
    )


def check_approved(conn: Conn, settled: Settled) -> Effect | None:
    """Review effect of ``("check", "approve")``: an overturned rejection leaves the bank."""
    if not settled.overturned:
        return None
    try:
        bank = banks.get_bank(conn, tenant_id=settled.flag.tenant_id, name=CHECK_BANK)
    except NotFound:
        return None
    owner = f"{CHECK_OWNER_PREFIX}{settled.flag.source_id}"
    banks.withdraw(conn, bank, owner, owner_prefix=CHECK_OWNER_PREFIX)
    return Effect(
        f"bank:{CHECK_BANK}", "unbanked", "The upload's fingerprints left the bank (appeal overturned)."
    )


def wire(effects: Effects) -> None:
    """Register the review effects of check flags."""
    effects.register("check", "reject", check_rejected)
    effects.register("check", "approve", check_approved)


def register_handlers(registry: HandlerRegistry[Services]) -> None:
    registry.register(BANK_JOB, bank_rejected, max_attempts=10)
    registry.register(WITHDRAW_JOB, withdraw_rejected, max_attempts=10)
