"""Step 7 of the check flow: the audit entry of every check, and for a ``review`` verdict a flag
in the caller's tenant queue with what a reviewer needs (the media in the blob store, the text
under its source name, the scores with theirs, matches, provenance, consent, the classifier
versions) and the statement of reasons the platform files if the reviewer rejects the content.
"""

from __future__ import annotations

import hashlib
import io
import re
from typing import Any
from uuid import UUID

from service.audit import Event, EventName, append
from service.audit.events import Value
from service.blobs import BlobStore
from service.db import Database
from service.pipeline import check_store
from service.pipeline.check_steps import Classified, Decoded, Matched, ProvenanceFound, provenance_summary
from service.policy.categories import FlagCategory
from service.policy.load import Policy
from service.policy.model import Decision, TextSource, Verdict, statement_to_dict
from service.policy.sor import reviewed
from service.review import queue as review_queue
from service.review.context import (
    NOT_APPLICABLE,
    ConsentRef,
    FlagContext,
    MatchLine,
    MediaRef,
    ScoreLine,
    SourceText,
    SymbolLine,
)
from service.review.model import ReviewPolicy


# --- 7. audit and review -----------------------------------------------------------------------
def _code(rule: str) -> str:
    """A rule id as the audit log takes it (ids from policy files are codes, never free text)."""
    return re.sub(r"[^A-Za-z0-9_.:/@+=-]", "_", rule)[:200]


def _audit_data(
    *, market: str, decoded: Decoded, text: str | None, verdict: Verdict, flag_id: UUID | None
) -> dict[str, Value]:
    prov = verdict.provenance
    return {
        "market": market,
        "decision": verdict.decision.value,
        "policy_version": verdict.policy_version,
        "sha256": decoded.info.sha256 if decoded.info is not None else None,
        # The caption is never logged, only its hash (it may name people).
        "text_sha256": hashlib.sha256(text.encode()).hexdigest() if text else None,
        "provenance": prov.state if prov is not None else None,
        "recovered_by": prov.recovered_by if prov is not None else None,
        "asset_id": prov.asset_id if prov is not None else None,
        "consent_status": verdict.consent_status.value,
        "rules": [_code(r.rule) for r in verdict.reasons],
        "matches": [f"{m.bank}:{m.hash_type}:{m.distance}" for m in verdict.matches],
        "missing_signals": list(verdict.missing_signals),
        "classifier_versions": {_code(k): _code(v) for k, v in sorted(verdict.classifier_versions.items())},
        "flag_id": str(flag_id) if flag_id is not None else None,
    }


def _frame(blobs: BlobStore, classified: Classified, index: int | None) -> dict[str, str]:
    """A video frame that sent the item to review, kept in the blob store for the reviewer."""
    frame = classified.frames.get(index) if index is not None else None
    if frame is None:
        return {}
    buf = io.BytesIO()
    frame.image.convert("RGB").save(buf, "JPEG", quality=85)
    return {"frame_sha256": blobs.put_bytes(buf.getvalue())}


def _frame_at(blobs: BlobStore, classified: Classified, t: float) -> dict[str, str]:
    """The kept video frame at ``t`` seconds (a symbol's frame), stored for the reviewer."""
    index = next((i for i, f in classified.frames.items() if abs(f.t - t) < 1e-6), None)
    return _frame(blobs, classified, index)


def _review_context(
    blobs: BlobStore,
    *,
    check_id: UUID,
    decoded: Decoded,
    text: str | None,
    verdict: Verdict,
    provenance: ProvenanceFound,
    matches: Matched,
    classified: Classified,
    policy: Policy,
    text_source: TextSource,
) -> FlagContext:
    media = []
    if decoded.info is not None:
        sha = blobs.put_file(decoded.info.path)  # the reviewer page shows it from here
        media.append(MediaRef(sha, decoded.info.type.mime, "upload"))
    scores = []
    for name, result in classified.results.items():
        for category, score in sorted(result.scores.items(), key=lambda kv: -kv[1]):
            threshold = policy.review_at(category.value, name)
            fired = threshold is not None and score >= threshold
            evidence = tuple(
                {"timestamp_s": e.t, "score": round(e.score, 4)}
                | _frame(blobs, classified, e.frame_index if fired else None)
                for e in result.evidence
                if e.category == category and e.t is not None
            )
            scores.append(
                ScoreLine(
                    category=category.value,
                    score=round(float(score), 4),
                    threshold=threshold,
                    source=classified.origins.get(name, name),  # caption, transcript, ocr, image, video
                    signal=name,
                    evidence=evidence,
                )
            )
    extra: dict[str, Any] = {}
    pdq = [f.hashes.pdq.hex for f in decoded.frames if not f.hashes.pdq.low_quality]
    if pdq:  # what a reviewer's reject puts in the tenant's review-rejected bank
        extra["fingerprints"] = {"pdq": list(dict.fromkeys(pdq))}
    if verdict.statement_of_reasons is not None:  # what the platform files if a reviewer rejects it
        extra["statement_if_rejected"] = statement_to_dict(reviewed(policy, verdict.statement_of_reasons))
    if matches.report is not None and matches.report.suppressed:
        extra["suppressed_matches"] = [m.summary() for m in matches.report.suppressed]
    prov: dict[str, Any] | None = None
    asset_id: str | None = None
    if provenance.report is not None:
        summary = provenance_summary(provenance.report)
        prov = {k: v for k, v in summary.items() if k in ("state", "recovered_by", "asset_id", "signed_at")}
        prov["ai_generated"] = summary["ai_generated"]
        if provenance.report.signer is not None:
            prov["signer"] = provenance.report.signer.issuer
        asset_id = str(summary.get("asset_id") or "") or None
    status = verdict.consent_status.value
    consent = (
        NOT_APPLICABLE
        if status == "unknown" or asset_id is None
        else ConsentRef(
            applicable=True,
            status=status,
            asset_id=asset_id,
            note="The upload is a Vigil output; these are the grants it was made under.",
        )
    )
    symbols = tuple(
        SymbolLine(
            h.symbol,
            h.label,
            h.category,
            h.score,
            h.box,
            h.t,
            _frame_at(blobs, classified, h.t).get("frame_sha256") if h.t is not None else None,
        )
        for h in classified.symbols
    )
    return FlagContext(
        symbols=symbols,
        texts=(
            *((SourceText(text_source.value, text),) if text else ()),
            *((SourceText(TextSource.OCR.value, classified.words),) if classified.words else ()),
        ),
        scores=tuple(scores),
        media=tuple(media),
        matches=tuple(MatchLine(m.bank, m.distance, m.hash_type, tuple(m.labels)) for m in verdict.matches),
        consent=consent,
        provenance=prov,
        classifier_versions=dict(verdict.classifier_versions),
        ids={
            "check_id": str(check_id),
            "policy_version": verdict.policy_version,
            **({"sha256": decoded.info.sha256} if decoded.info is not None else {}),
        },
        extra=extra,
    )


def record(
    *,
    db: Database,
    blobs: BlobStore,
    review_policy: ReviewPolicy,
    check_id: UUID,
    request_tenant: UUID,
    policy: Policy,
    decoded: Decoded,
    text: str | None,
    text_source: TextSource = TextSource.CAPTION,
    verdict: Verdict,
    provenance: ProvenanceFound,
    matches: Matched,
    classified: Classified,
) -> UUID | None:
    """Append ``check.decided`` and, for review, enqueue a flag, in one tenant transaction."""
    flag_id: UUID | None = None
    with db.tenant(request_tenant) as conn:
        if verdict.decision is Decision.REVIEW:
            context = _review_context(
                blobs,
                check_id=check_id,
                decoded=decoded,
                text=text,
                verdict=verdict,
                provenance=provenance,
                matches=matches,
                classified=classified,
                policy=policy,
                text_source=text_source,
            )
            flag = review_queue.create_flag(
                conn,
                tenant_id=request_tenant,
                source_kind="check",
                source_id=str(check_id),
                category=review_policy.most_severe(verdict.categories, FlagCategory.UNSCREENED),
                reasons=[r.as_dict() for r in verdict.reasons],
                context=context.to_json(),
                policy=review_policy,
            )
            flag_id = flag.id
        check_store.insert(
            conn, check_id=check_id, tenant_id=request_tenant, market=policy.market, verdict=verdict,
            flag_id=flag_id,
        )  # fmt: skip
        append(
            conn,
            Event(
                EventName.CHECK_DECIDED,
                str(check_id),
                request_tenant,
                _audit_data(
                    market=policy.market, decoded=decoded, text=text, verdict=verdict, flag_id=flag_id
                ),
            ),
        )
    return flag_id
