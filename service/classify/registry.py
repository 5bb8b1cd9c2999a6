"""The classifier contract and its registry.

Built-in classifiers register here exactly as a plugin would (entry point group
``vigil.classifiers``, each naming a factory ``(ClassifyConfig) -> Classifier``), and one test
module runs the same contract assertions over every registered implementation.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, ClassVar, Literal

from service.classify.model import Modality, Scores
from service.errors import ConfigError
from service.settings import Settings
from service.vocabulary import SignalState

ENTRY_POINT_GROUP = "vigil.classifiers"
DEFAULT_POLICY_DIR = Path(__file__).resolve().parents[2] / "policies"


@dataclass(frozen=True, slots=True)
class ClassifyConfig:
    """What a classifier factory may read: paths and choices, no live objects."""

    policy_dir: Path
    model_root: Path
    image_model: str | None = None
    image_backend: Literal["torch", "onnx"] = "torch"
    text_encoder_path: Path | None = None
    text_backend: Literal["torch", "onnx", "onnx-int8"] = "onnx-int8"
    text_probes: Path | None = None
    # The low-rank adapter merged into the default encoder; None: the one the policy folder ships
    # (``classify/text_adapter.npz``) where it exists. See adapter.py.
    text_adapter: Path | None = None
    video_fps: float = 1.0
    video_max_frames: int = 64
    models_base_url: str | None = None
    torch_threads: int | None = None
    cpu_bf16: bool = False

    def adapter_file(self) -> Path | None:
        """The adapter to merge into the default encoder, if any (never into a configured one)."""
        if self.text_encoder_path is not None:
            return None
        shipped = self.policy_dir / "classify" / "text_adapter.npz"
        return self.text_adapter or (shipped if shipped.is_file() else None)

    @classmethod
    def from_settings(cls, settings: Settings) -> ClassifyConfig:
        return cls(
            policy_dir=settings.classify_policy_dir or DEFAULT_POLICY_DIR,
            model_root=settings.data_dir / "models",
            image_model=settings.classify_image_model,
            image_backend=settings.classify_image_backend,
            text_encoder_path=settings.classify_text_encoder,
            text_backend=settings.classify_text_backend,
            text_probes=settings.classify_text_probes,
            video_fps=settings.classify_video_fps,
            video_max_frames=settings.classify_video_max_frames,
            models_base_url=settings.classify_models_base_url,
            torch_threads=settings.classify_torch_threads,
            cpu_bf16=settings.classify_cpu_bf16,
        )


class Classifier(abc.ABC):
    """Scores items of one modality for every ``Category``.

    Contract: ``classify`` returns one ``Scores`` per item, in order; an ``ok`` result has every
    category in [0, 1]; a classifier that cannot run answers ``unavailable`` (or
    ``not_configured``) results instead of raising or pretending the content is clean.
    """

    name: ClassVar[str]
    modality: ClassVar[Modality]

    @property
    @abc.abstractmethod
    def version(self) -> str: ...

    @abc.abstractmethod
    def status(self) -> tuple[SignalState, str]:
        """``(state, detail)``; may load the model on first call (then cached)."""

    @abc.abstractmethod
    def classify(self, items: Sequence[Any]) -> list[Scores]: ...

    def preflight(self) -> tuple[SignalState, str]:
        """A readiness answer; a classifier may override it with one that is cheaper than a load."""
        return self.status()

    def _refusals(self, count: int) -> list[Scores] | None:
        """Results for ``count`` items when the classifier cannot run, else ``None``."""
        state, detail = self.status()
        if state is SignalState.OK:
            return None
        if state is SignalState.NOT_CONFIGURED:
            return [Scores.not_configured(self.name, detail) for _ in range(count)]
        return [Scores.unavailable(self.name, self.version, detail) for _ in range(count)]


Factory = Callable[[ClassifyConfig], Classifier]


class Registry:
    def __init__(self) -> None:
        self._factories: dict[str, tuple[Modality, Factory]] = {}
        self._plugins_loaded = False

    def register(self, name: str, modality: Modality, factory: Factory) -> None:
        if name in self._factories:
            raise ConfigError(f"a classifier named {name!r} is already registered")
        self._factories[name] = (modality, factory)

    def load_plugins(self) -> None:
        if self._plugins_loaded:
            return
        self._plugins_loaded = True
        for ep in entry_points(group=ENTRY_POINT_GROUP):
            register = ep.load()
            register(self)

    def names(self, modality: Modality | None = None) -> list[str]:
        return [n for n, (m, _) in self._factories.items() if modality is None or m is modality]

    def create(self, name: str, config: ClassifyConfig) -> Classifier:
        try:
            _, factory = self._factories[name]
        except KeyError:
            known = ", ".join(sorted(self._factories))
            raise ConfigError(f"no classifier named {name!r}; registered: {known}") from None
        return factory(config)


REGISTRY = Registry()
