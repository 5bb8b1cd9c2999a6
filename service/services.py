"""The services of one Vigil process: stores, stages and components, built from the settings.

``Services.open`` is where each stage gets what it needs; ``composition.open_services`` adds the
flows' review effects and is what the HTTP edge and the CLI call. Nothing is built at import
time, and nothing here knows the flows (``service.pipeline``) that use these services.
"""

from __future__ import annotations

import os
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any

from service.audit.checkpoints import LogSigner, log_status
from service.audit.sequencer import Sequencer
from service.auth.throttle import Limits, Throttle
from service.blobs import BlobStore
from service.classify.classifiers import Classifiers
from service.consent import RuleBook
from service.db import Database
from service.db import migrate as migrations
from service.errors import DatabaseUnavailable, ProfileError, Unavailable, VigilError
from service.generate.backend import GeneratorBackend
from service.generate.registry import backend_from_settings
from service.health import ComponentStatus, Readiness
from service.labels import MarketProfile, get_profile, load_profiles
from service.labels.profiles import resolve_profiles_dir
from service.match.matching import BankIndex
from service.media import MediaLimits
from service.policy.holder import PolicyHolder
from service.provenance import Notary
from service.review import policy as review_policy
from service.review.effects import Effects
from service.review.model import ReviewPolicy
from service.settings import Settings
from service.slots import CheckSlots
from service.symbols.bank import SymbolBank
from service.vocabulary import SignalState

PROBE_TIMEOUT_S = 1.0  # how long a readiness probe waits on the database


@dataclass
class Services:
    """Everything a request handler may use, built once per process from the settings."""

    settings: Settings
    db: Database
    blobs: BlobStore
    limits: MediaLimits
    policy: PolicyHolder
    consent_rules: RuleBook
    review_policy: ReviewPolicy
    log_signer: LogSigner
    notary: Notary
    generator: GeneratorBackend  # VIGIL_GENERATOR_BACKEND; writes only into settings.quarantine_dir
    classifiers: Classifiers
    symbols: SymbolBank  # the shipped symbol drawings and each tenant's emblems
    readiness: Readiness = field(default_factory=Readiness)
    # Handlers other stages register for settled flags (release, withhold, add to a bank).
    review_effects: Effects = field(default_factory=Effects)
    market_profiles: dict[str, MarketProfile] = field(default_factory=dict)
    market_profiles_error: str | None = None
    match_index: BankIndex = field(default_factory=BankIndex)
    # Held while a check runs: at most ``check_concurrency`` at once in this process.
    check_slots: AbstractContextManager[Any] = field(default_factory=nullcontext)
    auth_throttle: Throttle = field(default_factory=lambda: Throttle(Limits(30, 10, 60.0)))
    sequencer: Sequencer | None = None  # integrates queued log events (started with the job worker)

    @classmethod
    def open(cls, settings: Settings, *, migrate: bool = True) -> Services:
        settings.ensure_dirs()
        consent_rules = RuleBook.load(settings.consent_rules_dir)  # a bad rule file refuses to start
        review_rules = review_policy.load(settings.review_policy or review_policy.DEFAULT_PATH)
        log_signer = LogSigner.from_settings(settings)
        notary = Notary.from_settings(settings)  # refuses a production setup without anchors
        generator = backend_from_settings(settings)  # a misconfigured backend refuses to start
        db = Database.from_settings(settings)
        try:
            if migrate:
                migrations.migrate(db.url)
            db.open()
            with db.system() as conn:  # a node with another log key must not sign this log
                log_signer.check_key(conn)
            blobs = BlobStore(root=settings.blob_dir)
            services = cls(
                settings=settings,
                db=db,
                blobs=blobs,
                limits=MediaLimits.from_settings(settings),
                policy=PolicyHolder(root=settings.policy_root),
                consent_rules=consent_rules,
                review_policy=review_rules,
                log_signer=log_signer,
                notary=notary,
                generator=generator,
                classifiers=Classifiers.from_settings(settings),
                symbols=SymbolBank(
                    blobs=blobs,
                    path=settings.symbols_dir or settings.policy_root / "symbols",
                    enabled=settings.check_symbols,
                ),
                check_slots=CheckSlots(
                    settings.check_concurrency or 4 * len(os.sched_getaffinity(0)),
                    wait_s=settings.check_wait_s,
                ),
                auth_throttle=Throttle(
                    Limits(
                        per_client=settings.auth_failures_per_client,
                        per_prefix=settings.auth_failures_per_prefix,
                        window_s=settings.auth_failure_window_s,
                    )
                ),
                match_index=BankIndex(
                    flood_limit=settings.match_flood_limit,
                    flood_window_s=settings.match_flood_window_s,
                    shared_dir=settings.tmp_dir / "match-index",  # one copy per node, memory-mapped
                ),
            )
            services.readiness.register("database", services._database_status)
            services.readiness.register("policy", services.policy.status)
            services.readiness.register(
                "audit_log", lambda: log_status(db, timeout=PROBE_TIMEOUT_S), needs="database"
            )
            services.readiness.register("signing_key", services.notary.signing_status)
            services.readiness.register("trust_anchors", services.notary.trust_status)
            services.readiness.register("classify_image", services.classifiers.readiness_image)
            services.readiness.register("classify_text", services.classifiers.readiness_text)
            services.readiness.register("symbols", services._symbols_status)
        except BaseException:
            db.close()
            raise
        services._load_market_profiles()
        return services

    def _symbols_status(self) -> ComponentStatus:
        state, detail = self.symbols.status()
        return ComponentStatus(state, detail)

    def _load_market_profiles(self) -> None:
        try:
            self.market_profiles = load_profiles(resolve_profiles_dir(self.settings.labels_profiles_dir))
        except ProfileError as exc:  # reported by /readyz; labelling fails closed until fixed
            self.market_profiles_error = exc.message
        self.readiness.register(
            "labels",
            lambda: (
                ComponentStatus(SignalState.UNAVAILABLE, self.market_profiles_error)
                if self.market_profiles_error
                else ComponentStatus(SignalState.OK, ", ".join(sorted(self.market_profiles)))
            ),
        )

    def market_profile(self, name: str) -> MarketProfile:
        """The loaded market profile ``name`` (``UnknownProfile`` lists the others)."""
        if self.market_profiles_error:
            raise Unavailable(f"Market profiles failed to load: {self.market_profiles_error}")
        return get_profile(self.market_profiles, name)

    def _database_status(self) -> ComponentStatus:
        try:
            self.db.ping(timeout=PROBE_TIMEOUT_S)  # a probe answers fast: /readyz within ~1 s
            missing = migrations.pending(self.db.url, connect_timeout=PROBE_TIMEOUT_S)
        except VigilError as exc:
            return ComponentStatus(SignalState.UNAVAILABLE, exc.message)
        except Exception as exc:
            return ComponentStatus(SignalState.UNAVAILABLE, str(DatabaseUnavailable(str(exc))))
        if missing:
            names = ", ".join(f"{m.version:04d}_{m.name}" for m in missing)
            return ComponentStatus(
                SignalState.UNAVAILABLE, f"migrations not applied: {names}; run 'vigil db migrate'"
            )
        return ComponentStatus(SignalState.OK)

    def close(self) -> None:
        if self.sequencer is not None:
            self.sequencer.stop()
        self.db.close()

    def start_sequencer(self) -> Sequencer:
        """Integrate queued log events in the background (processes that run jobs call this)."""
        if self.sequencer is None:
            self.sequencer = Sequencer(self.db)
            self.sequencer.start()
        return self.sequencer
