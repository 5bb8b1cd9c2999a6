"""The composition root: the one place a Vigil process is assembled.

- ``open_services``: the stages' services, built from the settings (``Services.open``), and what
  a reviewer's decision does to each flow's items (release a held output, withhold it, add a
  rejected picture to a bank, tell the platform by webhook).
- ``check_flow`` and ``generation_flow``: the two flows, each given exactly what its steps read
  (``outcomes``, ``screener`` and ``label_signer`` are the parts the generation flow shares with
  a reviewer's approval and with ``vigil sign``).
- ``job_registry``: every job kind and periodic task a worker of this process runs: the
  built-ins, the stages' and the flows', then the ``job_modules`` setting's (plugins, by module
  name). Each is registered here by a typed call, so mypy proves that ``Services`` gives every
  handler what its signature asks for (a stage's task names a Protocol of what it reads).

The HTTP edge (``app.create_app``), the CLI and the tests assemble a process through these.
"""

from __future__ import annotations

from service.audit import tasks as audit_tasks
from service.consent import tasks as consent_tasks
from service.db import Conn
from service.jobs import Job, JobContext, build_registry
from service.jobs.registry import HandlerRegistry
from service.pipeline import generation, generation_review, rejection, webhooks
from service.pipeline.check import CheckFlow
from service.pipeline.generation import GenerationFlow
from service.pipeline.label_sign import LabelSigner
from service.pipeline.outcome import Outcomes
from service.pipeline.screening import Screener
from service.services import Services
from service.settings import Settings


def open_services(settings: Settings, *, migrate: bool = True) -> Services:
    """Every stage's services, with the flows' review effects registered."""
    services = Services.open(settings, migrate=migrate)
    generation_review.wire(services.review_effects, outcomes(services))
    rejection.wire(services.review_effects)
    webhooks.wire(services.review_effects)
    return services


def check_flow(services: Services) -> CheckFlow:
    """The check flow over this process's services: each step gets only what it reads."""
    settings = services.settings
    return CheckFlow(
        limits=services.limits,
        look_closer=settings.check_ocr or settings.check_symbols,
        read_words=settings.check_ocr,
        db=services.db,
        notary=services.notary,
        match_index=services.match_index,
        symbols=services.symbols,
        classifiers=services.classifiers,
        policy=services.policy,
        label_markets=services.market_profiles.keys(),
        blobs=services.blobs,
        review_policy=services.review_policy,
        slots=services.check_slots,
    )


def label_signer(services: Services) -> LabelSigner:
    """Steps 6 and 7 (label, then sign), for a release and for ``vigil sign --profile``."""
    settings = services.settings
    return LabelSigner(
        market_profile=services.market_profile,
        provider=settings.labels_provider,
        default_locale=settings.labels_default_locale,
        notary=services.notary,
        limits=services.limits,
        tmp_dir=settings.tmp_dir,
    )


def outcomes(services: Services) -> Outcomes:
    """Release or hold a screened output: the generation flow's and a reviewer's approval's."""
    return Outcomes(
        blobs=services.blobs,
        consent_rules=services.consent_rules,
        policy=services.policy,
        label_signer=label_signer(services),
        review_policy=services.review_policy,
        tmp_dir=services.settings.tmp_dir,
    )


def screener(services: Services) -> Screener:
    """Screening of a generation's texts and output (steps 2 and 4)."""
    return Screener(
        classifiers=services.classifiers,
        limits=services.limits,
        db=services.db,
        symbol_bank=services.symbols,
        match_index=services.match_index,
    )


def generation_flow(services: Services) -> GenerationFlow:
    """The generation flow over this process's services: each step gets only what it reads."""
    settings = services.settings
    return GenerationFlow(
        db=services.db,
        blobs=services.blobs,
        consent_rules=services.consent_rules,
        max_attempts=settings.generation_max_attempts,
        screener=screener(services),
        generator=services.generator,
        quarantine_dir=settings.quarantine_dir,
        video_seconds=settings.video_seconds,
        limits=services.limits,
        policy=services.policy,
        outcomes=outcomes(services),
    )


def _run_generation(job: Job, ctx: JobContext[Services]) -> None:
    generation_flow(ctx.services).run_job(job, ctx)


def _generation_dead(conn: Conn, job: Job, services: Services) -> None:
    generation_flow(services).on_dead(conn, job)


def register_generation_jobs(registry: HandlerRegistry[Services]) -> None:
    """``generation.run`` (steps 2-9) and the banking of a rejected output."""
    registry.register(
        generation.JOB_KIND,
        _run_generation,
        max_attempts=generation.JOB_MAX_ATTEMPTS,
        on_dead=_generation_dead,
    )
    rejection.register_handlers(registry)


def generation_registry() -> HandlerRegistry[Services]:
    """The built-in kinds and the generation jobs alone: a worker that generates and runs no
    periodic task."""
    registry: HandlerRegistry[Services] = HandlerRegistry()
    register_generation_jobs(registry)
    return build_registry((), registry)


def job_registry(settings: Settings) -> HandlerRegistry[Services]:
    """The job kinds and periodic tasks of a worker that is handed this process's ``Services``."""
    registry: HandlerRegistry[Services] = HandlerRegistry()
    consent_tasks.register_handlers(registry)  # source media deleted after revocation
    audit_tasks.register_handlers(registry)  # a signed checkpoint every minute
    register_generation_jobs(registry)  # generation, and banking a rejected output
    webhooks.register_handlers(registry)  # webhook deliveries
    return build_registry(settings.job_modules, registry)  # the built-ins, then plugins
