"""What a reviewer's final decision on a held generation does (review effects): approve labels,
signs and releases it unless its consent was withdrawn meanwhile; reject withholds it and banks
its fingerprints. Registered by ``wire`` (the composition root)."""

from __future__ import annotations

import functools
import logging
from uuid import UUID

from service.db import Conn
from service.errors import NotFound
from service.generate import store
from service.generate.records import GenerationStatus
from service.pipeline import outcome, rejection
from service.pipeline.outcome import Outcomes
from service.review.effects import Effect, Effects, Settled
from service.vocabulary import Reason

log = logging.getLogger(__name__)


def _flagged(conn: Conn, settled: Settled) -> UUID | None:
    """The generation a flag is about; None for a flag whose source is no generation record
    (made by hand or by another tool): there is nothing to release or withhold then."""
    try:
        generation_id = UUID(settled.flag.source_id)
        store.get(conn, generation_id)
    except (ValueError, NotFound):
        log.warning("flag %s names no generation record; no effect to apply", settled.flag.id)
        return None
    return generation_id


def approve(outcomes: Outcomes, conn: Conn, settled: Settled) -> Effect | None:
    """A reviewer approved a held output: label, sign and release it now (steps 6-9), unless its
    consent was withdrawn meanwhile (then it ends ``denied``). An appeal that overturned a
    rejection also takes the output out of the rejected-outputs bank."""
    generation_id = _flagged(conn, settled)
    if generation_id is None:
        return None
    gen = outcomes.release(conn, generation_id, moderation=outcome.APPROVED_BY_REVIEWER)
    if settled.overturned:
        rejection.queue_banking(conn, settled.flag.tenant_id, generation_id, withdraw=True)
    target = f"generation:{generation_id}"
    if gen.status is GenerationStatus.RELEASED:
        return Effect(target, "released", "The output was labelled, signed and released to the studio.")
    if gen.status is GenerationStatus.DENIED:
        return Effect(
            target, "denied",
            "Not released: consent for it was withdrawn or no longer covers it while it waited for "
            "review. The output stays in quarantine and cannot be downloaded.",
        )  # fmt: skip
    return Effect(target, gen.status.value, f"The generation is {gen.status.value}; nothing was released.")


def reject(conn: Conn, settled: Settled) -> Effect | None:
    """A reviewer rejected a held output (or overturned its release): withheld, and its
    fingerprints go to the rejected-outputs bank (a job queued in this transaction)."""
    generation_id = _flagged(conn, settled)
    if generation_id is None:
        return None
    reason = Reason("review.reject", f"flag:{settled.flag.id}", "a reviewer withheld the output")
    outcome.withhold(conn, generation_id, [reason], by="review")
    rejection.queue_banking(conn, settled.flag.tenant_id, generation_id)
    return Effect(
        f"generation:{generation_id}", "withheld",
        "The output is withheld (never downloadable); its fingerprints go to the rejected-outputs bank.",
    )  # fmt: skip


def wire(effects: Effects, outcomes: Outcomes) -> None:
    """Register the review effects of generation flags."""
    effects.register("generation", "approve", functools.partial(approve, outcomes))
    effects.register("generation", "reject", reject)
