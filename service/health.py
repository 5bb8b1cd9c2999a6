"""Readiness of the components an instance is configured with.

A component's state is a ``SignalState`` (``vocabulary``): ``ok``, ``not_configured``
(deliberately absent: reported, still ready) or ``unavailable`` (configured but broken: not
ready, and the flows that need it fail closed).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from service.vocabulary import SignalState


@dataclass(frozen=True, slots=True)
class ComponentStatus:
    state: SignalState
    detail: str = ""


Check = Callable[[], ComponentStatus]


class Readiness:
    def __init__(self) -> None:
        self._checks: dict[str, Check] = {}
        self._needs: dict[str, str] = {}

    def register(self, name: str, check: Check, *, needs: str | None = None) -> None:
        """``needs``: a component this one cannot be probed without (checked first; when it is
        down this one is reported down with it, without waiting on it again)."""
        self._checks[name] = check
        if needs is not None:
            self._needs[name] = needs

    def report(self) -> dict[str, ComponentStatus]:
        out: dict[str, ComponentStatus] = {}
        for name, check in self._checks.items():
            needed = self._needs.get(name)
            if needed is not None and needed in out and out[needed].state is SignalState.UNAVAILABLE:
                out[name] = ComponentStatus(SignalState.UNAVAILABLE, f"not probed: the {needed} is down")
                continue
            try:
                out[name] = check()
            except Exception as exc:  # a probe that raises is itself a broken component
                out[name] = ComponentStatus(SignalState.UNAVAILABLE, f"{exc.__class__.__name__}: {exc}")
        return out
