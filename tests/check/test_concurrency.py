"""``VIGIL_CHECK_CONCURRENCY``: at most that many checks run at once in one process (unset: four
per core); one that waits longer than ``VIGIL_CHECK_WAIT_S`` is shed (tests/api/test_throttle_and_shed.py)."""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from service.auth import store as auth_store
from service.composition import check_flow, open_services
from service.media.intake import inspect
from service.pipeline.check import CheckRequest
from service.services import Services
from service.settings import Settings
from tests.check.conftest import photo


@pytest.fixture
def gated(settings: Settings) -> Iterator[Services]:
    opened = open_services(settings.model_copy(update={"check_concurrency": 1}))
    try:
        yield opened
    finally:
        opened.close()


def _tenant(services: Services) -> uuid.UUID:
    with services.db.system() as conn:
        return auth_store.ensure_tenant(conn, "acme").id


def test_a_check_waits_for_a_free_slot(gated: Services, tmp_path: Path) -> None:
    media = inspect(photo(tmp_path / "a.jpg", 1), gated.limits)
    tenant = _tenant(gated)
    done = threading.Event()

    def run() -> None:
        check_flow(gated).check(CheckRequest(tenant_id=tenant, media=media))
        done.set()

    with gated.check_slots:  # the one slot is taken, as by a check in flight
        worker = threading.Thread(target=run)
        worker.start()
        assert not done.wait(1.0)
    assert done.wait(30)  # and it runs as soon as the slot is free
    worker.join()


def test_unset_means_four_per_core(services: Services, tmp_path: Path) -> None:
    media = inspect(photo(tmp_path / "a.jpg", 1), services.limits)
    assert services.check_slots.size == 4 * len(os.sched_getaffinity(0))  # type: ignore[attr-defined]
    with services.check_slots:  # one taken: the next check still starts at once
        outcome = check_flow(services).check(CheckRequest(tenant_id=_tenant(services), media=media))
    assert outcome.verdict.decision.value in ("allow", "label", "review")
