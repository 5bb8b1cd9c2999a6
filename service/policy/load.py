"""Policy files parsed into frozen objects, or refused with file, key path and problem.

``policies/default.yaml`` is the general policy; ``policies/overlays/<market>.yaml`` files override
parts of it for one market (specific beats general). The policy version is a hash of the
normalised set (parsed data in RFC 8785 form), so comments and key order do not change it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import rfc8785
import yaml

from service.errors import ConfigError
from service.policy import dsa
from service.policy.categories import CONTENT
from service.policy.model import Decision, Flow

CATEGORIES = tuple(c.value for c in CONTENT)  # the screening taxonomy (policy/categories.py)
SIGNALS = (
    "image_model",
    "text_model",
    "lexicon",
    "ocr",
    "symbols",
    "speech",
    "hash_banks",
    "provenance",
    "consent",
)
SCORED_SIGNALS = ("image_model", "text_model", "ocr")  # the ones whose scores a review_at reads
RULES = ("provenance_ai_generated", "provenance_invalid", "consent_revoked", "block_bank", "lexicon_hit")
# Rules a policy may leave out (older policy files): what they are when it does.
OPTIONAL_RULES = {"symbol_hit": Decision.REVIEW}
DECISIONS = ("allow", "label", "review", "block")


DEFAULT_LABEL_GROUND = "Disclosure of AI-generated content: shown with a label saying it was made with AI"
DEFAULT_LABEL_EXPLANATION = (
    "The content is AI-generated (its C2PA provenance says so, or it matches a Vigil output by "
    "fingerprint). It stays available and is labelled as AI-generated; nothing else was found against it."
)


class PolicyError(ConfigError):
    code = "policy_error"
    hint = "Fix the file and run 'vigil policy lint'."

    def __init__(self, file: str, key: str, problem: str) -> None:
        super().__init__(f"{file}: {key or '<top>'}: {problem}", details={"file": file, "key": key})
        self.file, self.key, self.problem = file, key, problem


@dataclass(frozen=True, slots=True)
class CategoryPolicy:
    name: str
    review_at: float
    block_at: float | None  # None: a score alone never blocks in this category
    dsa_category: str
    dsa_keywords: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SignalPolicy:
    name: str
    when_unavailable: Decision  # review or block: an unavailable signal is never read as clean
    when_not_configured: Mapping[Flow, Decision | None]  # None: decide on the remaining signals
    # A lower review point for this signal's scores in every category (words read off pictures:
    # misreads pull a slogan's scores down); None: the categories' own review_at.
    review_at: float | None = None


@dataclass(frozen=True, slots=True)
class Grounds:
    decision_ground: str
    legal_ground: str | None
    incompatible_content_ground: str | None
    explanation: str
    reference_url: str | None
    territorial_scope: tuple[str, ...]
    visibility: Mapping[Decision, str]
    consent_category: str
    consent_keywords: tuple[str, ...]
    label_category: str
    # The statement of a ``label`` verdict for AI-generated content: it is shown with a disclosure
    # label, not restricted for what it depicts, so it gets its own ground and explanation.
    label_ground: str = DEFAULT_LABEL_GROUND
    label_explanation: str = DEFAULT_LABEL_EXPLANATION


@dataclass(frozen=True, slots=True)
class Policy:
    market: str
    version: str
    categories: Mapping[str, CategoryPolicy]
    signals: Mapping[str, SignalPolicy]
    rules: Mapping[str, Decision]
    grounds: Grounds
    # What a hit on one symbol of the symbol bank does in this market, where it differs from
    # ``rules.symbol_hit`` (a symbol banned here blocks; a memorial symbol may be let through).
    symbols: Mapping[str, Decision] = field(default_factory=dict)

    def symbol_decision(self, symbol_id: str) -> Decision:
        return self.symbols.get(symbol_id, self.rules["symbol_hit"])

    def review_at(self, category: str, signal: str) -> float | None:
        """Where a score from ``signal`` in ``category`` reaches a person: the category's
        review_at, or the signal's own where that is lower; None for an unknown category."""
        cat = self.categories.get(category)
        if cat is None:
            return None
        own = self.signals[signal].review_at if signal in self.signals else None
        return cat.review_at if own is None else min(cat.review_at, own)


@dataclass(frozen=True, slots=True)
class PolicySet:
    version: str
    policies: Mapping[str, Policy]

    def for_market(self, market: str) -> Policy:
        """The market's policy; markets without an overlay use the default policy."""
        return self.policies.get(market, self.policies["default"])


class _Reader:
    def __init__(self, file: str) -> None:
        self.file = file

    def fail(self, key: str, problem: str) -> PolicyError:
        return PolicyError(self.file, key, problem)

    def mapping(self, data: Any, key: str) -> Mapping[str, Any]:
        if not isinstance(data, Mapping):
            raise self.fail(key, f"expected a mapping, got {type(data).__name__}")
        return data

    def field(self, data: Mapping[str, Any], key: str, path: str) -> Any:
        if key not in data:
            raise self.fail(f"{path}.{key}".lstrip("."), "missing")
        return data[key]

    def only(self, data: Mapping[str, Any], allowed: tuple[str, ...], path: str) -> None:
        for key in data:
            if key not in allowed:
                raise self.fail(
                    f"{path}.{key}".lstrip("."), f"unknown key (expected one of: {', '.join(allowed)})"
                )

    def score(self, value: Any, path: str) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0.0 <= float(value) <= 1.0:
            raise self.fail(path, f"expected a score between 0 and 1, got {value!r}")
        return float(value)

    def decision(self, value: Any, path: str, allowed: tuple[str, ...] = DECISIONS) -> Decision:
        if value not in allowed:
            raise self.fail(path, f"expected one of {', '.join(allowed)}, got {value!r}")
        return Decision(value)

    def enum(self, value: Any, allowed: frozenset[str], path: str) -> str:
        if value not in allowed:
            raise self.fail(path, f"{value!r} is not a valid DSA value")
        return str(value)

    def text(self, value: Any, path: str, *, limit: int = 500, optional: bool = False) -> str | None:
        if value is None and optional:
            return None
        if not isinstance(value, str) or not value.strip():
            raise self.fail(path, "expected non-empty text")
        if len(value) > limit:
            raise self.fail(path, f"longer than {limit} characters")
        return value


def _parse(raw: Mapping[str, Any], *, market: str, version: str, reader: _Reader) -> Policy:
    reader.only(raw, ("market", "categories", "signals", "rules", "symbols", "grounds"), "")
    cats_raw = reader.mapping(reader.field(raw, "categories", ""), "categories")
    if not cats_raw:
        raise reader.fail("categories", "empty: a policy must set every category")
    categories: dict[str, CategoryPolicy] = {}
    for name, body in cats_raw.items():
        path = f"categories.{name}"
        if name not in CATEGORIES:
            raise reader.fail(path, f"unknown category (known: {', '.join(CATEGORIES)})")
        body = reader.mapping(body, path)
        reader.only(body, ("review_at", "block_at", "dsa_category", "dsa_keywords"), path)
        review_at = reader.score(reader.field(body, "review_at", path), f"{path}.review_at")
        block_raw = body.get("block_at")
        block_at = None if block_raw is None else reader.score(block_raw, f"{path}.block_at")
        if block_at is not None and block_at < review_at:
            raise reader.fail(f"{path}.block_at", "must not be below review_at (the review band)")
        keywords = reader.field(body, "dsa_keywords", path)
        if not isinstance(keywords, list):
            raise reader.fail(f"{path}.dsa_keywords", "expected a list")
        categories[name] = CategoryPolicy(
            name=name,
            review_at=review_at,
            block_at=block_at,
            dsa_category=reader.enum(
                reader.field(body, "dsa_category", path), dsa.CATEGORY, f"{path}.dsa_category"
            ),
            dsa_keywords=tuple(reader.enum(k, dsa.KEYWORDS, f"{path}.dsa_keywords") for k in keywords),
        )
    missing = [c for c in CATEGORIES if c not in categories]
    if missing:
        raise reader.fail("categories", f"missing categories: {', '.join(missing)}")

    signals: dict[str, SignalPolicy] = {}
    for name, body in reader.mapping(reader.field(raw, "signals", ""), "signals").items():
        path = f"signals.{name}"
        if name not in SIGNALS:
            raise reader.fail(path, f"unknown signal (known: {', '.join(SIGNALS)})")
        body = reader.mapping(body, path)
        reader.only(body, ("when_unavailable", "when_not_configured", "review_at"), path)
        unavailable = reader.decision(
            reader.field(body, "when_unavailable", path), f"{path}.when_unavailable", ("review", "block")
        )
        nc = reader.mapping(reader.field(body, "when_not_configured", path), f"{path}.when_not_configured")
        reader.only(nc, tuple(f.value for f in Flow), f"{path}.when_not_configured")
        not_configured: dict[Flow, Decision | None] = {}
        for flow in Flow:
            value = reader.field(nc, flow.value, f"{path}.when_not_configured")
            not_configured[flow] = (
                None
                if value == "ignore"
                else reader.decision(
                    value, f"{path}.when_not_configured.{flow.value}", ("ignore", "label", "review", "block")
                )
            )
        own = body.get("review_at")
        if own is not None and name not in SCORED_SIGNALS:
            known = ", ".join(SCORED_SIGNALS)
            raise reader.fail(f"{path}.review_at", f"only a scoring signal has one ({known})")
        signal_review_at = None if own is None else reader.score(own, f"{path}.review_at")
        signals[name] = SignalPolicy(name, unavailable, not_configured, signal_review_at)

    rules_raw = reader.mapping(reader.field(raw, "rules", ""), "rules")
    reader.only(rules_raw, (*RULES, *OPTIONAL_RULES), "rules")
    rules = {name: reader.decision(reader.field(rules_raw, name, "rules"), f"rules.{name}") for name in RULES}
    for name, default in OPTIONAL_RULES.items():
        rules[name] = reader.decision(rules_raw.get(name, default.value), f"rules.{name}")
    if rules["lexicon_hit"] is Decision.BLOCK:
        raise reader.fail(
            "rules.lexicon_hit", "a lexicon hit never blocks alone (slogans are used by both sides)"
        )
    if rules["symbol_hit"] is Decision.BLOCK:
        raise reader.fail(
            "rules.symbol_hit",
            "a symbol hit never blocks by default (the ribbon is also a memorial symbol); block one "
            "symbol on purpose under `symbols:`",
        )
    symbols_raw = reader.mapping(raw.get("symbols") or {}, "symbols")
    symbols = {
        str(name): reader.decision(value, f"symbols.{name}", ("allow", "review", "block"))
        for name, value in symbols_raw.items()
    }

    g = reader.mapping(reader.field(raw, "grounds", ""), "grounds")
    reader.only(
        g,
        (
            "decision_ground",
            "legal_ground",
            "incompatible_content_ground",
            "explanation",
            "reference_url",
            "territorial_scope",
            "visibility",
            "consent_category",
            "consent_keywords",
            "label_category",
            "label_ground",
            "label_explanation",
        ),
        "grounds",
    )
    ground = reader.enum(
        reader.field(g, "decision_ground", "grounds"), dsa.DECISION_GROUND, "grounds.decision_ground"
    )
    legal = reader.text(g.get("legal_ground"), "grounds.legal_ground", optional=True)
    incompatible = reader.text(
        g.get("incompatible_content_ground"), "grounds.incompatible_content_ground", optional=True
    )
    if ground == "DECISION_GROUND_ILLEGAL_CONTENT" and legal is None:
        raise reader.fail("grounds.legal_ground", "required when decision_ground is illegal content")
    if ground == "DECISION_GROUND_INCOMPATIBLE_CONTENT" and incompatible is None:
        raise reader.fail(
            "grounds.incompatible_content_ground", "required when decision_ground is incompatible content"
        )
    scope_raw = reader.field(g, "territorial_scope", "grounds")
    scope: list[str] = []
    for code in scope_raw if isinstance(scope_raw, list) else [scope_raw]:
        if code == "eu":
            scope.extend(dsa.EU_MEMBER_STATES)
        else:
            scope.append(reader.enum(code, dsa.TERRITORY, "grounds.territorial_scope"))
    vis = reader.mapping(reader.field(g, "visibility", "grounds"), "grounds.visibility")
    reader.only(vis, ("label", "review", "block"), "grounds.visibility")
    visibility = {
        Decision(k): reader.enum(
            reader.field(vis, k, "grounds.visibility"), dsa.DECISION_VISIBILITY, f"grounds.visibility.{k}"
        )
        for k in ("label", "review", "block")
    }
    consent_keywords = reader.field(g, "consent_keywords", "grounds")
    grounds = Grounds(
        decision_ground=ground,
        legal_ground=legal,
        incompatible_content_ground=incompatible,
        explanation=str(
            reader.text(reader.field(g, "explanation", "grounds"), "grounds.explanation", limit=2000)
        ),
        reference_url=reader.text(g.get("reference_url"), "grounds.reference_url", optional=True),
        territorial_scope=tuple(dict.fromkeys(scope)),
        visibility=visibility,
        consent_category=reader.enum(
            reader.field(g, "consent_category", "grounds"), dsa.CATEGORY, "grounds.consent_category"
        ),
        consent_keywords=tuple(
            reader.enum(k, dsa.KEYWORDS, "grounds.consent_keywords") for k in consent_keywords
        ),
        label_category=reader.enum(
            reader.field(g, "label_category", "grounds"), dsa.CATEGORY, "grounds.label_category"
        ),
        label_ground=str(reader.text(g.get("label_ground", DEFAULT_LABEL_GROUND), "grounds.label_ground")),
        label_explanation=str(
            reader.text(
                g.get("label_explanation", DEFAULT_LABEL_EXPLANATION), "grounds.label_explanation", limit=2000
            )
        ),
    )
    return Policy(
        market=market,
        version=version,
        categories=categories,
        signals=signals,
        rules=rules,
        grounds=grounds,
        symbols=symbols,
    )


def _merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _read_yaml(path: Path, root: Path) -> Mapping[str, Any]:
    name = str(path.relative_to(root))
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise PolicyError(name, "", f"not valid YAML: {exc}") from exc
    except OSError as exc:
        raise PolicyError(name, "", f"cannot be read: {exc}") from exc
    return _Reader(name).mapping(data, "")


def load_policies(root: Path) -> PolicySet:
    """Parse ``root/default.yaml`` and ``root/overlays/*.yaml`` into a PolicySet, or raise PolicyError."""
    default_path = root / "default.yaml"
    if not default_path.is_file():
        raise PolicyError("default.yaml", "", f"missing under {root}")
    default_raw = _read_yaml(default_path, root)
    overlays: dict[str, Mapping[str, Any]] = {}
    for path in sorted((root / "overlays").glob("*.yaml")):
        raw = _read_yaml(path, root)
        market = raw.get("market")
        if market != path.stem:
            raise PolicyError(str(path.relative_to(root)), "market", f"must be {path.stem!r} (the file name)")
        overlays[path.stem] = raw
    normalised = {"default": default_raw, "overlays": overlays}
    version = "pv-" + hashlib.sha256(rfc8785.dumps(normalised)).hexdigest()[:16]
    policies = {
        "default": _parse(default_raw, market="default", version=version, reader=_Reader("default.yaml"))
    }
    for market, raw in overlays.items():
        merged = _merge(default_raw, {k: v for k, v in raw.items() if k != "market"})
        policies[market] = _parse(
            merged, market=market, version=version, reader=_Reader(f"overlays/{market}.yaml")
        )
    return PolicySet(version=version, policies=policies)
