"""The steps of the check flow, one function each; ``check.py`` decides their order.

Each step turns what a stage package returns into the policy's signal values, so the stage
packages never learn about each other (a match never imports provenance, nor policy classify).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any
from uuid import UUID

from PIL import Image

from service.audit import Event, EventName, append
from service.audit.events import Value
from service.classify.model import Scores
from service.classify.model import SignalState as ClassifyState
from service.consent import store as consent_store
from service.db import Conn
from service.errors import MalformedRequest, UnknownProfile
from service.match.matching import FrameHashes, hash_frames, match_hashes
from service.match.model import MatchReport
from service.media import MediaInfo, MediaKind
from service.media.intake import decode_image, iter_frames
from service.policy.load import Policy
from service.policy.model import (
    ConsentStatus,
    Decision,
    Flow,
    LexiconHit,
    MatchSignal,
    ProvenanceSignal,
    ScoreSignal,
    Signals,
    SignalState,
    Verdict,
)
from service.provenance import ProvenanceReport
from service.review import queue as review_queue
from service.services import Services

# The verdict's provenance summary: the report's evidence without the bulky parts.
_SUMMARY_KEYS = (
    "state",
    "codes",
    "signer",
    "signed_at",
    "timestamp",
    "digital_source_type",
    "ai_generated",
    "recovered_by",
    "asset_id",
    "log_index",
    "fingerprint_distance",
)


DECODE_SIDE = 512


def nothing_to_check() -> MalformedRequest:
    return MalformedRequest("Send a file, a text (caption or transcript), or both.")


def markets(services: Services) -> list[str]:
    """Market names a check may name: the policy's and the label profiles'."""
    return sorted(set(services.policy.current.policies) | set(services.market_profiles))


def known_market(services: Services, market: str) -> str:
    known = markets(services)
    if market not in known:
        raise UnknownProfile(
            f"No market {market[:40]!r}; markets: {', '.join(known)}.", details={"markets": known}
        )
    return market


# --- 1. intake ---------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Decoded:
    info: MediaInfo | None
    image: Image.Image | None = None  # a still image, decoded once (EXIF orientation applied)
    frames: tuple[FrameHashes, ...] = ()  # PDQ + pHash of the image or of sampled video frames


def decode(services: Services, info: MediaInfo | None) -> Decoded:
    if info is None:
        return Decoded(None)
    if info.kind is MediaKind.IMAGE:
        # Hashing (≤ 512 px) and image models (224 px) need no more pixels than this.
        image = decode_image(info, min_side=DECODE_SIDE).image
        return Decoded(info, image, tuple(hash_frames([(0, 0.0, image)])))
    if info.kind is MediaKind.VIDEO:
        sampled = ((f.index, f.t, f.image) for f in iter_frames(info, fps=1.0, limits=services.limits))
        return Decoded(info, None, tuple(hash_frames(sampled)))
    return Decoded(info)  # audio: no pictures to hash


def content_kinds(decoded: Decoded, text: str | None) -> tuple[str, ...]:
    kinds = [decoded.info.kind.value] if decoded.info is not None else []
    if text and text.strip():
        kinds.append("text")
    return tuple(kinds)


# --- 2. provenance -----------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ProvenanceFound:
    report: ProvenanceReport | None
    signal: ProvenanceSignal | None
    states: Mapping[str, SignalState] = field(default_factory=dict)


def provenance_summary(report: ProvenanceReport) -> dict[str, Any]:
    data = report.to_dict()
    return {key: data.get(key) for key in _SUMMARY_KEYS}


def provenance(services: Services, conn: Conn, decoded: Decoded) -> ProvenanceFound:
    if decoded.info is None:
        return ProvenanceFound(None, None)  # text only: nothing carries a manifest
    report = services.notary.verify(
        conn,
        decoded.info.path,
        limits=services.limits,
        info=decoded.info,
        frames=[f.hashes for f in decoded.frames],  # hashed once, in step 1, for steps 2 and 4
    )
    signal = ProvenanceSignal(
        state=report.state.value,
        ai_generated=report.ai_generated,
        recovered_by=report.recovered_by,
        digital_source_type=report.digital_source_type,
        asset_id=report.asset_id,
        summary=provenance_summary(report),
    )
    return ProvenanceFound(report, signal)


# --- 3. consent status -------------------------------------------------------------------------
def consent_status(conn: Conn, found: ProvenanceFound) -> ConsentStatus:
    """Public for released assets (DESIGN "visibility"): read in the system() transaction."""
    asset_id = found.report.asset_id if found.report is not None else None
    if not asset_id:
        return ConsentStatus.UNKNOWN
    try:
        asset = UUID(asset_id)
    except ValueError:  # an asset id Vigil did not mint: no consent record can name it
        return ConsentStatus.UNKNOWN
    return ConsentStatus(consent_store.consent_status(conn, asset).value)


# --- 4. match ----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Matched:
    report: MatchReport | None
    signals: tuple[MatchSignal, ...] = ()
    states: Mapping[str, SignalState] = field(default_factory=dict)


def match(services: Services, conn: Conn, tenant_id: UUID, decoded: Decoded) -> Matched:
    if decoded.info is None or not decoded.frames:
        return Matched(None)
    report = match_hashes(
        conn, services.match_index, tenant_id=tenant_id, frames=decoded.frames, item=decoded.info.sha256
    )
    signals = tuple(
        MatchSignal(
            bank=m.bank,
            kind=m.kind.value,
            distance=m.distance,
            hash_type=m.hash_type.value,
            labels=m.labels,
            item=str(m.frame),
        )
        for m in report.matches
    )
    return Matched(report, signals)


# --- 5. classify -------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Classified:
    scores: tuple[ScoreSignal, ...] = ()
    lexicon: tuple[LexiconHit, ...] = ()
    states: Mapping[str, SignalState] = field(default_factory=dict)
    results: Mapping[str, Scores] = field(default_factory=dict)  # signal name -> classifier answer


def _score_signals(source: str, result: Scores) -> list[ScoreSignal]:
    out = []
    for category, score in result.scores.items():
        best = max(
            (e for e in result.evidence if e.category == category and e.t is not None),
            key=lambda e: e.score,
            default=None,
        )
        evidence = (
            f"frame {best.frame_index} at {best.t:.1f} s" if best is not None and best.t is not None else ""
        )
        out.append(ScoreSignal(source, category.value, float(score), evidence))
    return out


def classify(services: Services, decoded: Decoded, text: str | None) -> Classified:
    results: dict[str, Scores] = {}
    if text and text.strip():
        results["text_model"] = services.classifiers.classify_text([text])[0]
    states: dict[str, SignalState] = {}
    if decoded.image is not None:
        results["image_model"] = services.classifiers.classify_image(decoded.image)
        if services.settings.check_ocr:  # text inside the picture: slogans on posters, markings
            results["ocr"] = services.classifiers.classify_image_text(decoded.image)
        else:
            states["ocr"] = SignalState.NOT_CONFIGURED
    elif decoded.info is not None and decoded.info.kind is MediaKind.VIDEO:
        results["image_model"] = services.classifiers.classify_video(decoded.info, limits=services.limits)
    scores: list[ScoreSignal] = []
    lexicon: list[LexiconHit] = []
    for name, result in results.items():
        states[name] = SignalState(result.state.value)
        if result.state is ClassifyState.OK:
            scores += _score_signals(name, result)
            lexicon += [LexiconHit(h.term_id, h.category.value) for h in result.hits if h.review]
    return Classified(tuple(scores), tuple(lexicon), states, results)


# --- 6. decide --------------------------------------------------------------------------------
def signals(
    policy: Policy,
    decoded: Decoded,
    text: str | None,
    provenance: ProvenanceFound,
    consent: ConsentStatus,
    matches: Matched,
    classified: Classified,
) -> Signals:
    """What steps 2 to 5 found, as the policy reads it."""
    return Signals(
        flow=Flow.CHECK,
        market=policy.market,
        content_kinds=content_kinds(decoded, text),
        provenance=provenance.signal,
        consent_status=consent,
        matches=matches.signals,
        scores=classified.scores,
        lexicon=classified.lexicon,
        states={**provenance.states, **matches.states, **classified.states},
    )


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
        "flag_id": str(flag_id) if flag_id is not None else None,
    }


def _review_context(
    services: Services,
    *,
    check_id: UUID,
    decoded: Decoded,
    text: str | None,
    verdict: Verdict,
    provenance: ProvenanceFound,
    matches: Matched,
    classified: Classified,
    policy_review_at: Mapping[str, float],
) -> dict[str, Any]:
    media = []
    if decoded.info is not None:
        sha = services.blobs.put_file(decoded.info.path)  # the reviewer page shows it from here
        media.append({"sha256": sha, "mime": decoded.info.type.mime, "role": "upload"})
    scores = []
    for name, result in classified.results.items():
        for category, score in sorted(result.scores.items(), key=lambda kv: -kv[1]):
            evidence = [
                {"timestamp_s": e.t, "score": round(e.score, 4)}
                for e in result.evidence
                if e.category == category and e.t is not None
            ]
            scores.append(
                {
                    "category": category.value,
                    "score": round(float(score), 4),
                    "threshold": policy_review_at.get(category.value),
                    "source": name,
                    "evidence": evidence,
                }
            )
    context: dict[str, Any] = {
        "media": media,
        "scores": scores,
        "matches": [
            {"bank": m.bank, "distance": m.distance, "hash_type": m.hash_type, "labels": list(m.labels)}
            for m in verdict.matches
        ],
        "consent": {"status": verdict.consent_status.value},
        "ids": {
            "check_id": str(check_id),
            "policy_version": verdict.policy_version,
            **({"sha256": decoded.info.sha256} if decoded.info is not None else {}),
        },
    }
    pdq = [f.hashes.pdq.hex for f in decoded.frames if not f.hashes.pdq.low_quality]
    if pdq:  # what a reviewer's reject puts in the tenant's review-rejected bank
        context["fingerprints"] = {"pdq": list(dict.fromkeys(pdq))}
    if text:
        context["caption"] = text
    if provenance.report is not None:
        summary = provenance_summary(provenance.report)
        context["provenance"] = {
            k: v for k, v in summary.items() if k in ("state", "recovered_by", "asset_id", "signed_at")
        }
        context["provenance"]["ai_generated"] = summary["ai_generated"]
        if provenance.report.signer is not None:
            context["provenance"]["signer"] = provenance.report.signer.issuer
    if matches.report is not None and matches.report.suppressed:
        context["suppressed_matches"] = [m.summary() for m in matches.report.suppressed]
    return context


def record(
    services: Services,
    *,
    check_id: UUID,
    request_tenant: UUID,
    policy: Policy,
    decoded: Decoded,
    text: str | None,
    verdict: Verdict,
    provenance: ProvenanceFound,
    matches: Matched,
    classified: Classified,
) -> UUID | None:
    """Append ``check.decided`` and, for review, enqueue a flag, in one tenant transaction."""
    flag_id: UUID | None = None
    with services.db.tenant(request_tenant) as conn:
        if verdict.decision is Decision.REVIEW:
            context = _review_context(
                services,
                check_id=check_id,
                decoded=decoded,
                text=text,
                verdict=verdict,
                provenance=provenance,
                matches=matches,
                classified=classified,
                policy_review_at={name: c.review_at for name, c in policy.categories.items()},
            )
            flag = review_queue.create_flag(
                conn,
                tenant_id=request_tenant,
                source_kind="check",
                source_id=str(check_id),
                category=verdict.category or "check",
                reasons=[asdict(r) for r in verdict.reasons],
                context=context,
                policy=services.review_policy,
            )
            flag_id = flag.id
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
