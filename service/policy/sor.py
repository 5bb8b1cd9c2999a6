"""A DSA statement of reasons a platform can file as it is (Transparency Database fields)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from service.policy import dsa
from service.policy.model import Decision, Signals, StatementOfReasons, Verdict

if TYPE_CHECKING:
    from service.policy.load import Policy


def statement_of_reasons(policy: Policy, signals: Signals, verdict: Verdict) -> StatementOfReasons | None:
    """None for ``allow``: nothing was restricted, so there is nothing to state."""
    if verdict.decision is Decision.ALLOW:
        return None
    g = policy.grounds
    if verdict.category == "consent":
        category, keywords = g.consent_category, g.consent_keywords
    elif verdict.category is not None and verdict.category in policy.categories:
        cat = policy.categories[verdict.category]
        category, keywords = cat.dsa_category, cat.dsa_keywords
    else:
        category, keywords = g.label_category, ()
    content_types = [
        dsa.CONTENT_TYPE_OF_KIND[k] for k in signals.content_kinds if k in dsa.CONTENT_TYPE_OF_KIND
    ]
    if verdict.provenance is not None and verdict.provenance.ai_generated:
        content_types.append("CONTENT_TYPE_SYNTHETIC_MEDIA")
    facts = "; ".join(
        f"{r.rule} [{r.source}]: {r.detail}" for r in verdict.reasons if not r.rule.endswith("allow_bank")
    )
    facts = f"Policy {verdict.policy_version}. {facts}"[: dsa.DECISION_FACTS_LIMIT]
    visibility = g.visibility[verdict.decision]
    illegal = g.decision_ground == "DECISION_GROUND_ILLEGAL_CONTENT"
    return StatementOfReasons(
        decision_visibility=(visibility,),
        decision_visibility_other=(
            "Visibility restricted while a qualified reviewer decides"
            if visibility == "DECISION_VISIBILITY_OTHER"
            else None
        ),
        decision_ground=g.decision_ground,
        legal_ground=g.legal_ground if illegal else None,
        illegal_content_explanation=g.explanation if illegal else None,
        incompatible_content_ground=None if illegal else g.incompatible_content_ground,
        incompatible_content_explanation=None if illegal else g.explanation,
        decision_ground_reference_url=g.reference_url,
        category=category,
        category_specification=keywords,
        content_type=tuple(dict.fromkeys(content_types)) or ("CONTENT_TYPE_OTHER",),
        # Detection was automated (classifiers, hash matching, provenance checks); a review verdict
        # hands the decision to a person, so it is only partly automated.
        automated_detection="Yes",
        automated_decision=(
            "AUTOMATED_DECISION_PARTIALLY"
            if verdict.decision is Decision.REVIEW
            else "AUTOMATED_DECISION_FULLY"
        ),
        source_type="SOURCE_VOLUNTARY",
        decision_facts=facts,
        territorial_scope=g.territorial_scope,
    )
