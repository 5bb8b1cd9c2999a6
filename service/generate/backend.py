"""The generator backend contract, its registry, and the entry point group for plugins.

A backend declares ``name``, ``version``, ``digital_source_type`` and the ``outputs`` it can
make, and implements ``generate(request, out_dir=...)``. It writes into the quarantine
directory and returns ``GeneratedMedia`` built by ``accept_output``, which runs the file
through the media intake: whatever a backend made, nothing that intake would refuse leaves it.

Plugins: a distribution declares ``[project.entry-points."vigil.generators"]
name = "package.module:factory"``, where ``factory(settings)`` returns a backend (a backend
class with a ``from_settings`` classmethod, or any callable). The built-ins register through
the same ``GeneratorRegistry.register`` call as the entry points.
"""

from __future__ import annotations

import abc
import logging
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from typing import ClassVar, cast

from service.errors import ConfigError, GeneratorFailed, NotFound, VigilError
from service.generate.model import GeneratedMedia, GenerationRequest, OutputKind, SourceType
from service.media import intake
from service.media.model import MediaLimits
from service.settings import Settings

ENTRY_POINT_GROUP = "vigil.generators"

log = logging.getLogger(__name__)


class GeneratorBackend(abc.ABC):
    """A way to make media from a GenerationRequest."""

    name: ClassVar[str]
    version: ClassVar[str]
    digital_source_type: ClassVar[SourceType]
    outputs: ClassVar[frozenset[OutputKind]] = frozenset(OutputKind)

    def __init__(self, *, limits: MediaLimits) -> None:
        self.limits = limits

    @abc.abstractmethod
    def generate(self, request: GenerationRequest, *, out_dir: Path) -> GeneratedMedia:
        """Make the output into ``out_dir``; raise GeneratorFailed (or an InputError) when it cannot."""

    def check_request(self, request: GenerationRequest) -> None:
        if request.output not in self.outputs:
            raise GeneratorFailed(f"The {self.name} backend cannot make {request.output.value} outputs.")

    @contextmanager
    def spool(self, request: GenerationRequest, out_dir: Path) -> Iterator[Path]:
        """A temporary file in ``out_dir`` for the output, removed unless it was accepted. Parts an
        earlier attempt of the same request left behind (a worker killed mid-encode) go first:
        the retry owns the request now."""
        out_dir.mkdir(parents=True, exist_ok=True)
        for stale in out_dir.glob(f".{request.request_id}.*.part"):
            stale.unlink(missing_ok=True)
        fd, name = tempfile.mkstemp(dir=out_dir, prefix=f".{request.request_id}.", suffix=".part")
        os.close(fd)
        path = Path(name)
        try:
            yield path
        finally:
            path.unlink(missing_ok=True)

    def accept_output(
        self,
        produced: Path,
        request: GenerationRequest,
        *,
        out_dir: Path,
        source_type: SourceType | None = None,
    ) -> GeneratedMedia:
        """Check ``produced`` with the media intake and move it to ``<out_dir>/<request_id>.<ext>``.

        The rename is atomic and replaces an earlier attempt's output, so a retried job leaves
        one file. Intake refusals become GeneratorFailed with the intake's reason.
        """
        try:
            info = intake.inspect(produced, self.limits)
            if info.kind is not request.output.media_kind:
                raise GeneratorFailed(
                    f"The {self.name} backend returned {info.type.name} for a {request.output.value} request."
                )
            if info.kind.value == "image":
                intake.decode_image(info)  # a header can lie; the pixels must decode
        except GeneratorFailed:
            raise
        except VigilError as exc:
            raise GeneratorFailed(
                f"The {self.name} backend returned media the intake refuses ({exc.code}): {exc.message}",
                details={"intake_code": exc.code},
            ) from exc
        final = out_dir / f"{request.request_id}.{info.type.extension}"
        os.replace(produced, final)
        accepted = intake.inspect(final, self.limits, size=info.size, sha256=info.sha256)
        return GeneratedMedia(
            info=accepted,
            backend=self.name,
            backend_version=self.version,
            digital_source_type=source_type or self.digital_source_type,
        )


BackendFactory = Callable[[Settings], GeneratorBackend]


class GeneratorRegistry:
    """Backend factories by name."""

    def __init__(self) -> None:
        self._factories: dict[str, BackendFactory] = {}

    def register(self, name: str, factory: BackendFactory) -> None:
        if name in self._factories:
            raise ConfigError(f"Two generator backends are named {name!r}; rename one.")
        self._factories[name] = factory

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(sorted(self._factories))

    def create(self, name: str, settings: Settings) -> GeneratorBackend:
        try:
            factory = self._factories[name]
        except KeyError:
            raise NotFound(
                f"No generator backend named {name!r}; installed: {', '.join(self.names)}."
            ) from None
        backend = factory(settings)
        if not isinstance(backend, GeneratorBackend):
            raise ConfigError(f"The generator factory {name!r} did not return a GeneratorBackend.")
        return backend


def _as_factory(obj: object, name: str) -> BackendFactory:
    if isinstance(obj, type) and issubclass(obj, GeneratorBackend):
        from_settings = getattr(obj, "from_settings", None)
        if not callable(from_settings):
            raise ConfigError(f"Generator backend {name!r} has no from_settings(settings) classmethod.")
        return cast("BackendFactory", from_settings)
    if callable(obj):
        return cast("BackendFactory", obj)
    raise ConfigError(f"The entry point {name!r} in {ENTRY_POINT_GROUP!r} is not a backend factory.")


def register_builtins(registry: GeneratorRegistry) -> None:
    from service.generate.compositor import CompositorBackend
    from service.generate.http import HttpBackend

    registry.register(CompositorBackend.name, CompositorBackend.from_settings)
    registry.register(HttpBackend.name, HttpBackend.from_settings)


def register_entry_points(registry: GeneratorRegistry) -> None:
    """Register every ``vigil.generators`` entry point; each is imported only when it is chosen.

    So a broken plugin that nobody selected cannot stop Vigil from starting, and a plugin that
    takes a built-in's name is skipped (with a warning) instead of replacing it.
    """
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name in registry.names:
            log.warning("generator plugin %r (%s) ignored: the name is taken", ep.name, ep.value)
            continue
        registry.register(ep.name, _lazy(ep))


def _lazy(ep: EntryPoint) -> BackendFactory:
    def factory(settings: Settings) -> GeneratorBackend:
        try:
            loaded = ep.load()
        except Exception as exc:
            raise ConfigError(
                f"The generator plugin {ep.name!r} ({ep.value}) cannot be loaded: {exc}"
            ) from exc
        return _as_factory(loaded, ep.name)(settings)

    return factory


def default_registry() -> GeneratorRegistry:
    """The built-in backends and those installed under the ``vigil.generators`` entry points."""
    registry = GeneratorRegistry()
    register_builtins(registry)
    register_entry_points(registry)
    return registry


def backend_from_settings(settings: Settings, registry: GeneratorRegistry | None = None) -> GeneratorBackend:
    """The backend the ``generator_backend`` setting names."""
    return (registry or default_registry()).create(settings.generator_backend, settings)
