"""Generator backends by name: the built-ins and the ``vigil.generators`` entry points.

Plugins: a distribution declares ``[project.entry-points."vigil.generators"]
name = "package.module:factory"``, where ``factory(settings)`` returns a backend (a backend
class with a ``from_settings`` classmethod, or any callable). The built-ins register through
the same ``GeneratorRegistry.register`` call as the entry points. This module sits above the
backends (it imports them); they import only the contract in ``backend.py``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from importlib.metadata import EntryPoint, entry_points
from typing import cast

from service.errors import ConfigError, NotFound
from service.generate.backend import GeneratorBackend
from service.generate.compositor import CompositorBackend
from service.generate.http import HttpBackend
from service.settings import Settings

ENTRY_POINT_GROUP = "vigil.generators"

log = logging.getLogger(__name__)


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
