"""The precedence of ``evaluate`` (docs/consent.md), one row per case, on values in memory."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from uuid import UUID, uuid4

import pytest

from service.consent import evaluate
from service.consent.model import (
    AppearsAs,
    Audience,
    ConsentOutcome,
    ConsentRequest,
    Directive,
    DirectiveType,
    Grant,
    Grantor,
    GrantStatus,
    Modality,
    Purpose,
    Relationship,
    RequestedSubject,
    Scope,
    Subject,
    SubjectKind,
    SubjectRecords,
    VitalStatus,
)
from service.consent.rules import RuleBook
from service.vocabulary import OutputKind

AT = datetime(2026, 11, 24, tzinfo=UTC)
TENANT = uuid4()
RULES = RuleBook.load()
EVERYTHING = Scope(frozenset(Modality), frozenset(Purpose), frozenset(Audience), frozenset({"*"}))


def _subject(vital: VitalStatus, birth: date) -> Subject:
    death = date(2024, 2, 1) if vital is VitalStatus.DECEASED else None
    return Subject(uuid4(), TENANT, SubjectKind.HUMAN, vital, "x", "RU", birth, death, AT)


def _grant(
    subject: Subject, basis: str, rel: Relationship, status: GrantStatus = GrantStatus.ACTIVE
) -> Grant:
    return Grant(
        uuid4(),
        TENANT,
        subject.id,
        basis,
        (Grantor("g", rel, True),),
        EVERYTHING,
        AT + timedelta(days=30),
        None,
        (),
        status,
        AT,
        None,
    )


def _directive(subject: Subject) -> Directive:
    return Directive(uuid4(), TENANT, subject.id, DirectiveType.DO_NOT_RECREATE, frozenset(), (), AT)


DEAD = _subject(VitalStatus.DECEASED, date(1988, 1, 1))
ADULT = _subject(VitalStatus.LIVING, date(1990, 1, 1))
MINOR = _subject(VitalStatus.LIVING, date(2017, 1, 1))
OK_DEAD = _grant(DEAD, "RU-CC-152.1", Relationship.SPOUSE)
OK_ADULT = _grant(ADULT, "self", Relationship.SELF)
OK_MINOR = _grant(MINOR, "guardian", Relationship.PARENT)


def _decide(*records: SubjectRecords) -> tuple[ConsentOutcome, list[str]]:
    request = ConsentRequest(
        subjects=tuple(RequestedSubject(r.subject.id, AppearsAs.LIKENESS) for r in records),
        purpose=Purpose.PRIVATE_MEMORIAL,
        audience=Audience.FAMILY,
        output=OutputKind.VIDEO,
        territory="*",
    )
    d = evaluate(request, {r.subject.id: r for r in records}, RULES, at=AT)
    return d.decision, [r.rule for r in d.reasons]


def _rec(subject: Subject, *grants: Grant, directives: tuple[Directive, ...] = ()) -> SubjectRecords:
    return SubjectRecords(subject, grants, directives)


ROWS = [
    ("covering grant", [_rec(DEAD, OK_DEAD)], ConsentOutcome.GRANTED, "RU-CC-152.1"),
    (
        "directive beats a grant",
        [_rec(DEAD, OK_DEAD, directives=(_directive(DEAD),))],
        ConsentOutcome.DENIED,
        "directive.do_not_recreate",
    ),
    (
        "disputed beats another covering grant",
        [_rec(DEAD, OK_DEAD, replace(OK_DEAD, id=uuid4(), status=GrantStatus.DISPUTED))],
        ConsentOutcome.DENIED,
        "RU-CC-152.1",
    ),
    (
        "revoked alone denies",
        [_rec(DEAD, replace(OK_DEAD, status=GrantStatus.REVOKED))],
        ConsentOutcome.DENIED,
        "RU-CC-152.1",
    ),
    (
        "a new grant after a revoked one covers",
        [_rec(DEAD, replace(OK_DEAD, id=uuid4(), status=GrantStatus.REVOKED), OK_DEAD)],
        ConsentOutcome.GRANTED,
        "RU-CC-152.1",
    ),
    ("expired denies", [_rec(DEAD, replace(OK_DEAD, expires_at=AT))], ConsentOutcome.DENIED, "RU-CC-152.1"),
    (
        "a self grant does not cover a deceased person",
        [_rec(DEAD, _grant(DEAD, "self", Relationship.SELF))],
        ConsentOutcome.DENIED,
        "consent.missing.deceased",
    ),
    (
        "a later class of relatives does not count beside an earlier one",
        [
            _rec(
                DEAD,
                replace(OK_DEAD, scope=replace(EVERYTHING, modalities=frozenset({Modality.LIKENESS_STILL}))),
                _grant(DEAD, "RU-CC-152.1", Relationship.PARENT),
            )
        ],
        ConsentOutcome.DENIED,
        "RU-CC-152.1",
    ),
    ("living adult without own grant", [_rec(ADULT)], ConsentOutcome.DENIED, "consent.missing.self"),
    (
        "minor with guardian grant needs review",
        [_rec(ADULT, OK_ADULT), _rec(MINOR, OK_MINOR)],
        ConsentOutcome.NEEDS_REVIEW,
        "guardian",
    ),
    (
        "denied beats needs review",
        [_rec(ADULT), _rec(MINOR, OK_MINOR)],
        ConsentOutcome.DENIED,
        "consent.missing.self",
    ),
]


@pytest.mark.parametrize(("case", "records", "decision", "rule"), ROWS, ids=[r[0] for r in ROWS])
def test_precedence(case: str, records: list[SubjectRecords], decision: ConsentOutcome, rule: str) -> None:
    got, rules = _decide(*records)
    assert got is decision, case
    assert rules[0] == rule


def test_unknown_subject_is_denied_not_skipped() -> None:
    missing: UUID = uuid4()
    request = ConsentRequest(
        (RequestedSubject(missing, AppearsAs.VOICE),),
        Purpose.PRIVATE_MEMORIAL,
        Audience.FAMILY,
        OutputKind.IMAGE,
        "*",
    )
    assert evaluate(request, {}, RULES, at=AT).decision is ConsentOutcome.DENIED
