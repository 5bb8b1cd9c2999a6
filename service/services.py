"""The services of one Vigil process: stores, stages and components, built from the settings.

``Services.open`` is where each stage gets what it needs; ``app.create_app`` hands the result
to the HTTP edge and the CLI uses it directly. Nothing is built at import time.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from service.audit.checkpoints import LogSigner, log_status
from service.blobs import BlobStore
from service.db import Database
from service.db import migrate as migrations
from service.errors import DatabaseUnavailable, VigilError
from service.health import ComponentStatus, Readiness, State
from service.media import MediaLimits
from service.settings import Settings


@dataclass
class Services:
    """Everything a request handler may use, built once per process from the settings."""

    settings: Settings
    db: Database
    blobs: BlobStore
    limits: MediaLimits
    log_signer: LogSigner
    readiness: Readiness = field(default_factory=Readiness)

    @classmethod
    def open(cls, settings: Settings, *, migrate: bool = True) -> Services:
        settings.ensure_dirs()
        log_signer = LogSigner.from_settings(settings)
        db = Database.from_settings(settings)
        try:
            if migrate:
                migrations.migrate(db.url)
            db.open()
        except BaseException:
            db.close()
            raise
        services = cls(
            settings=settings,
            db=db,
            blobs=BlobStore(root=settings.blob_dir),
            limits=MediaLimits.from_settings(settings),
            log_signer=log_signer,
        )
        services.readiness.register("database", services._database_status)
        services.readiness.register("audit_log", lambda: log_status(db))
        return services

    def _database_status(self) -> ComponentStatus:
        try:
            self.db.ping()
            missing = migrations.pending(self.db.url)
        except VigilError as exc:
            return ComponentStatus(State.UNAVAILABLE, exc.message)
        except Exception as exc:
            return ComponentStatus(State.UNAVAILABLE, str(DatabaseUnavailable(str(exc))))
        if missing:
            names = ", ".join(f"{m.version:04d}_{m.name}" for m in missing)
            return ComponentStatus(
                State.UNAVAILABLE, f"migrations not applied: {names}; run 'vigil db migrate'"
            )
        return ComponentStatus(State.OK)

    def close(self) -> None:
        self.db.close()
