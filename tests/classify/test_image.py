"""The tiny CLIP through the real store, transformers and zero-shot paths; the ONNX int8 path."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from service.classify.image import ClipClassifier
from service.classify.model import CATEGORIES
from service.classify.registry import ClassifyConfig
from service.vocabulary import SignalState


def test_tiny_clip_scores_every_category_in_unit_range(clip_config: ClassifyConfig) -> None:
    classifier = ClipClassifier(config=clip_config)
    results = classifier.classify([Image.new("RGB", (64, 48), "red"), Image.new("RGB", (20, 90), "blue")])
    assert [r.state for r in results] == [SignalState.OK, SignalState.OK]
    for result in results:
        assert set(result.scores) == set(CATEGORIES)
        assert all(0.0 <= v <= 1.0 for v in result.scores.values())
        assert result.version.startswith("tiny-clip@")
    assert results[0].scores != results[1].scores


def test_onnx_int8_backend_agrees_with_torch(clip_config: ClassifyConfig) -> None:
    torch_scores = ClipClassifier(config=clip_config).classify([Image.new("RGB", (40, 40), "green")])[0]
    onnx_config = ClassifyConfig(
        policy_dir=clip_config.policy_dir,
        model_root=clip_config.model_root,
        image_model="tiny-clip",
        image_backend="onnx",
    )
    onnx = ClipClassifier(config=onnx_config)
    onnx_scores = onnx.classify([Image.new("RGB", (40, 40), "green")])[0]
    assert onnx_scores.state is SignalState.OK
    assert onnx_scores.version.endswith("/onnx")
    assert list(clip_config.model_root.glob("tiny-clip/onnx/*/image_tower.int8-weights.onnx"))
    for category in CATEGORIES:
        assert onnx_scores.scores[category] == pytest.approx(torch_scores.scores[category], abs=0.1)


def test_scores_that_are_not_numbers_make_the_image_model_unavailable(
    clip_config: ClassifyConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Weights that overflow (NaN embeddings) give no verdict: never a crash, never a clean score."""
    classifier = ClipClassifier(config=clip_config)
    picture = Image.new("RGB", (40, 40), "green")
    assert classifier.classify([picture])[0].state is SignalState.OK
    tower = classifier.tower
    assert tower is not None
    width = tower.embed_images([picture]).shape[1]
    broken = lambda images: np.full((len(images), width), np.nan, np.float32)  # noqa: E731
    monkeypatch.setattr(tower, "embed_images", broken)
    result = classifier.classify([picture])[0]
    assert result.state is SignalState.UNAVAILABLE
    assert result.scores == {}
    assert "not numbers" in result.detail
