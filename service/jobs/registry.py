"""Job kinds and periodic tasks: a registry the worker reads.

A handler module exposes ``register_handlers(registry)``; the built-in kinds (``builtin.py``)
are registered the same way as the modules named in the ``job_modules`` setting, which is also
how a separately started ``vigil worker`` learns kinds defined outside this package.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Generic

from service.errors import ConfigError, NotFound
from service.jobs.context import JobContext
from service.jobs.model import DeadHook, H, Job, Periodic, PeriodicTask

Handler = Callable[[Job, JobContext[H]], None]
"""A job handler. It must be safe to run again for the same job (see ``service/jobs/__init__``)."""


@dataclass(frozen=True, slots=True)
class HandlerSpec(Generic[H]):
    kind: str
    handler: Handler[H]
    max_attempts: int = 5
    on_dead: DeadHook[H] | None = None


_KIND = re.compile(r"^[a-z][a-z0-9_.-]{0,62}$")


class HandlerRegistry(Generic[H]):
    """Handlers by job kind, and periodic tasks by name. Names are unique. ``H`` is the type of the
    services the worker hands them (``HandlerRegistry[Services]`` in a Vigil process)."""

    def __init__(self) -> None:
        self._handlers: dict[str, HandlerSpec[H]] = {}
        self._periodic: dict[str, Periodic[H]] = {}

    def register(
        self, kind: str, handler: Handler[H], *, max_attempts: int = 5, on_dead: DeadHook[H] | None = None
    ) -> None:
        if not _KIND.match(kind):
            raise ConfigError(f"Job kind {kind!r} is not a lower-case name like 'generation.run'.")
        if kind in self._handlers:
            raise ConfigError(f"Two handlers for job kind {kind!r}; each kind has one.")
        if max_attempts < 1:
            raise ConfigError(f"Job kind {kind!r}: max_attempts must be at least 1.")
        self._handlers[kind] = HandlerSpec(
            kind=kind, handler=handler, max_attempts=max_attempts, on_dead=on_dead
        )

    def every(self, name: str, seconds: float, task: PeriodicTask[H]) -> None:
        """Run ``task(conn, services)`` about every ``seconds``, once per period across all workers."""
        if not _KIND.match(name):
            raise ConfigError(f"Periodic task name {name!r} is not a lower-case name.")
        if name in self._periodic:
            raise ConfigError(f"Two periodic tasks named {name!r}.")
        if seconds <= 0:
            raise ConfigError(f"Periodic task {name!r}: the period must be positive.")
        self._periodic[name] = Periodic(name=name, every_s=seconds, task=task)

    def spec(self, kind: str) -> HandlerSpec[H]:
        try:
            return self._handlers[kind]
        except KeyError:
            raise NotFound(f"No handler for job kind {kind!r} in this worker.") from None

    def max_attempts(self, kind: str, default: int = 5) -> int:
        found = self._handlers.get(kind)
        return default if found is None else found.max_attempts

    def on_dead(self, kind: str) -> DeadHook[H] | None:
        found = self._handlers.get(kind)
        return None if found is None else found.on_dead

    @property
    def attempt_caps(self) -> dict[str, int]:
        return {kind: spec.max_attempts for kind, spec in self._handlers.items()}

    @property
    def kinds(self) -> tuple[str, ...]:
        return tuple(sorted(self._handlers))

    @property
    def periodic(self) -> tuple[Periodic[H], ...]:
        return tuple(self._periodic[name] for name in sorted(self._periodic))


def load_modules(registry: HandlerRegistry[H], modules: Iterable[str]) -> None:
    """Import each module and call its ``register_handlers(registry)``."""
    for name in modules:
        try:
            module = importlib.import_module(name)
        except ImportError as exc:
            raise ConfigError(f"Job handler module {name!r} cannot be imported: {exc}.") from exc
        hook = getattr(module, "register_handlers", None)
        if not callable(hook):
            raise ConfigError(f"Job handler module {name!r} has no register_handlers(registry) function.")
        hook(registry)


def build_registry(
    modules: Sequence[str] = (), registry: HandlerRegistry[H] | None = None
) -> HandlerRegistry[H]:
    """The built-in kinds plus those of ``modules`` (the ``job_modules`` setting), added to
    ``registry`` (a new one by default)."""
    registry = HandlerRegistry() if registry is None else registry
    load_modules(registry, ("service.jobs.builtin", *modules))
    return registry
