"""Slogans and symbols with language and context rules (``policies/lexicon/*.yaml``).

The lexicon is the second reader beside the text encoder's probes: it knows slogans, codes and
spellings by name in English, Russian and Ukrainian. Rules:
- a term used by one side as endorsement raises its category's score to at least ``weight`` and
  asks for a person (``review``);
- a term used by both sides of the war (``both_sides: true``: "Героям слава", "вечная память
  героям") never decides alone: it raises the score to at most ``both_sides_cap`` (below the
  policy's review thresholds) and asks for nobody, so a widow's "Героям слава" is not sent to
  review by the greeting; the probes decide on the rest of the text;
- near a contrast cue (memorial, news, history, anti-war, game wording in the same text) any hit
  is capped at ``context_cap`` and asks for nobody either; so is a term that only appears inside
  quotation marks in a text that says more than the quote (commentary citing a slogan to criticise
  or report it; a poster that is nothing but the quoted slogan still counts);
- the same holds where the text classifier, reading the whole text, finds it ordinary (its
  strength below ``LEXICON_NEEDS``, with heads that read the words themselves): a news item
  on contract pay or a protest sign against Yunarmiya names the term without endorsing it.
Files become frozen objects at load time or fail with the file, key path and message.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from service.classify.model import LexiconHit, ScoreEvidence
from service.errors import ConfigError
from service.vocabulary import Category

LANGS = ("en", "ru", "uk", "any")

# Heads with the lexical half (probes.py) read slogans and codes themselves, learnt from texts that
# endorse them and texts that report, quote or oppose them. Where they find a text ordinary (every
# category below this), a lexicon term in it is reported but asks for nobody: on the held-out
# split that keeps 23 negatives from a person and loses 3 positives (``bench_classify.py text``,
# ``lexicon_asks_set_aside``, 23,535-line corpus).
LEXICON_NEEDS = 0.5


def normalise(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


@dataclass(frozen=True, slots=True)
class Term:
    id: str
    category: Category
    lang: str
    patterns: tuple[re.Pattern[str], ...]
    weight: float
    both_sides: bool


@dataclass(frozen=True, slots=True)
class LexiconResult:
    boosts: Mapping[Category, float]
    hits: tuple[LexiconHit, ...]
    evidence: tuple[ScoreEvidence, ...]


@dataclass(frozen=True, slots=True)
class Lexicon:
    terms: tuple[Term, ...]
    contrast_cues: tuple[re.Pattern[str], ...]
    both_sides_cap: float
    context_cap: float
    # Every term's patterns (and every cue) as one alternation, searched first: most texts name no
    # term, and 600 captions take 0.16 s (``bench_classify.py text``, ``lexicon_batch_s``) where a
    # pass per pattern took 0.60 s. It finds a term exactly where a pass per pattern would (``AnyOf``).
    any_term: AnyOf = field(init=False, repr=False, compare=False)
    any_cue: AnyOf = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "any_term", AnyOf.of([p for t in self.terms for p in t.patterns]))
        object.__setattr__(self, "any_cue", AnyOf.of(list(self.contrast_cues)))

    def scan(self, text: str, *, ordinary: bool = False) -> LexiconResult:
        """The terms in ``text``; ``ordinary``: the rest of the text reads as ordinary, so every
        hit is treated as in context (capped, asking for nobody)."""
        norm = normalise(text)
        if not self.any_term.search(norm):
            return LexiconResult({}, (), ())
        boosts: dict[Category, float] = {}
        hits: list[LexiconHit] = []
        evidence: list[ScoreEvidence] = []
        in_context = ordinary or self.any_cue.search(norm)
        quotes = quoted_spans(norm)
        for term in self.terms:
            found = [m.span() for p in term.patterns for m in p.finditer(norm)]
            if not found:
                continue
            value = term.weight
            review = True
            if term.both_sides:
                value, review = min(value, self.both_sides_cap), False
            # Quoted inside commentary ("«Zа наших» пишут те, кто…"): cited, not said.
            cited = quotes.commentary and all(quotes.covers(span) for span in found)
            if in_context or cited:
                value, review = min(value, self.context_cap), False
            boosts[term.category] = max(boosts.get(term.category, 0.0), value)
            hits.append(LexiconHit(term.id, term.category, term.lang, term.both_sides, review))
            evidence.append(ScoreEvidence(category=term.category, score=value, term_id=term.id))
        return LexiconResult(boosts, tuple(hits), tuple(evidence))

    def spans(self, text: str) -> list[tuple[int, int, Category]]:
        """Where terms occur in ``text`` (start, end, category), merged where they overlap, for a
        reviewer's highlighting; empty when normalising changes the text's length (offsets
        would not point at the same characters)."""
        norm = normalise(text)
        if len(norm) != len(text):
            return []
        found = sorted(
            (m.start(), m.end(), term.category)
            for term in self.terms
            for p in term.patterns
            for m in p.finditer(norm)
            if m.end() > m.start()
        )
        merged: list[tuple[int, int, Category]] = []
        for start, end, category in found:
            if merged and start < merged[-1][1]:
                merged[-1] = (merged[-1][0], max(end, merged[-1][1]), merged[-1][2])
            else:
                merged.append((start, end, category))
        return merged


_QUOTE_PAIRS = (("«", "»"), ("„", "“"), ("“", "”"), ('"', '"'), ("‘", "’"), ("'", "'"))
_QUOTES = tuple(
    re.compile(
        (r"(?<!\w)" if opening in "'\"" else "")
        + rf"{re.escape(opening)}([^{re.escape(closing)}]{{1,200}}){re.escape(closing)}"
        + (r"(?!\w)" if opening in "'\"" else "")
    )
    for opening, closing in _QUOTE_PAIRS
)
# Words outside the quotes for a text to be commentary on what it quotes (a poster that is one
# quoted slogan is not).
COMMENTARY_WORDS = 6


@dataclass(frozen=True, slots=True)
class QuotedSpans:
    spans: tuple[tuple[int, int], ...]
    commentary: bool  # enough words outside every quote

    def covers(self, span: tuple[int, int]) -> bool:
        return any(start <= span[0] and span[1] <= end for start, end in self.spans)


def quoted_spans(text: str) -> QuotedSpans:
    """Character ranges inside quotation marks (guillemets, typographic and straight quotes; a
    straight apostrophe inside a word is not a quote)."""
    spans = [m.span(1) for quote in _QUOTES for m in quote.finditer(text)]
    inside = bytearray(len(text))  # quotes may nest («…"…"…»): mark, don't cut
    for start, end in spans:
        inside[start:end] = b"\x01" * (end - start)
    outside = "".join(ch if not inside[i] else " " for i, ch in enumerate(text))
    words = len(re.findall(r"\w+", outside))
    return QuotedSpans(tuple(spans), bool(spans) and words >= COMMENTARY_WORDS)


_WHOLE_WORD = (r"(?<!\w)", r"(?!\w)")
_BACK_REFERENCE = re.compile(r"\\[1-9]|\(\?P=")


@dataclass(frozen=True, slots=True)
class AnyOf:
    """Finds whether any of some patterns (each compiled by ``_compile``, so each is a body between
    the ``_WHOLE_WORD`` bounds) occurs in a text. Those without back-references are one
    alternation, tried at every position branch by branch with backtracking, so it fails only
    where each of them fails; a back-reference would point at another pattern's group there, so
    those few are searched one by one."""

    joined: re.Pattern[str] | None
    alone: tuple[re.Pattern[str], ...]

    @classmethod
    def of(cls, patterns: list[re.Pattern[str]]) -> AnyOf:
        opening, closing = _WHOLE_WORD
        alone = tuple(p for p in patterns if _BACK_REFERENCE.search(p.pattern))
        bodies = [
            "(?:" + p.pattern.removeprefix(opening).removesuffix(closing) + ")"
            for p in patterns
            if p not in alone
        ]
        joined = re.compile(opening + "(?:" + "|".join(bodies) + ")" + closing) if bodies else None
        return cls(joined, alone)

    def search(self, text: str) -> bool:
        if self.joined is not None and self.joined.search(text):
            return True
        return any(pattern.search(text) for pattern in self.alone)


def _compile(pattern: str, where: str) -> re.Pattern[str]:
    try:
        # (?<!\w) / (?!\w): whole words in any script (\b is ASCII-minded around "Z" + Cyrillic)
        return re.compile(_WHOLE_WORD[0] + normalise(pattern) + _WHOLE_WORD[1])
    except re.error as exc:
        raise ConfigError(f"{where}: bad pattern {pattern!r}: {exc}") from exc


def _need(mapping: Mapping[str, Any], key: str, where: str) -> Any:
    if key not in mapping:
        raise ConfigError(f"{where}: missing key '{key}'")
    return mapping[key]


def lexicon_version(directory: Path) -> str:
    """``lexicon-<12 hex digits>``: SHA-256 over the names and bytes of the lexicon files, in the
    order ``load_lexicon`` reads them, so a verdict and a manifest say which lexicon screened it."""
    digest = hashlib.sha256()
    for path in sorted(directory.glob("*.yaml")):
        digest.update(path.name.encode() + b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return f"lexicon-{digest.hexdigest()[:12]}"


def load_lexicon(directory: Path) -> Lexicon:
    files = sorted(directory.glob("*.yaml"))
    if not files:
        raise ConfigError(f"{directory}: no lexicon files (*.yaml)")
    terms: list[Term] = []
    cues: list[re.Pattern[str]] = []
    caps = {"both_sides_cap": 0.5, "context_cap": 0.5}
    seen: set[str] = set()
    for path in files:
        try:
            doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path}: not YAML: {exc}") from exc
        if not isinstance(doc, dict):
            raise ConfigError(f"{path}: expected a mapping at the top")
        for key in caps:
            if key in doc:
                caps[key] = float(doc[key])
        for lang, words in (doc.get("contrast_cues") or {}).items():
            for i, word in enumerate(words):
                cues.append(_compile(str(word), f"{path}: contrast_cues.{lang}[{i}]"))
        for i, raw in enumerate(doc.get("terms") or []):
            where = f"{path}: terms[{i}]"
            if not isinstance(raw, dict):
                raise ConfigError(f"{where}: expected a mapping")
            term_id = str(_need(raw, "id", where))
            if term_id in seen:
                raise ConfigError(f"{where}.id: duplicate term id {term_id!r}")
            seen.add(term_id)
            try:
                category = Category(_need(raw, "category", where))
            except ValueError as exc:
                raise ConfigError(f"{where}.category: unknown category {raw['category']!r}") from exc
            lang = str(_need(raw, "lang", where))
            if lang not in LANGS:
                raise ConfigError(f"{where}.lang: {lang!r} is not one of {', '.join(LANGS)}")
            patterns = _need(raw, "patterns", where)
            if not isinstance(patterns, list) or not patterns:
                raise ConfigError(f"{where}.patterns: a non-empty list is required")
            weight = float(_need(raw, "weight", where))
            if not 0.0 < weight <= 1.0:
                raise ConfigError(f"{where}.weight: must be in (0, 1]")
            terms.append(
                Term(
                    id=term_id,
                    category=category,
                    lang=lang,
                    patterns=tuple(
                        _compile(str(p), f"{where}.patterns[{j}]") for j, p in enumerate(patterns)
                    ),
                    weight=weight,
                    both_sides=bool(raw.get("both_sides", False)),
                )
            )
    if not terms:
        raise ConfigError(f"{directory}: the lexicon has no terms")
    return Lexicon(tuple(terms), tuple(cues), caps["both_sides_cap"], caps["context_cap"])
