"""The seed's situations (shared/seed/article.txt), each with its expected decision and reason.

A widow in Russia orders a farewell video of her husband, killed in the war: he kisses her, his
suit turns into fatigues, he climbs a staircase to heaven; for a fee his voice is cloned; their
children appear in the frame.
"""

from __future__ import annotations

import hashlib
from datetime import date, timedelta
from uuid import UUID

import pytest

from service.consent import registry
from service.consent.model import (
    ConsentOutcome,
    DirectiveType,
    Grantor,
    Modality,
    Purpose,
    Relationship,
    SubjectKind,
    VitalStatus,
)
from service.services import Services
from tests.consent.helpers import NOW, decide, grant, scope, spec, subject, tenant

SPOUSE = Relationship.SPOUSE
CHILD = Relationship.CHILD


@pytest.fixture
def family(services: Services) -> dict[str, UUID]:
    t = tenant(services)
    husband = subject(services, t, vital=VitalStatus.DECEASED, birth=date(1988, 3, 2), death=date(2024, 2, 1))
    widow = subject(services, t, birth=date(1990, 7, 9))
    child = subject(services, t, birth=date(2017, 1, 15))
    grant(services, t, widow.id, basis="self", grantors=[("Yelena", Relationship.SELF)])
    return {"tenant": t, "husband": husband.id, "widow": widow.id, "child": child.id}


def _husband_grant(services: Services, f: dict[str, UUID], **kw: object) -> UUID:
    g = grant(services, f["tenant"], f["husband"], basis="RU-CC-152.1", grantors=[("Yelena", SPOUSE)], **kw)
    return g.id


def test_widow_consents_for_her_deceased_husband_under_ru_152_1(
    services: Services, family: dict[str, UUID]
) -> None:
    consent_id = _husband_grant(services, family)
    d = decide(
        services, family["tenant"], spec((family["husband"], "likeness"), (family["widow"], "likeness"))
    )
    assert d.decision is ConsentOutcome.GRANTED
    rules = {r.source: r.rule for r in d.reasons}
    assert rules[f"subject/{family['husband']}"] == "RU-CC-152.1"
    assert rules[f"subject/{family['widow']}"] == "self"
    assert consent_id in d.grant_ids


def test_widow_in_the_kiss_scene_needs_her_own_grant(services: Services) -> None:
    t = tenant(services)
    husband = subject(services, t, vital=VitalStatus.DECEASED, death=date(2024, 2, 1))
    widow = subject(services, t)
    grant(services, t, husband.id, basis="RU-CC-152.1", grantors=[("Yelena", SPOUSE)])
    d = decide(services, t, spec((husband.id, "likeness"), (widow.id, "likeness")))
    assert d.decision is ConsentOutcome.DENIED
    assert [(r.rule, r.source) for r in d.reasons] == [("consent.missing.self", f"subject/{widow.id}")]


def test_husbands_do_not_recreate_directive_overrides_the_widow(
    services: Services, family: dict[str, UUID]
) -> None:
    _husband_grant(services, family)
    t = family["tenant"]
    with services.db.tenant(t) as conn:
        directive = registry.create_directive(
            conn, tenant_id=t, subject_id=family["husband"], type=DirectiveType.DO_NOT_RECREATE
        )
    d = decide(services, t, spec((family["husband"], "likeness"), (family["widow"], "likeness")))
    assert d.decision is ConsentOutcome.DENIED
    (reason,) = d.reasons
    assert reason.rule == "directive.do_not_recreate"
    assert reason.source == f"subject/{family['husband']}"
    assert str(directive.id) in reason.detail


def test_directive_limited_to_voice_leaves_likeness_alone(
    services: Services, family: dict[str, UUID]
) -> None:
    _husband_grant(services, family)
    t = family["tenant"]
    with services.db.tenant(t) as conn:
        registry.create_directive(
            conn,
            tenant_id=t,
            subject_id=family["husband"],
            type=DirectiveType.DO_NOT_RECREATE,
            modalities=[Modality.VOICE_CLONE],
        )
    assert decide(services, t, spec((family["husband"], "likeness"))).decision is ConsentOutcome.GRANTED
    voiced = decide(services, t, spec((family["husband"], "voice")))
    assert voiced.decision is ConsentOutcome.DENIED
    assert voiced.reasons[0].rule == "directive.do_not_recreate"


def test_children_in_the_frame_without_a_guardian_grant_deny(
    services: Services, family: dict[str, UUID]
) -> None:
    _husband_grant(services, family)
    d = decide(
        services,
        family["tenant"],
        spec((family["husband"], "likeness"), (family["widow"], "likeness"), (family["child"], "likeness")),
    )
    assert d.decision is ConsentOutcome.DENIED
    assert [(r.rule, r.source) for r in d.reasons] == [
        ("consent.missing.guardian", f"subject/{family['child']}")
    ]


def test_children_with_a_guardian_grant_need_review_and_family_only(
    services: Services, family: dict[str, UUID]
) -> None:
    _husband_grant(services, family)
    t = family["tenant"]
    grant(services, t, family["child"], basis="guardian", grantors=[("Yelena", Relationship.PARENT)])
    subjects = ((family["husband"], "likeness"), (family["widow"], "likeness"), (family["child"], "likeness"))
    d = decide(services, t, spec(*subjects))
    assert d.decision is ConsentOutcome.NEEDS_REVIEW
    assert d.audience_limit is not None
    assert d.audience_limit.value == "family"
    assert d.reasons[0].rule == "guardian"
    assert d.reasons[0].source == f"subject/{family['child']}"
    public = decide(services, t, spec(*subjects, audience="public", purpose="public_post"))
    assert public.decision is ConsentOutcome.DENIED
    assert ("guardian", f"subject/{family['child']}") in [(r.rule, r.source) for r in public.reasons]


def test_voice_clone_without_the_voice_scope_denies(services: Services, family: dict[str, UUID]) -> None:
    likeness_only = scope(modalities=frozenset({Modality.LIKENESS_STILL, Modality.LIKENESS_ANIMATED}))
    _husband_grant(services, family, grant_scope=likeness_only)
    d = decide(
        services, family["tenant"], spec((family["husband"], "likeness"), (family["husband"], "voice"))
    )
    assert d.decision is ConsentOutcome.DENIED
    (reason,) = d.reasons
    assert reason.rule == "RU-CC-152.1"
    assert "voice_clone" in reason.detail


def test_voice_clone_may_say_only_the_approved_script(services: Services, family: dict[str, UUID]) -> None:
    approved = "Я люблю вас. Берегите друг друга."
    _husband_grant(services, family, script_sha256=hashlib.sha256(approved.encode()).hexdigest())
    t = family["tenant"]
    same = decide(services, t, spec((family["husband"], "voice"), script=approved))
    assert same.decision is ConsentOutcome.GRANTED
    other = decide(services, t, spec((family["husband"], "voice"), script="Something else entirely."))
    assert other.decision is ConsentOutcome.DENIED
    assert "script" in other.reasons[0].detail
    none = decide(services, t, spec((family["husband"], "voice")))
    assert none.decision is ConsentOutcome.DENIED


def test_a_co_holders_objection_disputes_the_grant(services: Services, family: dict[str, UUID]) -> None:
    consent_id = _husband_grant(services, family)
    t = family["tenant"]
    with services.db.tenant(t) as conn:
        _, disputed = registry.file_objection(
            conn,
            services.consent_rules,
            tenant_id=t,
            grant_id=consent_id,
            objector=Grantor("Adult son", CHILD, adult=True),
        )
    assert disputed.status.value == "disputed"
    d = decide(services, t, spec((family["husband"], "likeness")))
    assert d.decision is ConsentOutcome.DENIED
    (reason,) = d.reasons
    assert reason.rule == "RU-CC-152.1"
    assert "disputed" in reason.detail
    assert str(consent_id) in reason.detail


def test_an_expired_grant_denies(services: Services, family: dict[str, UUID]) -> None:
    consent_id = _husband_grant(services, family, expires_in=timedelta(days=30))
    t = family["tenant"]
    assert decide(services, t, spec((family["husband"], "likeness"))).decision is ConsentOutcome.GRANTED
    later = decide(services, t, spec((family["husband"], "likeness")), at=NOW + timedelta(days=31))
    assert later.decision is ConsentOutcome.DENIED
    assert later.reasons[0].rule == "RU-CC-152.1"
    assert f"grant {consent_id} expired" in later.reasons[0].detail


def test_the_grant_must_cover_purpose_audience_and_territory(
    services: Services, family: dict[str, UUID]
) -> None:
    narrow = scope(
        purposes=frozenset({Purpose.PRIVATE_MEMORIAL}),
        territories=frozenset({"RU"}),
    )
    _husband_grant(services, family, grant_scope=narrow)
    t = family["tenant"]
    h = family["husband"]
    assert decide(services, t, spec((h, "likeness"), market="ru")).decision is ConsentOutcome.GRANTED
    eu = decide(services, t, spec((h, "likeness"), market="eu"))
    assert eu.decision is ConsentOutcome.DENIED
    assert "territory eu" in eu.reasons[0].detail
    public = decide(services, t, spec((h, "likeness"), market="ru", purpose="public_post"))
    assert public.decision is ConsentOutcome.DENIED
    assert "purpose public_post" in public.reasons[0].detail


def test_animals_need_no_grant_but_the_attestation_is_recorded(services: Services) -> None:
    t = tenant(services)
    dog = subject(services, t, kind=SubjectKind.ANIMAL)
    d = decide(services, t, spec((dog.id, "likeness")))
    assert d.decision is ConsentOutcome.GRANTED
    assert d.attested_subjects == (dog.id,)
    assert d.reasons[0].rule == "consent.animal"


def test_unknown_subject_denies(services: Services) -> None:
    t = tenant(services)
    missing = UUID(int=7)
    d = decide(services, t, spec((missing, "likeness")))
    assert d.decision is ConsentOutcome.DENIED
    assert d.reasons[0].rule == "consent.unknown_subject"


def test_parents_grant_only_where_no_spouse_or_child_has(services: Services, family: dict[str, UUID]) -> None:
    t = family["tenant"]
    parents = grant(
        services, t, family["husband"], basis="RU-CC-152.1", grantors=[("Mother", Relationship.PARENT)]
    )
    alone = decide(services, t, spec((family["husband"], "likeness")))
    assert alone.decision is ConsentOutcome.GRANTED
    assert alone.grant_ids == (parents.id,)
    stills_only = scope(modalities=frozenset({Modality.LIKENESS_STILL}))
    _husband_grant(services, family, grant_scope=stills_only)
    video = decide(services, t, spec((family["husband"], "likeness")))
    assert video.decision is ConsentOutcome.DENIED
    assert any("later class" in r.detail and str(parents.id) in r.detail for r in video.reasons)
