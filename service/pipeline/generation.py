"""The generation flow, studio → release. The ONLY module that knows the order of the steps.

1. consent — every human depicted or voiced has a grant that covers the request; directives
   first. Checked at submission (a refusal is recorded as ``denied`` at once) and again when
   the job starts (a grant revoked meanwhile stops it).
2. screen text — prompt, script (the words of a voice track) and caption through the text
   classifier and lexicon; each score and hit keeps the name of its text (``prompt``, ``script``,
   ``caption``).
3. generate — the configured backend makes the output into quarantine (never served from there).
4. screen media — the still or sampled frames through the image classifier; a voice track is
   ``speech``, which no shipped model hears (the policy says what that means); fingerprints
   against the hash banks.
5. decide — ``service.policy.evaluate`` (``Flow.GENERATION``) turns the signals into a Verdict.
6. label — visible label and metadata for the market profile.
7. sign — C2PA manifest with the AI source type, the grants, the FINAL decision and the versions
   of the classifiers that screened it; so labels and signature are applied at release (after a
   reviewer's approval, for a held output).
8. release or hold — allow/label: released; review: ``held`` and a flag in the review queue
   (a reviewer's approval releases it, a rejection withholds it); block: ``blocked``.
9. audit — each step appends its event in the same transaction as the status it sets.

Steps 2-9 run in the job ``generation.run``. Its effects commit with the job's completion
(``ctx.completing()``); a worker that dies halfway leaves the record ``running`` and nothing
downloadable, and the retried job starts again from the same database state.

``GenerationFlow`` is built by the composition root (``composition.generation_flow``); its
constructor takes what the steps read:

    1 consent         db, consent_rules (and max_attempts for the job it queues)
    2 screen text     screener
    3 generate        generator, quarantine_dir, video_seconds, blobs (the inputs; the output
                      stored), limits (the output's intake)
    4 screen media    screener
    5 decide          policy
    6-8 settle        outcomes (label, sign and release, or hold with a flag; withhold)
    9 audit           in each step's transaction
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

from service.audit import Event, EventName, append
from service.blobs import BlobStore
from service.consent import ConsentDecision, ConsentOutcome, ConsentRequest, RuleBook, registry
from service.db import Conn, Database
from service.errors import Conflict, InputError, LeaseLost, VigilError
from service.generate import GeneratedMedia, GenerationRequest, GeneratorBackend, PhotoRef, store
from service.generate.records import Generation, GenerationStatus
from service.generate.spec import GenerationSpec, request_sha256
from service.jobs import Job, JobContext, enqueue
from service.jobs.model import H
from service.media import MediaInfo, MediaLimits
from service.media.intake import inspect
from service.pipeline import outcome, webhooks
from service.pipeline.outcome import Outcomes
from service.pipeline.screening import Screener, Screening
from service.policy.evaluate import evaluate
from service.policy.holder import PolicyHolder
from service.policy.model import Decision, Flow, Signals, TextSource, Verdict
from service.vocabulary import ConsentStatus, OutputKind, Reason

log = logging.getLogger(__name__)

JOB_KIND = "generation.run"
JOB_MAX_ATTEMPTS = 20  # a kind's cap; a generation's own job may allow fewer (max_attempts)


@dataclass(frozen=True, slots=True)
class Submission:
    """Inputs of ``POST /v1/generations`` after parsing and intake (all checked, none stored yet)."""

    spec: GenerationSpec
    photos: tuple[MediaInfo, ...]
    voice: MediaInfo | None = None
    idempotency_key: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class GenerationFlow:
    """The generation flow of one process; see the module docstring for what each step reads."""

    db: Database
    blobs: BlobStore
    consent_rules: RuleBook
    max_attempts: int
    screener: Screener
    generator: GeneratorBackend
    quarantine_dir: Path
    video_seconds: float
    limits: MediaLimits
    policy: PolicyHolder
    outcomes: Outcomes

    # --- submission (step 1) ------------------------------------------------------------------

    def submit(self, tenant_id: UUID, submission: Submission) -> Generation:
        """Store the inputs, check consent (step 1), and record the generation: ``denied`` with
        its reasons, or ``queued`` with its job in the same transaction. The same
        ``Idempotency-Key`` returns the same record; the same key with another request is a
        ``Conflict``."""
        spec = submission.spec
        photo_shas = tuple(self.blobs.put_file(p.path) for p in submission.photos)
        voice_sha = self.blobs.put_file(submission.voice.path) if submission.voice else None
        fingerprint = request_sha256(spec, photo_shas, voice_sha)
        key = submission.idempotency_key
        with self.db.tenant(tenant_id) as conn:
            if key is not None:
                existing = store.by_idempotency_key(conn, tenant_id, key)
                if existing is not None:
                    return _same_request(existing, fingerprint)
            # 1. consent
            request = ConsentRequest.from_spec(spec.as_json())
            consent = registry.check_request(conn, self.consent_rules, request, at=datetime.now(UTC))
            denied = consent.decision is ConsentOutcome.DENIED
            gen = store.insert(
                conn,
                generation_id=uuid.uuid4(),
                tenant_id=tenant_id,
                status=GenerationStatus.DENIED if denied else GenerationStatus.QUEUED,
                reasons=list(consent.reasons),
                spec=spec.as_json(),
                photo_sha256s=photo_shas,
                voice_sha256=voice_sha,
                market=spec.market,
                output_kind=spec.output.value,
                grant_ids=consent.grant_ids,
                idempotency_key=key,
                request_sha256=fingerprint,
            )
            if gen is not None:
                self._record_submission(conn, gen)
        if gen is None:  # another request with this key committed first
            assert key is not None  # only a key can collide
            with self.db.tenant(tenant_id) as conn:
                existing = store.by_idempotency_key(conn, tenant_id, key)
            if existing is None:
                raise Conflict("A request with this Idempotency-Key vanished; retry it.")
            return _same_request(existing, fingerprint)
        return gen

    def _record_submission(self, conn: Conn, gen: Generation) -> None:
        """Audit the submission (step 9 for step 1) and queue the job (same transaction)."""
        data: dict[str, Any] = {
            "photos": list(gen.photo_sha256s),
            "voice": gen.voice_sha256,
            "grant_ids": [str(g) for g in gen.grant_ids],
            "market": gen.market,
            "output": gen.output_kind,
        }
        if gen.status is GenerationStatus.DENIED:
            data["rules"] = [r.rule for r in gen.reasons]
            append(conn, Event(EventName.GENERATION_DENIED, str(gen.id), gen.tenant_id, data))
            return
        append(conn, Event(EventName.GENERATION_SUBMITTED, str(gen.id), gen.tenant_id, data))
        enqueue(
            conn,
            JOB_KIND,
            {"generation_id": str(gen.id)},
            tenant_id=gen.tenant_id,
            dedupe_key=str(gen.id),
            max_attempts=self.max_attempts,
        )

    # --- the job (steps 1 again, 2-9) -----------------------------------------------------------

    def run_job(self, job: Job, ctx: JobContext[H]) -> None:
        """Handler of ``generation.run``: safe to run again for the same job (see ``service.jobs``)."""
        generation_id = UUID(str(job.payload["generation_id"]))
        final_attempt = job.attempt >= job.max_attempts
        try:
            self._run(ctx, generation_id)
        except LeaseLost:
            raise  # another worker owns the job now; this attempt's effects are gone
        except InputError as exc:  # bad input stays bad: fail now, with the reason
            _fail(ctx, generation_id, exc)
        except Exception as exc:
            if not final_attempt:
                raise  # retried with backoff
            _fail(ctx, generation_id, exc)

    def _run(self, ctx: JobContext[H], generation_id: UUID) -> None:
        with self.db.tenant(ctx.job.tenant_id) as conn:
            gen = store.start(conn, generation_id)
            if gen is None:  # settled by an earlier attempt: nothing left to do
                return
            # 1. consent, again: a grant revoked since submission stops the job
            request = ConsentRequest.from_spec(dict(gen.spec))
            consent = registry.check_request(conn, self.consent_rules, request, at=datetime.now(UTC))
        if consent.decision is ConsentOutcome.DENIED:
            with ctx.completing() as conn:
                outcome.deny(conn, generation_id, list(consent.reasons))
            return
        # 2. screen text
        screening = self.screener.text(
            [
                (TextSource.PROMPT, gen.prompt),
                (TextSource.SCRIPT, gen.script),
                (TextSource.CAPTION, gen.caption),
            ]
        )
        # 3. generate
        media = self._generate(gen)
        output_sha = self.blobs.put_file(media.path)
        media.path.unlink(missing_ok=True)
        info = inspect(self.blobs.path(output_sha), self.limits)
        # 4. screen media (and the words and symbols on it)
        self.screener.media(screening, info, tenant_id=gen.tenant_id)
        self.screener.words(screening, info)
        self.screener.symbols(screening, info, tenant_id=gen.tenant_id)
        # 5. decide
        verdict = self._decide(gen, screening, consent)
        with ctx.completing() as conn:
            gen = store.get(conn, generation_id, lock=True)
            if gen.status is not GenerationStatus.RUNNING:
                return  # another attempt settled it
            gen = store.update(
                conn,
                gen.id,
                quarantine_sha256=output_sha,
                quarantine_mime=info.type.mime,
                backend=media.backend,
                backend_version=media.backend_version,
                source_type=media.digital_source_type.value,
                decision=verdict.decision.value,
                policy_version=verdict.policy_version,
                reasons=list(verdict.reasons),
                classifier_versions=dict(verdict.classifier_versions),
            )
            append(
                conn,
                Event(
                    EventName.GENERATION_SCREENED,
                    str(gen.id),
                    gen.tenant_id,
                    {
                        "output_sha256": output_sha,
                        "backend": media.backend,
                        "decision": verdict.decision.value,
                        "policy_version": verdict.policy_version,
                        **screening.audit_fields(),
                    },
                ),
            )
            # 6.-8. label, sign and release; or hold; or withhold (9. audit inside each)
            self._settle(conn, gen, verdict, screening)

    def _generate(self, gen: Generation) -> GeneratedMedia:
        request = GenerationRequest(
            request_id=str(gen.id),
            output=OutputKind(gen.output_kind),
            photos=tuple(PhotoRef(sha, self.blobs.path(sha)) for sha in gen.photo_sha256s),
            prompt=gen.prompt,
            caption=gen.caption,
            script=gen.script,
            voice=self.blobs.path(gen.voice_sha256) if gen.voice_sha256 else None,
            video_seconds=self.video_seconds,
        )
        return self.generator.generate(request, out_dir=self.quarantine_dir)

    def _decide(self, gen: Generation, screening: Screening, consent: ConsentDecision) -> Verdict:
        """Step 5: the policy of the market over every signal; consent that needs a person adds
        review."""
        policy = self.policy.current.for_market(gen.market)
        verdict = evaluate(
            policy,
            Signals(
                flow=Flow.GENERATION,
                market=gen.market,
                content_kinds=(gen.output_kind, "text"),
                consent_status=ConsentStatus.ACTIVE,
                matches=tuple(screening.matches),
                scores=tuple(screening.scores),
                lexicon=tuple(screening.lexicon),
                symbols=tuple(screening.symbols),
                states=dict(screening.states),
                classifier_versions=dict(screening.versions),
            ),
        )
        if consent.decision is ConsentOutcome.NEEDS_REVIEW and verdict.decision.rank < Decision.REVIEW.rank:
            verdict = replace(
                verdict,
                decision=Decision.REVIEW,
                reasons=consent.reasons + verdict.reasons,
                category="consent",
                categories=("consent", *verdict.categories),
            )
        return verdict

    def _settle(self, conn: Conn, gen: Generation, verdict: Verdict, screening: Screening) -> None:
        if verdict.decision is Decision.BLOCK:
            outcome.withhold(conn, gen.id, list(gen.reasons), by="policy")
        elif verdict.decision is Decision.REVIEW:
            self.outcomes.hold(conn, gen, verdict, words=screening.words, symbols=screening.symbols)
        else:  # the record carries the classifier versions into the manifest
            self.outcomes.release(conn, gen.id, moderation=verdict.decision.value)

    def on_dead(self, conn: Conn, job: Job) -> None:
        """The job went to the dead letter outside the handler (its workers kept dying, or it
        failed on every attempt): the record ends ``failed``, in the transaction that records the
        death, and the part files a worker killed mid-encode left in quarantine are removed (no
        retry will)."""
        generation_id = UUID(str(job.payload["generation_id"]))
        for part in self.quarantine_dir.glob(f".{generation_id}.*.part"):
            part.unlink(missing_ok=True)
        gen = store.get(conn, generation_id, lock=True)
        if not gen.status.pending:
            return
        reason = Reason("generation.job_dead", "jobs", f"the job stopped after {job.attempt} attempt(s)")
        _record_failure(conn, gen, reason, code="job_dead", attempt=job.attempt)


def _same_request(existing: Generation, fingerprint: str) -> Generation:
    if existing.request_sha256 != fingerprint:
        raise Conflict(
            "This Idempotency-Key was used for a different request; use a new key for a new request."
        )
    return existing


def _fail(ctx: JobContext[H], generation_id: UUID, exc: Exception) -> None:
    """The job gives up: the record says why (codes and the backend's reason), nothing released."""
    if isinstance(exc, VigilError):
        code, message = exc.code, exc.message
    else:  # an unexpected error: its type only (its text may quote inputs)
        code, message = "internal_error", f"{type(exc).__name__} after {ctx.job.attempt} attempt(s)"
    reason = Reason(f"generation.{code}", "generator", message[:500])
    with ctx.completing() as conn:
        gen = store.get(conn, generation_id, lock=True)
        if gen.status is not GenerationStatus.RUNNING:
            return
        _record_failure(conn, gen, reason, code=code, attempt=ctx.job.attempt)
    log.warning("generation %s failed at attempt %d: %s", generation_id, ctx.job.attempt, code)


def _record_failure(conn: Conn, gen: Generation, reason: Reason, *, code: str, attempt: int) -> None:
    """``failed`` with its reason, its audit event and the studio's webhook, in ``conn``."""
    failed = store.update(conn, gen.id, status=GenerationStatus.FAILED, reasons=[reason])
    append(
        conn,
        Event(EventName.GENERATION_FAILED, str(gen.id), gen.tenant_id, {"code": code, "attempt": attempt}),
    )
    webhooks.generation_changed(conn, failed)
