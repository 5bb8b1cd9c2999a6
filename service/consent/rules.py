"""Grantor rules: who may consent for whom, read from ``policies/consent/*.yaml``.

One file per rule; each becomes a frozen ``GrantorRule`` at load time or the load fails naming
the file and the key (parse, don't validate). A grant stores the id of the rule that authorised
it (its ``legal_basis``); ``check_grant`` is the rule applied at grant time and again at every
evaluation, so a rule file that changes takes effect at once.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml

from service.consent.model import (
    EU,
    EU_MEMBERS,
    EVERYWHERE,
    JURISDICTION,
    Grantor,
    Relationship,
    Subject,
    SubjectKind,
    Verification,
    VitalStatus,
)
from service.errors import ConfigError

DEFAULT_DIR = Path(__file__).resolve().parents[2] / "policies" / "consent"


class AppliesTo(enum.StrEnum):
    SELF = "self"  # a living adult's own consent
    GUARDIAN = "guardian"  # a living minor, through the holder of parental responsibility
    DECEASED = "deceased"  # next of kin, heirs or executors of a deceased person


class Consensus(enum.StrEnum):
    ALL = "all"  # every co-holder of the right must grant
    MAJORITY = "majority"  # more than half of the co-holders


@dataclass(frozen=True, slots=True)
class GrantorRule:
    id: str
    title: str
    citation: str
    applies_to: AppliesTo
    jurisdictions: frozenset[str]  # ISO codes, `eu` or `*`
    classes: tuple[frozenset[Relationship], ...]  # in order of priority
    consensus: Consensus
    objectors: frozenset[Relationship]  # who may object (makes a grant disputed)
    max_years: int
    max_years_minor: int
    min_verification: Verification

    def covers(self, jurisdiction: str) -> bool:
        country = jurisdiction.split("-", 1)[0]
        return (
            EVERYWHERE in self.jurisdictions
            or jurisdiction in self.jurisdictions
            or country in self.jurisdictions
            or (EU in self.jurisdictions and country in EU_MEMBERS)
        )

    def rank(self, relationship: Relationship) -> int | None:
        """The class a relationship belongs to (0 = first), or None when it holds no right."""
        return next((i for i, cls in enumerate(self.classes) if relationship in cls), None)

    def grant_rank(self, grantors: Iterable[Grantor]) -> int | None:
        """The best class among a grant's grantors (0 = first), None if none holds a right."""
        ranks = [r for g in grantors if (r := self.rank(g.relationship)) is not None]
        return min(ranks) if ranks else None

    def check_grant(
        self,
        subject: Subject,
        grantors: Iterable[Grantor],
        *,
        today: date,
        expires_at: datetime | None = None,
        now: datetime | None = None,
        co_holders: int | None = None,
    ) -> str | None:
        """Why this rule does not authorise the grant, or None when it does."""
        people = tuple(grantors)
        if subject.kind is not SubjectKind.HUMAN:
            return "animals need no likeness grant; the customer's attestation is recorded instead"
        if not people:
            return "a grant needs at least one grantor"
        problem = self._subject_problem(subject, today)
        if problem:
            return problem
        for person in people:
            if not person.adult:
                return f"a minor may not grant consent ({person.relationship.value})"
            if self.rank(person.relationship) is None:
                allowed = ", ".join(sorted({r.value for cls in self.classes for r in cls}))
                return f"a {person.relationship.value} may not grant under this rule (entitled: {allowed})"
            if person.verification.rank < self.min_verification.rank:
                return f"grantor identity must be verified at least by {self.min_verification.value}"
        top = min(r for p in people if (r := self.rank(p.relationship)) is not None)
        holders_granting = sum(1 for p in people if self.rank(p.relationship) == top)
        holders = holders_granting if co_holders is None else co_holders
        if holders < holders_granting:
            return "co_holders is smaller than the number of grantors who share the right"
        if self.consensus is Consensus.ALL and holders_granting < holders:
            return f"all {holders} co-holders of the right must grant; {holders_granting} did"
        if self.consensus is Consensus.MAJORITY and holders_granting * 2 <= holders:
            return f"a majority of the {holders} co-holders must grant; {holders_granting} did"
        if expires_at is not None and now is not None:
            years = self.max_years_minor if subject.is_minor(today) else self.max_years
            if expires_at <= now:
                return "expires_at is in the past"
            if expires_at > _add_years(now, years):
                return f"expires_at is beyond the cap of {years} years under this rule"
        return None

    def _subject_problem(self, subject: Subject, today: date) -> str | None:
        living = subject.vital_status is VitalStatus.LIVING
        if self.applies_to is AppliesTo.DECEASED:
            if living:
                return "this rule is for deceased persons; a living person grants with 'self' or 'guardian'"
            if not self.covers(subject.jurisdiction):
                return f"this rule does not apply in {subject.jurisdiction}"
        elif not living:
            return "a deceased person's consent comes from a rule for the deceased in policies/consent/"
        elif self.applies_to is AppliesTo.SELF and subject.is_minor(today):
            return "the subject is a minor: the holder of parental responsibility grants ('guardian')"
        elif self.applies_to is AppliesTo.GUARDIAN and not subject.is_minor(today):
            return "the subject is not a minor (or has no birth date): an adult grants with 'self'"
        return None


def _add_years(moment: datetime, years: int) -> datetime:
    try:
        return moment.replace(year=moment.year + years)
    except ValueError:  # 29 February
        return moment.replace(year=moment.year + years, day=28)


@dataclass(frozen=True, slots=True)
class RuleBook:
    rules: Mapping[str, GrantorRule]

    def get(self, rule_id: str) -> GrantorRule | None:
        return self.rules.get(rule_id)

    def ids(self) -> list[str]:
        return sorted(self.rules)

    @classmethod
    def load(cls, directory: Path | None = None) -> RuleBook:
        folder = directory or DEFAULT_DIR
        files = sorted(folder.glob("*.yaml"))
        if not files:
            raise ConfigError(f"No grantor rules in {folder}; restore policies/consent/*.yaml.")
        rules: dict[str, GrantorRule] = {}
        for path in files:
            rule = parse_rule(path.name, path.read_text(encoding="utf-8"))
            if rule.id in rules:
                raise ConfigError(f"{path.name}: id: duplicate rule id {rule.id!r}")
            rules[rule.id] = rule
        for required in (AppliesTo.SELF, AppliesTo.GUARDIAN):
            if required.value not in rules:
                raise ConfigError(f"{folder}: the rule {required.value!r} is missing")
        return cls(rules)


_KEYS = {
    "id",
    "title",
    "citation",
    "applies_to",
    "jurisdictions",
    "grantor_classes",
    "consensus",
    "objectors",
    "max_years",
    "max_years_minor",
    "min_verification",
}


def parse_rule(filename: str, text: str) -> GrantorRule:
    """One rule file into a ``GrantorRule``; every problem names the file and the key."""

    def fail(key: str, message: str) -> ConfigError:
        return ConfigError(f"{filename}: {key}: {message}")

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise fail("(file)", f"not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise fail("(file)", "must be a mapping")
    unknown = set(data) - _KEYS
    if unknown:
        raise fail(sorted(unknown)[0], "unknown key")

    def text_of(key: str) -> str:
        value = data.get(key)
        if not isinstance(value, str) or not value.strip():
            raise fail(key, "must be a non-empty string")
        return value.strip()

    def choice(key: str, kind: type[enum.StrEnum], default: str | None = None) -> Any:
        value = data.get(key, default)
        try:
            return kind(str(value))
        except ValueError:
            raise fail(key, f"{value!r} is not one of {', '.join(kind)}") from None

    def relationships(key: str, value: Any) -> frozenset[Relationship]:
        if not isinstance(value, list) or not value:
            raise fail(key, "must be a non-empty list of relationships")
        try:
            return frozenset(Relationship(v) for v in value)
        except ValueError as exc:
            raise fail(key, str(exc)) from None

    def years(key: str, default: int) -> int:
        value = data.get(key, default)
        if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 10:
            raise fail(key, "must be a whole number of years from 1 to 10")
        return value

    rule_id = text_of("id")
    if rule_id != filename.removesuffix(".yaml"):
        raise fail("id", f"must match the file name ({filename})")
    raw_classes = data.get("grantor_classes")
    if not isinstance(raw_classes, list) or not raw_classes:
        raise fail("grantor_classes", "must be a non-empty list of lists of relationships")
    classes = tuple(relationships(f"grantor_classes[{i}]", c) for i, c in enumerate(raw_classes))
    jurisdictions = data.get("jurisdictions")
    if not isinstance(jurisdictions, list) or not jurisdictions:
        raise fail("jurisdictions", "must be a non-empty list")
    for j in jurisdictions:
        if j not in (EVERYWHERE, EU) and not (isinstance(j, str) and JURISDICTION.match(j)):
            raise fail("jurisdictions", f"{j!r} is not an ISO 3166 code, 'eu' or '*'")
    everyone = frozenset(r for cls in classes for r in cls)
    objectors = relationships("objectors", data["objectors"]) if "objectors" in data else everyone
    max_years = years("max_years", 10)
    return GrantorRule(
        id=rule_id,
        title=text_of("title"),
        citation=text_of("citation"),
        applies_to=choice("applies_to", AppliesTo),
        jurisdictions=frozenset(jurisdictions),
        classes=classes,
        consensus=choice("consensus", Consensus, "all"),
        objectors=objectors,
        max_years=max_years,
        max_years_minor=min(years("max_years_minor", 5), max_years),
        min_verification=choice("min_verification", Verification, "none"),
    )
