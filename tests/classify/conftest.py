from __future__ import annotations

from pathlib import Path

import pytest

from service.classify.registry import DEFAULT_POLICY_DIR, ClassifyConfig
from tests.classify.helpers import build_tiny_clip, install_tiny_clip


@pytest.fixture(scope="session")
def tiny_clip_source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_clip(tmp_path_factory.mktemp("tiny-clip-src"))


@pytest.fixture
def model_root(tmp_path: Path, tiny_clip_source: Path) -> Path:
    root = tmp_path / "data" / "models"
    install_tiny_clip(root, tiny_clip_source)
    return root


@pytest.fixture
def clip_config(model_root: Path) -> ClassifyConfig:
    return ClassifyConfig(policy_dir=DEFAULT_POLICY_DIR, model_root=model_root, image_model="tiny-clip")
