"""Load ``policies/review.yaml`` into a frozen ``ReviewPolicy``, or fail with file, key and message."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

from service.errors import ConfigError
from service.policy.categories import FlagCategory
from service.review.model import Citation, ReviewCategory, ReviewDecision, ReviewPolicy

DEFAULT_PATH = Path(__file__).resolve().parents[2] / "policies" / "review.yaml"


def _fail(path: Path, key: str, message: str) -> ConfigError:
    return ConfigError(f"{path}: {key}: {message}; fix the review policy file.")


def _number(path: Path, key: str, value: Any, lo: float, hi: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not lo <= value <= hi:
        raise _fail(path, key, f"must be a number from {lo} to {hi}, not {value!r}")
    return float(value)


def parse(data: Any, path: Path) -> ReviewPolicy:
    if not isinstance(data, dict):
        raise _fail(path, "(top)", "must be a mapping")
    unknown = set(data) - {"age_doubling_hours", "categories", "guidance"}
    if unknown:
        raise _fail(path, sorted(unknown)[0], "unknown key")
    doubling = _number(path, "age_doubling_hours", data.get("age_doubling_hours"), 0.1, 24 * 365)
    raw = data.get("categories")
    if not isinstance(raw, dict) or not raw:
        raise _fail(path, "categories", "must be a non-empty mapping")
    if "default" not in raw:
        raise _fail(path, "categories.default", "is required (it covers flags filed under old names)")
    categories: dict[str, ReviewCategory] = {}
    for name, entry in raw.items():
        where = f"categories.{name}"
        if not isinstance(name, str) or not name.replace("_", "").isalnum():
            raise _fail(path, where, "a category name is lower-case letters, digits and '_'")
        if not isinstance(entry, dict) or set(entry) != {"severity", "sla_hours", "double_review"}:
            raise _fail(path, where, "needs exactly severity, sla_hours and double_review")
        severity = entry["severity"]
        if isinstance(severity, bool) or not isinstance(severity, int) or not 1 <= severity <= 5:
            raise _fail(path, f"{where}.severity", f"must be an integer from 1 to 5, not {severity!r}")
        sla = _number(path, f"{where}.sla_hours", entry["sla_hours"], 0.1, 24 * 365)
        rate = _number(path, f"{where}.double_review", entry["double_review"], 0.0, 1.0)
        categories[name] = ReviewCategory(name, severity, timedelta(hours=sla), rate)
    known = {c.value for c in FlagCategory}
    unknown_names = [str(name) for name in raw if name != "default" and name not in known]
    if unknown_names:
        raise _fail(
            path, f"categories.{unknown_names[0]}",
            f"no flow files flags under this name (known: {', '.join(sorted(known))})",
        )  # fmt: skip
    missing = sorted(known - set(raw))
    if missing:
        raise _fail(
            path, f"categories.{missing[0]}",
            "is missing: flags are filed under it; give it a severity, SLA and QA share "
            f"(missing: {', '.join(missing)})",
        )  # fmt: skip
    citations, rationales = _guidance(path, data.get("guidance"), known)
    return ReviewPolicy(timedelta(hours=doubling), MappingProxyType(categories), citations, rationales)


def _guidance(
    path: Path, raw: Any, known: set[str]
) -> tuple[tuple[Citation, ...], MappingProxyType[str, tuple[str, ...]]]:
    if raw is None:
        return (), MappingProxyType({})
    if not isinstance(raw, dict) or set(raw) - {"citations", "rationales"}:
        raise _fail(path, "guidance", "must be a mapping of citations and rationales")
    citations: list[Citation] = []
    for i, entry in enumerate(raw.get("citations") or []):
        where = f"guidance.citations[{i}]"
        if not isinstance(entry, dict) or set(entry) != {"id", "title", "categories"}:
            raise _fail(path, where, "needs exactly id, title and categories")
        cats = entry["categories"]
        if not isinstance(cats, list) or not all(isinstance(c, str) and c in known for c in cats):
            raise _fail(
                path, f"{where}.categories", f"must list flag categories (known: {', '.join(sorted(known))})"
            )
        if not all(isinstance(entry[k], str) and entry[k].strip() for k in ("id", "title")):
            raise _fail(path, where, "id and title must be non-empty text")
        citations.append(Citation(entry["id"], entry["title"], frozenset(cats)))
    rationales: dict[str, tuple[str, ...]] = {}
    for decision, texts in (raw.get("rationales") or {}).items():
        where = f"guidance.rationales.{decision}"
        if decision not in {d.value for d in ReviewDecision}:
            raise _fail(path, where, "is not a decision (approve, reject, escalate, needs_context)")
        if not isinstance(texts, list) or not all(isinstance(t, str) and t.strip() for t in texts):
            raise _fail(path, where, "must be a list of non-empty texts")
        rationales[decision] = tuple(texts)
    return tuple(citations), MappingProxyType(rationales)


def load(path: Path = DEFAULT_PATH) -> ReviewPolicy:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the review policy ({exc.strerror}).") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({exc}).") from exc
    return parse(data, path)
