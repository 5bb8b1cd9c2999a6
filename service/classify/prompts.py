"""Prompt ensembles and calibration parameters for zero-shot image scoring (policy files)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from service.classify.model import CATEGORIES, Contrast
from service.errors import ConfigError
from service.vocabulary import Category


@dataclass(frozen=True, slots=True)
class PromptSet:
    templates: tuple[str, ...]
    categories: Mapping[Category, tuple[str, ...]]
    contrast: Mapping[Contrast, tuple[str, ...]]
    neutral: tuple[str, ...]

    def classes(self) -> list[tuple[str, list[str]]]:
        """``(class name, prompts)`` in scoring order: categories, contrasts, then neutral."""
        out: list[tuple[str, list[str]]] = []
        groups: list[tuple[str, tuple[str, ...]]] = [(c.value, d) for c, d in self.categories.items()]
        groups += [(c.value, d) for c, d in self.contrast.items()]
        groups.append(("neutral", self.neutral))
        for name, descriptions in groups:
            out.append((name, [t.format(d) for d in descriptions for t in self.templates]))
        return out


def _read(path: Path) -> dict[str, Any]:
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from exc
    if not isinstance(doc, dict):
        raise ConfigError(f"{path}: expected a mapping at the top")
    return doc


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v.strip() for v in value):
        raise ConfigError(f"{where}: a non-empty list of strings is required")
    return tuple(value)


def load_prompts(path: Path) -> PromptSet:
    doc = _read(path)
    templates = _strings(doc.get("templates"), f"{path}: templates")
    for i, t in enumerate(templates):
        if t.count("{}") != 1:
            raise ConfigError(f"{path}: templates[{i}]: needs exactly one '{{}}'")
    raw_categories = doc.get("categories") or {}
    raw_contrast = doc.get("contrast") or {}
    categories: dict[Category, tuple[str, ...]] = {}
    for name, prompts in raw_categories.items():
        try:
            categories[Category(name)] = _strings(prompts, f"{path}: categories.{name}")
        except ValueError as exc:
            raise ConfigError(f"{path}: categories.{name}: unknown category") from exc
    missing = [c.value for c in CATEGORIES if c not in categories]
    if missing:
        raise ConfigError(f"{path}: categories: no prompts for {', '.join(missing)}")
    contrast: dict[Contrast, tuple[str, ...]] = {}
    for name, prompts in raw_contrast.items():
        try:
            contrast[Contrast(name)] = _strings(prompts, f"{path}: contrast.{name}")
        except ValueError as exc:
            raise ConfigError(f"{path}: contrast.{name}: unknown contrast class") from exc
    neutral = _strings(doc.get("neutral"), f"{path}: neutral")
    return PromptSet(templates, categories, contrast, neutral)


def load_calibration(path: Path) -> dict[Category, tuple[float, float]]:
    """Platt ``(a, b)`` per category; a category absent from the file keeps the identity."""
    params = dict.fromkeys(CATEGORIES, (-1.0, 0.0))
    if not path.is_file():
        return params
    for name, raw in _read(path).items():
        try:
            params[Category(name)] = (float(raw["a"]), float(raw["b"]))
        except (ValueError, KeyError, TypeError) as exc:
            raise ConfigError(f"{path}: {name}: needs numeric 'a' and 'b' of a known category") from exc
    return params


def save_calibration(path: Path, params: Mapping[Category, tuple[float, float]]) -> None:
    body = {c.value: {"a": round(a, 6), "b": round(b, 6)} for c, (a, b) in params.items()}
    path.write_text(yaml.safe_dump(body, sort_keys=False), encoding="utf-8")
