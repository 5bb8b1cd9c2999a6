"""What a settled flag does to the thing it is about, run in the decision's own transaction.

Other stages register handlers per source kind and outcome at wiring time, e.g. generation:
``effects.register("generation", "approve", release)`` and ``("generation", "reject", withhold)``;
match may add ``("check", "reject", add_to_bank)``. A handler that raises rolls the whole
decision back, so a decision is never recorded without its effect, nor the effect without it.
A handler returns an ``Effect`` saying what it did (or None when it had nothing to do), and the
decision's answer lists them: a reviewer learns that an approved output was *denied* because its
consent was withdrawn while it waited, not merely that "one effect ran".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from uuid import UUID

from service.db import Conn
from service.review.model import Flag, ReviewDecision, SourceKind


@dataclass(frozen=True, slots=True)
class Settled:
    """What a handler is told: the flag (of the original source, for an overturned appeal),
    the outcome now in force, and the decision that put it in force."""

    flag: Flag
    outcome: ReviewDecision
    decision_id: UUID
    reviewer_key_id: UUID
    overturned: bool = False


@dataclass(frozen=True, slots=True)
class Effect:
    """What one handler did: ``target`` is what it acted on (``generation:<id>``,
    ``bank:<name>``, ``webhooks``), ``result`` one word (``released``, ``withheld``, ``denied``,
    ``banked``, ``unbanked``, ``queued``, ``nothing``), ``detail`` a sentence for a person."""

    target: str
    result: str
    detail: str


Handler = Callable[[Conn, Settled], Effect | None]


class Effects:
    def __init__(self) -> None:
        self._handlers: dict[tuple[SourceKind, ReviewDecision], list[Handler]] = {}

    def register(
        self, source_kind: SourceKind | str, outcome: ReviewDecision | str, handler: Handler
    ) -> None:
        outcome = ReviewDecision(outcome)
        if not outcome.verdict:
            raise ValueError("effects run for approve and reject only")
        self._handlers.setdefault((SourceKind(source_kind), outcome), []).append(handler)

    def run(self, conn: Conn, settled: Settled) -> tuple[int, tuple[Effect, ...]]:
        """Call every handler for the flag's source kind and outcome: how many ran, and what
        those that acted did, in the order they ran."""
        handlers = self._handlers.get((SourceKind(settled.flag.source_kind), settled.outcome), [])
        done = [handler(conn, settled) for handler in handlers]
        return len(handlers), tuple(e for e in done if e is not None)
