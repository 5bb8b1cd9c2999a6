"""``evaluate``: does consent on file cover a generation request? (pure; the store loads the data)

For each subject of the request, in this order (docs/consent.md):
  0. unknown subject → denied
  1. animals need no likeness grant; the customer's attestation is recorded
  2. directives first: a `do_not_recreate` the person left while alive beats any consent
  3. the legal basis the subject needs: deceased → a rule for the deceased covering the
     subject's jurisdiction; living adult → `self`; living minor → `guardian`
  4. any disputed grant on that basis (a co-holder objected) → denied
  5. a grant from entitled grantors, not revoked, not expired, covering the modality
     (image → likeness_still, video → likeness_animated, voice → voice_clone), purpose,
     audience and territory, and the script hash when the grant names one → covered
  6. a minor: family audience only, and a human reviews every output → needs_review
Denied beats needs_review beats granted; every reason names the rule and the subject.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from uuid import UUID

from service.consent.model import (
    AppearsAs,
    Audience,
    ConsentDecision,
    ConsentOutcome,
    ConsentRequest,
    Grant,
    GrantStatus,
    SubjectKind,
    SubjectRecords,
    VitalStatus,
    territory_covered,
)
from service.consent.rules import AppliesTo, RuleBook
from service.vocabulary import Reason

SOURCE = "consent"


def _src(subject_id: UUID) -> str:
    return f"subject/{subject_id}"


def _scope_gap(grant: Grant, request: ConsentRequest, appears_as: AppearsAs) -> str | None:
    modality = request.modality(appears_as)
    if modality not in grant.scope.modalities:
        return f"the grant does not cover the {modality.value} modality"
    if request.purpose not in grant.scope.purposes:
        return f"the grant does not cover the purpose {request.purpose.value}"
    if request.audience not in grant.scope.audiences:
        return f"the grant does not cover the audience {request.audience.value}"
    if not territory_covered(grant.scope.territories, request.territory):
        return f"the grant does not cover the territory {request.territory}"
    if appears_as is AppearsAs.VOICE and grant.script_sha256 is not None:
        if request.script_sha256 is None:
            return "the voice grant names an approved script; the request has none"
        if request.script_sha256 != grant.script_sha256:
            return "the script differs from the one the voice grant approved (sha256 mismatch)"
    return None


def evaluate(
    request: ConsentRequest,
    records: Mapping[UUID, SubjectRecords],
    rules: RuleBook,
    *,
    at: datetime,
) -> ConsentDecision:
    """Decide ``request`` against the records of its subjects (``store.load_records``)."""
    denied: list[Reason] = []
    review: list[Reason] = []
    granted: list[Reason] = []
    grant_ids: list[UUID] = []
    attested: list[UUID] = []
    audience_limit: Audience | None = None
    today = at.date()

    if not request.subjects:
        denied.append(Reason("consent.no_subjects", SOURCE, "the request names no subject"))

    for wanted in request.subjects:
        src = _src(wanted.subject_id)
        found = records.get(wanted.subject_id)
        # 0. unknown subject
        if found is None:
            denied.append(Reason("consent.unknown_subject", src, "no such subject in this tenant"))
            continue
        subject = found.subject
        modality = request.modality(wanted.appears_as)
        # 1. animals
        if subject.kind is SubjectKind.ANIMAL:
            attested.append(subject.id)
            granted.append(
                Reason(
                    "consent.animal", src, "animal: no likeness grant needed; customer attestation recorded"
                )
            )
            continue
        # 2. directives first
        blocking = [d for d in found.directives if d.forbids(modality)]
        if blocking:
            denied.extend(
                Reason(
                    f"directive.{d.type.value}",
                    src,
                    f"directive {d.id} left by the person forbids {modality.value}; it beats any consent",
                )
                for d in blocking
            )
            continue
        # 3. the legal basis this subject needs
        minor = subject.is_minor(today)
        if subject.vital_status is VitalStatus.DECEASED:
            need = AppliesTo.DECEASED
        else:
            need = AppliesTo.GUARDIAN if minor else AppliesTo.SELF
        candidates: list[Grant] = []
        for grant in found.grants:
            rule = rules.get(grant.legal_basis)
            if rule is not None and rule.applies_to is need:
                candidates.append(grant)
        # 4. a co-holder's objection blocks the subject whatever else is on file
        disputed = [g for g in candidates if g.status is GrantStatus.DISPUTED]
        if disputed:
            denied.extend(
                Reason(g.legal_basis, src, f"grant {g.id} is disputed: a co-holder of the right objected")
                for g in disputed
            )
            continue
        # 5. a covering grant, from the first class of relatives that granted at all (a later
        #    class holds the right only where no earlier one does: RU CC 152.1, CN CC 994)
        live = [g for g in candidates if g.status is GrantStatus.ACTIVE and not g.expired(at)]
        ranks = {g.id: rules.rules[g.legal_basis].grant_rank(g.grantors) for g in live}
        known = [r for r in ranks.values() if r is not None]
        first_class = min(known) if known else None
        covering: Grant | None = None
        gaps: list[Reason] = []
        for grant in candidates:
            rule = rules.rules[grant.legal_basis]
            if grant.status is GrantStatus.REVOKED:
                gaps.append(Reason(grant.legal_basis, src, f"grant {grant.id} was revoked"))
                continue
            if grant.expired(at):
                gaps.append(Reason(grant.legal_basis, src, f"grant {grant.id} expired"))
                continue
            rank = ranks.get(grant.id)
            if rank is not None and first_class is not None and rank > first_class:
                detail = f"grant {grant.id} comes from a later class of relatives than another grant on file"
                gaps.append(Reason(grant.legal_basis, src, detail))
                continue
            entitled = rule.check_grant(subject, grant.grantors, today=today)
            if entitled is not None:
                gaps.append(Reason(grant.legal_basis, src, f"grant {grant.id}: {entitled}"))
                continue
            gap = _scope_gap(grant, request, wanted.appears_as)
            if gap is not None:
                gaps.append(Reason(grant.legal_basis, src, f"grant {grant.id}: {gap}"))
                continue
            covering = grant
            break
        if covering is None:
            if not gaps:
                basis = need.value if need is not AppliesTo.DECEASED else "a rule for the deceased"
                gaps.append(
                    Reason(f"consent.missing.{need.value}", src, f"no grant on file with legal basis {basis}")
                )
            denied.extend(gaps)
            continue
        grant_ids.append(covering.id)
        # 6. minors: family-only, and a human reviews every output
        if minor:
            audience_limit = Audience.FAMILY
            if request.audience is not Audience.FAMILY:
                denied.append(Reason("guardian", src, "a minor may be shown to the family audience only"))
                continue
            review.append(
                Reason(
                    "guardian", src, f"grant {covering.id}: a minor is shown; a human reviews every output"
                )
            )
            continue
        granted.append(Reason(covering.legal_basis, src, f"grant {covering.id} covers {modality.value}"))

    if denied:
        decision, reasons = ConsentOutcome.DENIED, denied
    elif review:
        decision, reasons = ConsentOutcome.NEEDS_REVIEW, review + granted
    else:
        decision, reasons = ConsentOutcome.GRANTED, granted
    return ConsentDecision(
        decision=decision,
        reasons=tuple(reasons),
        grant_ids=tuple(grant_ids) if decision is not ConsentOutcome.DENIED else (),
        audience_limit=audience_limit,
        attested_subjects=tuple(attested),
    )
