"""Grantor rules as data: the shipped files load, and bad files fail naming the file and key."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from uuid import uuid4

import pytest

from service.consent.model import Grantor, Relationship, Subject, SubjectKind, Verification, VitalStatus
from service.consent.rules import RuleBook, parse_rule
from service.errors import ConfigError

SHIPPED = [
    "CN-CC-994",
    "EU-DEFAULT",
    "RU-CC-152.1",
    "US-CA-3344.1",
    "US-NY-CRL-50-f",
    "US-TN-ELVIS",
    "guardian",
    "self",
]

GOOD = """
id: XX-TEST
title: A test rule
citation: nowhere
applies_to: deceased
jurisdictions: [RU]
grantor_classes:
  - [spouse]
"""


def _deceased(jurisdiction: str) -> Subject:
    return Subject(
        uuid4(),
        uuid4(),
        SubjectKind.HUMAN,
        VitalStatus.DECEASED,
        "x",
        jurisdiction,
        None,
        date(2024, 1, 1),
        datetime.now(UTC),
    )


def test_the_shipped_rules_load() -> None:
    book = RuleBook.load()
    assert book.ids() == sorted(SHIPPED)
    ru = book.rules["RU-CC-152.1"]
    assert ru.rank(Relationship.SPOUSE) == 0
    assert ru.rank(Relationship.PARENT) == 1
    assert ru.rank(Relationship.SIBLING) is None
    assert book.rules["US-CA-3344.1"].consensus.value == "majority"
    assert book.rules["EU-DEFAULT"].covers("DE-BY")
    assert not book.rules["EU-DEFAULT"].covers("RU")


@pytest.mark.parametrize(
    ("text", "key"),
    [
        (GOOD.replace("applies_to: deceased", "applies_to: everyone"), "applies_to"),
        (GOOD.replace("[spouse]", "[cousin]"), "grantor_classes[0]"),
        (GOOD.replace("  - [spouse]\n", ""), "grantor_classes"),
        (GOOD.replace("[RU]", "[Russia]"), "jurisdictions"),
        (GOOD + "max_years: 25\n", "max_years"),
        (GOOD + "colour: blue\n", "colour"),
        (GOOD.replace("id: XX-TEST", "id: OTHER"), "id"),
        (GOOD.replace("title: A test rule\n", ""), "title"),
        ("- just a list", "(file)"),
    ],
)
def test_bad_rule_files_name_file_and_key(text: str, key: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_rule("XX-TEST.yaml", text)
    assert str(err.value).startswith(f"XX-TEST.yaml: {key}:")


def test_a_folder_without_self_and_guardian_is_refused(tmp_path: Path) -> None:
    (tmp_path / "XX-TEST.yaml").write_text(GOOD)
    with pytest.raises(ConfigError, match="'self' is missing"):
        RuleBook.load(tmp_path)


def test_majority_interest_under_california() -> None:
    ca = RuleBook.load().rules["US-CA-3344.1"]
    subject = _deceased("US-CA")
    kids = [Grantor("a", Relationship.CHILD, True), Grantor("b", Relationship.CHILD, True)]
    assert ca.check_grant(subject, kids, today=date(2026, 1, 1), co_holders=3) is None
    refused = ca.check_grant(subject, kids[:1], today=date(2026, 1, 1), co_holders=3)
    assert refused is not None
    assert "majority" in refused


def test_all_co_holders_under_russian_law() -> None:
    ru = RuleBook.load().rules["RU-CC-152.1"]
    widow = [Grantor("w", Relationship.SPOUSE, True)]
    refused = ru.check_grant(_deceased("RU"), widow, today=date(2026, 1, 1), co_holders=3)
    assert refused is not None
    assert "all 3 co-holders" in refused


def test_eu_default_asks_for_a_verified_identity() -> None:
    eu = RuleBook.load().rules["EU-DEFAULT"]
    today = date(2026, 1, 1)
    unverified = eu.check_grant(_deceased("DE"), [Grantor("w", Relationship.SPOUSE, True)], today=today)
    assert unverified is not None
    assert "document" in unverified
    verified = Grantor("w", Relationship.SPOUSE, True, Verification.DOCUMENT)
    assert eu.check_grant(_deceased("DE"), [verified], today=today) is None
    assert eu.check_grant(_deceased("UA"), [verified], today=today) == "this rule does not apply in UA"
