"""Load ``policies/review.yaml`` into a frozen ``ReviewPolicy``, or fail with file, key and message."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

from service.errors import ConfigError
from service.review.model import CategoryPolicy, ReviewPolicy

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
    unknown = set(data) - {"age_doubling_hours", "categories"}
    if unknown:
        raise _fail(path, sorted(unknown)[0], "unknown key")
    doubling = _number(path, "age_doubling_hours", data.get("age_doubling_hours"), 0.1, 24 * 365)
    raw = data.get("categories")
    if not isinstance(raw, dict) or not raw:
        raise _fail(path, "categories", "must be a non-empty mapping")
    if "default" not in raw:
        raise _fail(path, "categories.default", "is required (it covers categories not listed)")
    categories: dict[str, CategoryPolicy] = {}
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
        categories[name] = CategoryPolicy(name, severity, timedelta(hours=sla), rate)
    return ReviewPolicy(timedelta(hours=doubling), MappingProxyType(categories))


def load(path: Path = DEFAULT_PATH) -> ReviewPolicy:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the review policy ({exc.strerror}).") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({exc}).") from exc
    return parse(data, path)
