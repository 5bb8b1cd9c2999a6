"""The model store: pull over loopback with progress and SHA-256 pins, refusal of a changed file,
and fail-closed loading (missing, corrupt) reported by /readyz."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from PIL import Image

from service.app import create_app
from service.classify.image import ClipClassifier
from service.classify.modelstore import CatalogueEntry, ModelStore
from service.classify.registry import DEFAULT_POLICY_DIR, ClassifyConfig
from service.composition import open_services
from service.errors import ModelUnavailable
from service.settings import Settings
from service.vocabulary import SignalState
from tests.classify.helpers import serve_directory

REPO = Path(__file__).resolve().parents[2]


def test_pull_reports_progress_and_pins_every_file(tmp_path: Path, tiny_clip_source: Path) -> None:
    seen: dict[str, tuple[int, int | None]] = {}
    store = ModelStore(root=tmp_path / "models")
    with serve_directory(tiny_clip_source) as url:
        stored = store.pull(
            CatalogueEntry(name="tiny-clip", url=url),
            progress=lambda f, done, total: seen.__setitem__(f, (done, total)),
        )
    manifest = json.loads((stored.path / "manifest.json").read_text())
    assert set(manifest["files"]) >= {"config.json", "model.safetensors", "preprocessor_config.json"}
    weights = (tiny_clip_source / "model.safetensors").stat().st_size
    assert seen["model.safetensors"] == (weights, weights)
    assert manifest["files"]["model.safetensors"]["size"] == weights
    assert [m.name for m in store.list()] == ["tiny-clip"]


def test_a_changed_file_upstream_is_refused_and_the_pinned_copy_kept(
    tmp_path: Path, tiny_clip_source: Path
) -> None:
    upstream = tmp_path / "upstream"
    shutil.copytree(tiny_clip_source, upstream)
    store = ModelStore(root=tmp_path / "models")
    entry = CatalogueEntry(name="tiny-clip", url="unused")
    with serve_directory(upstream) as url:
        first = store.pull(entry, base_url=url)
        config = json.loads((upstream / "config.json").read_text())
        config["projection_dim"] = 17
        (upstream / "config.json").write_text(json.dumps(config))
        with pytest.raises(ModelUnavailable, match=r"config\.json downloaded with SHA-256 .* pinned"):
            store.pull(entry, base_url=url)
    assert store.verify("tiny-clip").files == first.files


def test_catalogue_pins_refuse_a_mismatch_on_first_pull(tmp_path: Path, tiny_clip_source: Path) -> None:
    entry = CatalogueEntry(name="tiny-clip", url="unused", sha256={"config.json": "0" * 64})
    with serve_directory(tiny_clip_source) as url, pytest.raises(ModelUnavailable, match="refusing"):
        ModelStore(root=tmp_path / "models").pull(entry, base_url=url)
    assert not (tmp_path / "models" / "tiny-clip" / "config.json").exists()


def _config(model_root: Path, name: str = "tiny-clip") -> ClassifyConfig:
    return ClassifyConfig(policy_dir=DEFAULT_POLICY_DIR, model_root=model_root, image_model=name)


def test_a_missing_model_is_unavailable_never_clean(tmp_path: Path) -> None:
    result = ClipClassifier(config=_config(tmp_path)).classify([Image.new("RGB", (8, 8))])[0]
    assert result.state is SignalState.UNAVAILABLE
    assert result.scores == {}
    assert "not in the model store" in result.detail


def test_corrupt_weights_fail_the_sha256_check(model_root: Path) -> None:
    weights = model_root / "tiny-clip" / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF
    weights.write_bytes(bytes(data))
    result = ClipClassifier(config=_config(model_root)).classify([Image.new("RGB", (8, 8))])[0]
    assert result.state is SignalState.UNAVAILABLE
    assert "model.safetensors has SHA-256" in result.detail


def test_no_image_model_is_not_configured(tmp_path: Path) -> None:
    config = ClassifyConfig(policy_dir=DEFAULT_POLICY_DIR, model_root=tmp_path)
    result = ClipClassifier(config=config).classify([Image.new("RGB", (8, 8))])[0]
    assert result.state is SignalState.NOT_CONFIGURED
    assert result.scores == {}


async def _readyz(settings: Settings) -> httpx.Response:
    services = open_services(settings)
    try:
        transport = httpx.ASGITransport(app=create_app(settings, services=services))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            return await http.get("/readyz")
    finally:
        services.close()


async def test_readyz_reports_not_configured_with_200(settings: Settings) -> None:
    response = await _readyz(settings)
    assert response.status_code == 200
    assert response.json()["components"]["classify_image"]["state"] == "not_configured"
    text = response.json()["components"]["classify_text"]
    assert text["state"] == "ok"
    # the encoder an operator runs, and the pinned file it comes from
    assert "multilingual-e5-small" in text["detail"]
    assert "sha256:1571fc982750" in text["detail"]


async def test_readyz_is_503_when_the_configured_model_is_missing(settings: Settings) -> None:
    response = await _readyz(settings.model_copy(update={"classify_image_model": "clip-vit-base-patch32"}))
    assert response.status_code == 503
    component = response.json()["components"]["classify_image"]
    assert component["state"] == "unavailable"
    assert "not in the model store" in component["detail"]


async def test_readyz_is_ok_with_a_pulled_model(settings: Settings, tiny_clip_source: Path) -> None:
    from tests.classify.helpers import install_tiny_clip

    install_tiny_clip(settings.data_dir / "models", tiny_clip_source)
    response = await _readyz(settings.model_copy(update={"classify_image_model": "tiny-clip"}))
    assert response.status_code == 200
    assert response.json()["components"]["classify_image"]["state"] == "ok"


def test_cli_models_pull_and_list(tmp_path: Path, tiny_clip_source: Path) -> None:
    env = {"VIGIL_DATA_DIR": str(tmp_path / "data"), "PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1"}
    with serve_directory(tiny_clip_source) as url:
        pulled = subprocess.run(
            [sys.executable, "-m", "service", "models", "pull", "tiny-clip", "--base-url", url],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert pulled.returncode == 0, pulled.stderr
    assert "model.safetensors" in pulled.stderr  # the progress bar's label
    assert "OK: tiny-clip pinned in" in pulled.stdout
    listed = subprocess.run(
        [sys.executable, "-m", "service", "models", "list", "--json"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert json.loads(listed.stdout)["models"][0]["name"] == "tiny-clip"
    unknown = subprocess.run(
        [sys.executable, "-m", "service", "models", "pull", "no-such-model"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert unknown.returncode == 4
    assert "FAIL: Unknown model 'no-such-model'" in unknown.stderr


def test_a_model_pulled_later_is_picked_up_after_the_retry_delay(
    tmp_path: Path, tiny_clip_source: Path
) -> None:
    from tests.classify.helpers import install_tiny_clip

    patient = ClipClassifier(config=_config(tmp_path / "models"))
    eager = ClipClassifier(config=_config(tmp_path / "models"), retry_after_s=0.0)
    assert patient.status()[0] is eager.status()[0] is SignalState.UNAVAILABLE
    install_tiny_clip(tmp_path / "models", tiny_clip_source)
    assert patient.status()[0] is SignalState.UNAVAILABLE  # not retried within the delay
    assert eager.status()[0] is SignalState.OK
