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
from collections.abc import Collection
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from service.blobs import BlobStore
from service.classify.classifiers import Classifiers
from service.db import Database
from service.match.matching import BankIndex
from service.media import MediaInfo, MediaLimits
from service.pipeline import check_record
from service.pipeline import check_steps as steps
from service.policy.evaluate import evaluate
from service.policy.holder import PolicyHolder
from service.policy.model import TextSource, Verdict
from service.provenance import Notary
from service.review.model import ReviewPolicy
from service.symbols.bank import SymbolBank


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


@dataclass(frozen=True, kw_only=True, slots=True)
class CheckFlow:
    """The check flow of one process, built by the composition root (``composition.check_flow``).

    Its constructor names what each step reads, and nothing else reaches it::

        1 intake        limits, look_closer
        2 provenance    db (system), notary, limits
        3 consent       db (system)
        4 match         db (system), match_index
        5 classify      classifiers, symbols, limits, read_words
        6 decide        policy (and which markets exist: policy and label_markets)
        7 audit         db (the caller's tenant), blobs, review_policy
        every check     slots: at most VIGIL_CHECK_CONCURRENCY run at once
    """

    limits: MediaLimits
    look_closer: bool
    read_words: bool
    db: Database
    notary: Notary
    match_index: BankIndex
    symbols: SymbolBank
    classifiers: Classifiers
    policy: PolicyHolder
    label_markets: Collection[str]
    blobs: BlobStore
    review_policy: ReviewPolicy
    slots: AbstractContextManager[Any]

    def check(self, request: CheckRequest) -> CheckOutcome:
        """Run the check flow for one upload; see the module docstring for the steps."""
        if request.media is None and not (request.text or "").strip():
            raise steps.nothing_to_check()
        with self.slots:  # VIGIL_CHECK_CONCURRENCY
            return self._check(request)

    def _check(self, request: CheckRequest) -> CheckOutcome:
        current = self.policy.current
        market = steps.known_market(
            request.market, policies=current.policies, label_markets=self.label_markets
        )
        policy = current.for_market(market)
        check_id = uuid.uuid4()

        # 1. intake: decode once (the edge already sniffed the type and enforced the limits)
        decoded = steps.decode(request.media, limits=self.limits, look_closer=self.look_closer)

        with self.db.system() as conn:
            # 2. provenance: embedded manifest, else recovered from the repository by fingerprint
            provenance = steps.provenance(conn, decoded, notary=self.notary, limits=self.limits)
            # 3. consent status of a released asset (also for a stripped copy found in step 2)
            consent = steps.consent_status(conn, provenance)
            # 4. match: tenant banks + system banks of rejected and revoked outputs
            matches = steps.match(conn, request.tenant_id, decoded, index=self.match_index)
            # the symbol bank as the tenant sees it (its emblems beside the shipped drawings)
            symbols = self.symbols.bind(conn, request.tenant_id) if decoded.info is not None else None

        # 5. classify: media and caption, words and symbols on the picture; missing classifiers
        #    become signal states
        classified = steps.classify(
            decoded,
            request.text,
            request.text_source,
            symbols,
            classifiers=self.classifiers,
            limits=self.limits,
            read_words=self.read_words,
        )

        # 6. decide: the market's policy over everything steps 2 to 5 found
        verdict = evaluate(
            policy, steps.signals(policy, decoded, request.text, provenance, consent, matches, classified)
        )

        # 7. audit, and a flag for a person when the verdict is review
        flag_id = check_record.record(
            db=self.db,
            blobs=self.blobs,
            review_policy=self.review_policy,
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
