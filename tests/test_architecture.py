"""The house rules of docs/architecture.md that import-linter does not hold: module size, one
definition per shared word, flows built from keyword-only dependencies, job handlers typed."""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

import pytest

from service.pipeline.check import CheckFlow
from service.pipeline.generation import GenerationFlow
from service.pipeline.label_sign import LabelSigner
from service.pipeline.outcome import Outcomes
from service.pipeline.screening import Screener

SERVICE = Path(__file__).resolve().parents[1] / "service"
MAX_LINES = 400
VOCABULARY = ("Reason", "SignalState", "ConsentStatus", "OutputKind", "MediaKind", "Category", "SourceType")
STAGE_DECISIONS = ("Decision", "ReviewDecision", "ConsentOutcome")


def _modules() -> list[Path]:
    return sorted(p for p in SERVICE.rglob("*.py") if "__pycache__" not in p.parts)


def _classes() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for path in _modules():
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.ClassDef):
                found.setdefault(node.name, []).append(str(path.relative_to(SERVICE.parent)))
    return found


def test_no_module_is_over_400_lines() -> None:
    long = {
        str(p.relative_to(SERVICE.parent)): n
        for p in _modules()
        if (n := len(p.read_text().splitlines())) > MAX_LINES
    }
    assert long == {}


def test_each_shared_word_is_defined_once_in_the_vocabulary() -> None:
    classes = _classes()
    where = {name: classes.get(name) for name in VOCABULARY}
    assert where == {name: ["service/vocabulary.py"] for name in VOCABULARY}
    assert all(len(classes[name]) == 1 for name in STAGE_DECISIONS)


@pytest.mark.parametrize("flow", [CheckFlow, GenerationFlow, Screener, Outcomes, LabelSigner])
def test_flows_take_their_dependencies_by_name_only(flow: type) -> None:
    fields = dataclasses.fields(flow)
    assert fields
    assert all(f.kw_only for f in fields)
    with pytest.raises(TypeError):
        flow(*[None] * len(fields))


def test_no_job_handler_or_task_takes_untyped_services() -> None:
    untyped = [
        str(p.relative_to(SERVICE.parent))
        for p in _modules()
        if "services: Any" in (text := p.read_text())
        or "JobContext[Any]" in text
        or "ctx: JobContext)" in text
    ]
    assert untyped == []
