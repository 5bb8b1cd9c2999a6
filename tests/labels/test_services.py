"""The instance loads the market profiles once and reports them in readiness (fail closed)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from service.composition import open_services
from service.errors import Unavailable, UnknownProfile
from service.services import Services
from service.settings import Settings
from service.vocabulary import SignalState
from tests.labels.helpers import MARKETS


def test_profiles_are_loaded_and_ready(services: Services) -> None:
    status = services.readiness.report()["labels"]
    assert status.state is SignalState.OK
    assert status.detail == "cn, default, eu, us-ca"
    assert services.market_profile("us-ca").name == "us-ca"
    with pytest.raises(UnknownProfile):
        services.market_profile("EU")  # names are lower case


def test_a_broken_profile_makes_labels_unavailable(settings: Settings, tmp_path: Path) -> None:
    broken = tmp_path / "markets"
    shutil.copytree(MARKETS, broken)
    text = (broken / "eu.yaml").read_text(encoding="utf-8")
    (broken / "eu.yaml").write_text(text.replace("  label_seconds: 2.0", ""), encoding="utf-8")
    opened = open_services(settings.model_copy(update={"labels_profiles_dir": broken}))
    try:
        status = opened.readiness.report()["labels"]
        assert status.state is SignalState.UNAVAILABLE
        assert status.detail.startswith("eu.yaml: video.label_seconds: missing")
        with pytest.raises(Unavailable):
            opened.market_profile("eu")
    finally:
        opened.close()
