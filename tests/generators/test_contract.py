"""The same assertions over every registered generator backend: built-ins and an entry-point plugin."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from service.errors import ConfigError, GeneratorFailed, NotFound
from service.generate.model import GenerationRequest, PhotoRef
from service.generate.registry import (
    ENTRY_POINT_GROUP,
    GeneratorRegistry,
    backend_from_settings,
    default_registry,
)
from service.settings import Settings
from service.vocabulary import OutputKind, SourceType
from tests.generators.conftest import CAPTION, PROMPT

HERE = Path(__file__).parent
CONTRACT_BACKENDS = ["compositor", "http", "solid"]


def install_plugin(site: Path, monkeypatch: pytest.MonkeyPatch, entries: str) -> None:
    """Install ``vigil_test_plugin`` as a distribution with ``vigil.generators`` entry points."""
    info = site / "vigil_test_plugin-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: vigil-test-plugin\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[{ENTRY_POINT_GROUP}]\n{entries}")
    (site / "vigil_test_plugin.py").write_text((HERE / "vigil_test_plugin.py").read_text())
    monkeypatch.syspath_prepend(str(site))


@pytest.fixture
def plugin_installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    install_plugin(tmp_path / "site", monkeypatch, "solid = vigil_test_plugin:SolidBackend\n")


def test_a_broken_or_shadowing_plugin_does_not_stop_the_others(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, gen_settings: Settings
) -> None:
    install_plugin(
        tmp_path / "site",
        monkeypatch,
        "compositor = vigil_test_plugin:SolidBackend\nbroken = vigil_no_such_module:Backend\n",
    )
    registry = default_registry()
    assert sorted(registry.names) == ["broken", "compositor", "http"]
    assert registry.create("compositor", gen_settings).name == "compositor"  # the built-in stays
    with pytest.raises(ConfigError, match=r"'broken'.*cannot be loaded"):
        registry.create("broken", gen_settings)


def test_every_registered_backend_is_under_contract(plugin_installed: None) -> None:
    assert sorted(default_registry().names) == CONTRACT_BACKENDS


@pytest.mark.parametrize("name", CONTRACT_BACKENDS)
def test_backend_contract(
    name: str, plugin_installed: None, gen_settings: Settings, photos: tuple[PhotoRef, ...], tmp_path: Path
) -> None:
    backend = default_registry().create(name, gen_settings)
    assert backend.name == name
    assert backend.version
    assert isinstance(backend.digital_source_type, SourceType)
    assert OutputKind.IMAGE in backend.outputs
    out_dir = tmp_path / "quarantine"
    request = GenerationRequest("gen-0001", OutputKind.IMAGE, photos, PROMPT, caption=CAPTION)

    made = backend.generate(request, out_dir=out_dir)
    again = backend.generate(request, out_dir=out_dir)  # a retried job replaces, never adds

    assert made.backend == name
    assert made.backend_version == backend.version
    assert made.path.parent == out_dir
    assert made.path.stem == "gen-0001"
    assert made.media_type.startswith("image/")
    assert again.path == made.path
    assert sorted(p.name for p in out_dir.iterdir()) == [made.path.name]  # no .part files left
    with Image.open(made.path) as image:
        image.load()
        assert image.width > 0
        assert not image.getexif()
        assert "xmp" not in image.info
    data = made.path.read_bytes()
    assert b"Ivan" not in data
    assert b"Petrov" not in data


@pytest.mark.parametrize("name", CONTRACT_BACKENDS)
def test_backend_refuses_outputs_it_cannot_make(
    name: str, plugin_installed: None, gen_settings: Settings, photos: tuple[PhotoRef, ...], tmp_path: Path
) -> None:
    backend = default_registry().create(name, gen_settings)
    for kind in set(OutputKind) - backend.outputs:
        with pytest.raises(GeneratorFailed):
            backend.generate(GenerationRequest("gen-0002", kind, photos, PROMPT), out_dir=tmp_path)


def test_backend_from_settings_picks_the_named_one(gen_settings: Settings) -> None:
    assert backend_from_settings(gen_settings).name == "compositor"
    with pytest.raises(NotFound, match="No generator backend named 'nope'"):
        backend_from_settings(gen_settings.model_copy(update={"generator_backend": "nope"}))


def test_http_backend_needs_a_url(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, generator_backend="http", generator_url=None)
    with pytest.raises(ConfigError, match="VIGIL_GENERATOR_URL"):
        backend_from_settings(settings)


def test_registry_refuses_two_backends_with_one_name() -> None:
    registry = GeneratorRegistry()
    registry.register("x", lambda settings: None)  # type: ignore[arg-type,return-value]
    with pytest.raises(ConfigError, match="Two generator backends"):
        registry.register("x", lambda settings: None)  # type: ignore[arg-type,return-value]


def test_request_is_validated(photos: tuple[PhotoRef, ...]) -> None:
    from service.errors import MalformedRequest

    with pytest.raises(MalformedRequest):
        GenerationRequest("../etc/passwd", OutputKind.IMAGE, photos, PROMPT)
    with pytest.raises(MalformedRequest):
        GenerationRequest("gen-1", OutputKind.IMAGE, (), PROMPT)
    with pytest.raises(MalformedRequest):
        GenerationRequest("gen-1", OutputKind.VIDEO, photos, PROMPT, video_seconds=30)
    with pytest.raises(MalformedRequest):
        PhotoRef("not-a-hash", photos[0].path)
