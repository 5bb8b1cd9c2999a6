"""The same assertions over every registered classifier (built-ins register like plugins)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from service.classify.builtins import ensure_registered
from service.classify.model import CATEGORIES, Modality
from service.classify.registry import REGISTRY, Classifier, ClassifyConfig, Registry
from service.errors import ConfigError
from service.vocabulary import SignalState

ensure_registered(REGISTRY)
NAMES = REGISTRY.names()


def inputs(modality: Modality) -> list[Any]:
    if modality is Modality.TEXT:
        return ["Glory to our invincible army!", "We planted roses on grandma's birthday.", ""]
    return [Image.new("RGB", (48, 32), "red"), Image.new("RGB", (8, 100), "white"), Image.new("L", (40, 40))]


def broken(config: ClassifyConfig, tmp_path: Path) -> ClassifyConfig:
    """The same classifier pointed at files that are not there."""
    return ClassifyConfig(
        policy_dir=config.policy_dir,
        model_root=tmp_path / "empty",
        image_model="absent-model",
        text_probes=tmp_path / "absent-probes.json",
    )


def test_builtins_are_registered() -> None:
    assert set(NAMES) >= {"text-probe", "clip-zero-shot"}
    assert REGISTRY.names(Modality.TEXT) == ["text-probe"]


@pytest.mark.parametrize("name", NAMES)
def test_one_ok_result_per_item_with_every_category_in_unit_range(
    name: str, clip_config: ClassifyConfig
) -> None:
    classifier: Classifier = REGISTRY.create(name, clip_config)
    assert classifier.name == name
    items = inputs(classifier.modality)
    assert classifier.status()[0] is SignalState.OK
    results = classifier.classify(items)
    assert len(results) == len(items)
    for result in results:
        assert result.state is SignalState.OK
        assert result.classifier == name
        assert result.version
        assert set(result.scores) == set(CATEGORIES)
        assert all(0.0 <= v <= 1.0 for v in result.scores.values())
        with pytest.raises(TypeError):
            bool(result)
    assert classifier.classify([]) == []


@pytest.mark.parametrize("name", NAMES)
def test_a_classifier_that_cannot_run_answers_unavailable(
    name: str, clip_config: ClassifyConfig, tmp_path: Path
) -> None:
    classifier = REGISTRY.create(name, broken(clip_config, tmp_path))
    state, detail = classifier.status()
    assert state is SignalState.UNAVAILABLE
    assert detail
    results = classifier.classify(inputs(classifier.modality))
    assert {r.state for r in results} == {SignalState.UNAVAILABLE}
    assert all(r.scores == {} for r in results)


def test_a_name_registers_once_and_unknown_names_are_refused(clip_config: ClassifyConfig) -> None:
    registry = Registry()
    ensure_registered(registry)
    with pytest.raises(ConfigError, match="already registered"):
        registry.register("text-probe", Modality.TEXT, lambda c: REGISTRY.create("text-probe", c))
    with pytest.raises(ConfigError, match="no classifier named 'nope'"):
        registry.create("nope", clip_config)
