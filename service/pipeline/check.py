"""The check flow: a platform's upload (and its caption) in, one Verdict out.

The steps, in order (docs/check.md); each is one call below, numbered again there:

1. intake: sniff, limit, decode. The HTTP edge spools and inspects the upload
   (``api/uploads.py::received``, the ``CHECKABLE`` table: media, and PDF or SVG documents);
   here the image is decoded once for every later step. A document is never rasterised.
2. provenance: the embedded C2PA manifest, else the manifest repository (exact SHA-256, then
   PDQ fingerprint: ``recovered_by: "fingerprint"``).
3. consent status: for assets Vigil released (found in step 2, stripped copies included):
   ``active`` or ``revoked``; ``unknown`` for everything else.
4. match: the tenant's hash banks and the system banks (rejected and revoked outputs); every
   match carries its distance.
5. classify: the media and the caption/transcript text sent with it (its scores and lexicon hits
   are named ``caption`` or ``transcript``, text read from the picture ``ocr``). A classifier
   that is not configured or unavailable becomes a ``SignalState``, never a clean score; audio
   (and video with sound) asks for ``speech``, which no shipped model hears. A document's
   provenance is read (step 2), but nothing in it is screened: ``image_model``, ``ocr``,
   ``symbols`` and ``hash_banks`` are named in ``missing_signals`` and the policy's ``signals:``
   decide, as for any signal that did not run.
6. decide: the market's policy turns the signals into a Verdict with required labels and a
   DSA statement of reasons.
7. audit: ``check.decided`` (ids, hashes, decision, policy version, classifier versions; never
   the caption) and, for ``review``, a flag in the caller's tenant queue with the context a
   reviewer needs (the media is kept in the blob store for that page) and the statement of
   reasons to file if the reviewer rejects it.

Steps 2 to 4 read public or cross-tenant records (released assets, system banks), so they share
one ``system()`` transaction; step 7 writes in the caller's tenant transaction.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from uuid import UUID

from service.media import MediaInfo
from service.pipeline import check_record
from service.pipeline import check_steps as steps
from service.policy.evaluate import evaluate
from service.policy.model import TextSource, Verdict
from service.services import Services


@dataclass(frozen=True, slots=True)
class CheckRequest:
    tenant_id: UUID
    market: str = "default"
    media: MediaInfo | None = None  # already accepted by intake (step 1 at the edge)
    text: str | None = None  # caption or transcript; never logged
    text_source: TextSource = TextSource.CAPTION  # what ``text`` is: caption or transcript


@dataclass(frozen=True, slots=True)
class CheckOutcome:
    check_id: UUID
    verdict: Verdict
    flag_id: UUID | None  # the review flag, for a ``review`` verdict


def check(services: Services, request: CheckRequest) -> CheckOutcome:
    """Run the check flow for one upload; see the module docstring for the steps."""
    if request.media is None and not (request.text or "").strip():
        raise steps.nothing_to_check()
    with services.check_slots:  # VIGIL_CHECK_CONCURRENCY
        return _check(services, request)


def _check(services: Services, request: CheckRequest) -> CheckOutcome:
    policy = services.policy.current.for_market(steps.known_market(services, request.market))
    check_id = uuid.uuid4()

    # 1. intake: decode once (the edge already sniffed the type and enforced the limits)
    decoded = steps.decode(services, request.media)

    with services.db.system() as conn:
        # 2. provenance: embedded manifest, else recovered from the repository by fingerprint
        provenance = steps.provenance(services, conn, decoded)
        # 3. consent status of a released asset (also for a stripped copy found in step 2)
        consent = steps.consent_status(conn, provenance)
        # 4. match: tenant banks + system banks of rejected and revoked outputs
        matches = steps.match(services, conn, request.tenant_id, decoded)
        # the symbol bank as the tenant sees it (its emblems beside the shipped drawings)
        symbols = services.symbols.bind(conn, request.tenant_id) if decoded.info is not None else None

    # 5. classify: media and caption, words and symbols on the picture; missing classifiers
    #    become signal states
    classified = steps.classify(services, decoded, request.text, request.text_source, symbols)

    # 6. decide: the market's policy over everything steps 2 to 5 found
    verdict = evaluate(
        policy, steps.signals(policy, decoded, request.text, provenance, consent, matches, classified)
    )

    # 7. audit, and a flag for a person when the verdict is review
    flag_id = check_record.record(
        services,
        check_id=check_id,
        request_tenant=request.tenant_id,
        policy=policy,
        decoded=decoded,
        text=request.text,
        text_source=request.text_source,
        verdict=verdict,
        provenance=provenance,
        matches=matches,
        classified=classified,
    )
    return CheckOutcome(check_id=check_id, verdict=verdict, flag_id=flag_id)
