"""Fixtures of generation tests: an instance that can sign, studio and reviewer keys, consent
on file through the API, photos made on the spot, and a worker that runs the queued jobs."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from service.audit.log import integrate_all
from service.composition import generation_registry
from service.jobs import Backoff, Worker
from service.provenance.certs import init_signing
from service.services import Services
from service.settings import Settings
from tests.generation.generator_server import GeneratorServer, serving

REPO_POLICIES = Path(__file__).resolve().parents[2] / "policies"


def screened_policies(root: Path, *, unheard_speech: str = "review") -> Path:
    """A copy of the shipped policies in which generation outputs no image model screened are
    decided on the remaining signals (the operator's choice when no image model is installed).
    ``unheard_speech="ignore"`` also releases voice tracks no speech model heard (the shipped
    policy holds them for a person)."""
    target = root / "policies"
    shutil.copytree(REPO_POLICIES, target)
    default = target / "default.yaml"
    text = default.read_text()
    for signal, action in (("image_model", "ignore"), ("speech", unheard_speech)):
        start = text.index(f"  {signal}:\n")
        needle = "when_not_configured: {generation: review,"
        at = text.index(needle, start)
        text = text[:at] + needle.replace("review", action) + text[at + len(needle) :]
    default.write_text(text)
    return target


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    """The shared settings, with a local CA and signing certificate (``vigil keys init-signing``)."""
    made = Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        log_json=False,
        db_pool_min=1,
        jobs_backoff_base_s=0.01,
        jobs_backoff_max_s=0.05,
    )
    init_signing(made.keys_dir, "Acme Memorials")
    return made


def run_jobs(services: Services, *, timeout: float = 60.0) -> int:
    """Run queued jobs (retries included) until the queue has nothing left to do."""
    worker = Worker(
        db=services.db,
        registry=generation_registry(),
        services=services,
        lease_s=30.0,
        poll_s=0.01,
        backoff=Backoff(base_s=0.01, max_s=0.05),
    )
    ran = 0
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            done = worker.run_pending()
            ran += done
            with services.db.system() as conn:
                row = conn.execute(
                    "SELECT count(*) FROM jobs WHERE state IN ('queued', 'running')"
                ).fetchone()
            if row is not None and row[0] == 0:
                return ran
            time.sleep(0.05)
    finally:
        worker.close()
    raise AssertionError("jobs still pending after the timeout")


@pytest.fixture
def generator() -> Iterator[GeneratorServer]:
    """A generator on loopback for the ``http`` backend (see ``generator_server.py``)."""
    with serving() as server:
        yield server


def http_settings(tmp_path: Path, database_url: str, generator: GeneratorServer) -> Settings:
    """An instance whose generator is the loopback server, with short timeouts and two job runs."""
    made = Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        log_json=False,
        db_pool_min=1,
        policies_dir=screened_policies(tmp_path),
        generator_backend="http",
        generator_url=generator.url,
        generator_timeout_s=0.5,
        generator_retries=1,
        generator_backoff_s=0.01,
        generation_max_attempts=2,
    )
    init_signing(made.keys_dir, "Acme Memorials")
    return made


def audit_events(services: Services, event: str, subject: str) -> int:
    """How many ``event`` entries of the transparency log mention ``subject``."""
    with services.db.system() as conn:
        integrate_all(conn)  # the queued log events are in the tree
        row = conn.execute(
            "SELECT count(*) FROM audit_entries "
            "WHERE event = %s AND position(%s in convert_from(entry, 'UTF8')) > 0",
            (event, subject),
        ).fetchone()
    assert row is not None
    return int(row[0])
