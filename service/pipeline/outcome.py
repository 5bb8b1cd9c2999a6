"""Step 8 of generation: release (after labelling and signing), hold, or withhold an output.

``release`` is the ONLY code that makes a generation ``released``: it labels the quarantined
output for its market, signs the labelled file with the final decision in the manifest, keeps
the signed bytes as a blob, links the asset to its grants, and sets the status, all in the
caller's transaction with the record's row locked. A retried job or a second approval finds
the record released already and does nothing, so an output is released exactly once.
"""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID

from service.audit import Event, EventName, append
from service.blobs import BlobStore
from service.consent import ConsentOutcome, ConsentRequest, RuleBook, registry
from service.consent import store as consent_store
from service.db import Conn
from service.errors import Conflict
from service.generate import store
from service.generate.records import Generation, GenerationStatus, reachable_from
from service.media.intake import detect
from service.pipeline import webhooks
from service.pipeline.label_sign import LabelSigner
from service.policy.categories import FlagCategory
from service.policy.holder import PolicyHolder
from service.policy.model import SymbolSignal, TextSource, Verdict
from service.provenance import ConsentAssertion, Ingredient, ModerationAssertion, SignSpec
from service.review import queue
from service.review.context import ConsentRef, FlagContext, MediaRef, ScoreLine, SourceText, SymbolLine
from service.review.model import ReviewPolicy
from service.vocabulary import Reason, SourceType

APPROVED_BY_REVIEWER = "approved_by_reviewer"
_EXTENSIONS = {"image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp", "video/mp4": ".mp4"}


@dataclass(frozen=True, kw_only=True, slots=True)
class Outcomes:
    """Release or hold a screened output, given what those read: the blob store (the quarantined
    output, the sources, the signed result), the consent rules (checked once more at release),
    the policy (its version and thresholds), labelling and signing, and the review policy (the
    flag of a held output)."""

    blobs: BlobStore
    consent_rules: RuleBook
    policy: PolicyHolder
    label_signer: LabelSigner
    review_policy: ReviewPolicy
    tmp_dir: Path

    def release(self, conn: Conn, generation_id: UUID, *, moderation: str) -> Generation:
        """Label (6), sign (7) and release (8) a screened output; audit each (9). Idempotent.
        The manifest names the classifiers that screened it (kept on the record at screening)."""
        gen = store.get(conn, generation_id, lock=True)  # the row lock serialises concurrent releases
        if gen.status is GenerationStatus.RELEASED:
            return gen
        if gen.status not in reachable_from(GenerationStatus.RELEASED):
            raise Conflict(f"A {gen.status.value} generation cannot be released.")
        if gen.quarantine_sha256 is None or gen.quarantine_mime is None:
            raise Conflict("This generation has no screened output to release.")
        # Consent once more, at the moment of release: a grant revoked while the output waited for a
        # reviewer stops it (revocation stops new generation at once).
        consent = registry.check_request(
            conn, self.consent_rules, ConsentRequest.from_spec(dict(gen.spec)), at=datetime.now(UTC)
        )
        if consent.decision is ConsentOutcome.DENIED:
            return deny(conn, gen.id, list(consent.reasons))
        asset_id = uuid.uuid4()
        now = datetime.now(UTC)
        suffix = _EXTENSIONS.get(gen.quarantine_mime, ".bin")
        self.tmp_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=self.tmp_dir, prefix="release-") as work:
            signed_path = Path(work) / f"signed{suffix}"
            # 6. label and 7. sign: the manifest records the final decision and the grants
            done = self.label_signer.label_and_sign(
                conn,
                self.blobs.path(gen.quarantine_sha256),
                signed_path,
                SignSpec(
                    source_type=gen.source_type or SourceType.TRAINED_ALGORITHMIC_MEDIA,
                    software_agent=f"Vigil {gen.backend or 'generator'} {gen.backend_version or ''}".strip(),
                    asset_id=str(asset_id),
                    consent=ConsentAssertion(
                        grant_ids=tuple(str(g) for g in gen.grant_ids),
                        grant_hashes=tuple(
                            consent_store.get_grant(conn, g).record_sha256() for g in gen.grant_ids
                        ),
                    ),
                    moderation=ModerationAssertion(
                        verdict=moderation,
                        policy_version=gen.policy_version or self.policy.current.version,
                        classifier_versions=dict(gen.classifier_versions),
                    ),
                    ingredients=self._ingredients(gen),
                ),
                market=gen.market,
                tenant_id=gen.tenant_id,
            )
            signed = done.signed
            released_sha = self.blobs.put_file(signed_path)
        # 8. release: link the asset to its grants (revocation reaches it), then the status
        if gen.grant_ids:
            registry.link_outputs(
                conn,
                asset_ids=[asset_id],
                grant_ids=gen.grant_ids,
                tenant_id=gen.tenant_id,
                source_sha256s=gen.source_sha256s,
            )
        released = store.update(
            conn,
            gen.id,
            status=GenerationStatus.RELEASED,
            released_sha256=released_sha,
            released_mime=signed.mime,
            asset_id=asset_id,
            released_at=now,
        )
        # 9. audit
        append(
            conn,
            Event(
                EventName.GENERATION_RELEASED,
                str(gen.id),
                gen.tenant_id,
                {
                    "asset_id": str(asset_id),
                    "sha256": released_sha,
                    "moderation": moderation,
                    "log_index": signed.log_index,
                },
            ),
        )
        webhooks.generation_changed(conn, released)
        return released

    def hold(
        self,
        conn: Conn,
        gen: Generation,
        verdict: Verdict,
        *,
        words: Sequence[str] = (),
        symbols: Sequence[SymbolSignal] = (),
    ) -> Generation:
        """Step 8 for a review verdict: the output waits in quarantine and a flag goes to the
        queue."""
        reasons = list(verdict.reasons)
        policy = self.policy.current.for_market(gen.market)
        # Every text that was screened, under its source name (the scores below name it too); the
        # reviewer reads them here, they never reach logs or the audit log.
        texts = (
            (TextSource.PROMPT, gen.prompt),
            (TextSource.SCRIPT, gen.script),
            (TextSource.CAPTION, gen.caption),
        )
        context = FlagContext(
            texts=(
                *(SourceText(source.value, text) for source, text in texts if text),
                *(SourceText(TextSource.OCR.value, text) for text in words),
            ),
            media=(
                *(
                    (MediaRef(gen.quarantine_sha256, gen.quarantine_mime, "output"),)
                    if gen.quarantine_sha256 and gen.quarantine_mime
                    else ()
                ),
                *(
                    MediaRef(sha, detect(self.blobs.path(sha)).mime, "source photo")
                    for sha in gen.photo_sha256s
                ),
            ),
            scores=tuple(
                ScoreLine(
                    category=category,
                    score=score,
                    threshold=policy.review_at(category, group.signal),
                    source=group.source,
                    signal=group.signal,
                )
                for group in verdict.scores_by_source
                for category, score in sorted(group.scores.items(), key=lambda kv: -kv[1])
            ),
            symbols=tuple(SymbolLine(s.symbol, s.label, s.category, s.score, s.box, s.t) for s in symbols),
            consent=ConsentRef(
                applicable=True,
                status="active",
                grant_ids=tuple(str(g) for g in gen.grant_ids),
                note="The grants this generation was made under (checked again when it is released).",
            ),
            classifier_versions=dict(verdict.classifier_versions),
            ids={"generation_id": str(gen.id), "policy_version": verdict.policy_version},
        ).to_json()
        flag = queue.create_flag(
            conn,
            tenant_id=gen.tenant_id,
            source_kind="generation",
            source_id=str(gen.id),
            category=self.review_policy.most_severe(verdict.categories, FlagCategory.UNSCREENED),
            reasons=[r.as_dict() for r in reasons],
            context=context,
            policy=self.review_policy,
        )
        held = store.update(conn, gen.id, status=GenerationStatus.HELD, reasons=reasons, flag_id=flag.id)
        append(
            conn,
            Event(
                EventName.GENERATION_HELD,
                str(gen.id),
                gen.tenant_id,
                {"flag_id": str(flag.id), "rules": [r.rule for r in reasons]},
            ),
        )
        webhooks.generation_changed(conn, held)
        return held

    def _ingredients(self, gen: Generation) -> tuple[Ingredient, ...]:
        return tuple(Ingredient(sha, detect(self.blobs.path(sha)).mime) for sha in gen.source_sha256s)


def deny(conn: Conn, generation_id: UUID, reasons: list[Reason]) -> Generation:
    """Consent no longer covers an unreleased output: ``denied``, never downloadable."""
    gen = store.get(conn, generation_id, lock=True)
    if gen.status in (GenerationStatus.DENIED, GenerationStatus.RELEASED):
        return gen
    denied = store.update(conn, gen.id, status=GenerationStatus.DENIED, reasons=reasons)
    append(
        conn,
        Event(EventName.GENERATION_DENIED, str(gen.id), gen.tenant_id, {"rules": [r.rule for r in reasons]}),
    )
    webhooks.generation_changed(conn, denied)
    return denied


def withhold(conn: Conn, generation_id: UUID, reasons: list[Reason], *, by: str) -> Generation:
    """Step 8 for a block (by policy or by a reviewer): withheld, never downloadable."""
    gen = store.get(conn, generation_id, lock=True)
    if gen.status is GenerationStatus.BLOCKED:
        return gen
    blocked = store.update(conn, gen.id, status=GenerationStatus.BLOCKED, reasons=reasons)
    append(
        conn,
        Event(
            EventName.GENERATION_BLOCKED,
            str(gen.id),
            gen.tenant_id,
            {"by": by, "rules": [r.rule for r in reasons]},
        ),
    )
    webhooks.generation_changed(conn, blocked)
    return blocked
