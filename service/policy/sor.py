"""A DSA statement of reasons a platform can file as it is (Transparency Database fields).

The statement follows the verdict (DSA Art. 17; Transparency Database statement schema):

- ``label`` of AI-generated content: the disclosure ground (``grounds.label_ground``) and
  ``label_category``, never the propaganda policy; detection Yes, decision FULLY automated.
- ``review``: the driving category's ground; the content waits for a person, so the decision is
  PARTIALLY automated; detection is Yes when a detector found something (a score, a lexicon hit,
  a bank match, provenance, a consent record), No when only a missing signal sent it.
- ``block`` (a bank match, revoked consent, a block rule an operator set): the category's ground,
  detection Yes, decision FULLY automated.
- a reviewer's ``reject`` of a ``review`` verdict (``reviewed``): the review's ground and
  detection, the block's visibility, decision NOT_AUTOMATED (a person decided).
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from service.policy import dsa
from service.policy.categories import FlagCategory
from service.policy.model import Decision, Signals, StatementOfReasons, Verdict
from service.vocabulary import Reason

if TYPE_CHECKING:
    from service.policy.load import Policy

INCOMPATIBLE = "DECISION_GROUND_INCOMPATIBLE_CONTENT"
ILLEGAL = "DECISION_GROUND_ILLEGAL_CONTENT"
AI_GENERATED_RULE = "provenance.ai_generated"
# Reasons that mean an automated detector found something in the content: a classifier score, a
# lexicon hit, a hash-bank match, the provenance read from the file (or recovered by fingerprint),
# a consent record found for it. "signal.*" reasons say a detector could NOT run: not detection.
_DETECTED = ("score.", "lexicon.", "match.block_bank", "provenance.", "consent.")


def _detected(reason: Reason) -> bool:
    return reason.rule.startswith(_DETECTED) and not reason.rule.endswith(".suppressed")


def _is_disclosure(verdict: Verdict) -> bool:
    """A ``label`` verdict that only labels AI-generated content (nothing else drove it)."""
    return (
        verdict.decision is Decision.LABEL
        and verdict.category in (None, FlagCategory.DISCLOSURE)
        and any(r.rule == AI_GENERATED_RULE for r in verdict.reasons)
    )


def statement_of_reasons(policy: Policy, signals: Signals, verdict: Verdict) -> StatementOfReasons | None:
    """None for ``allow``: nothing was restricted, so there is nothing to state."""
    if verdict.decision is Decision.ALLOW:
        return None
    g = policy.grounds
    disclosure = _is_disclosure(verdict)
    keywords: tuple[str, ...]
    if disclosure:
        category, keywords = g.label_category, ()
    elif verdict.category == "consent":
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
    # Labelling AI-generated content restricts nothing for what it depicts: its ground is the
    # disclosure rule (AI Act Art. 50 in the EU), never the propaganda policy, nor illegality.
    illegal = g.decision_ground == ILLEGAL and not disclosure
    ground, explanation = (
        (g.label_ground, g.label_explanation)
        if disclosure
        else (
            g.incompatible_content_ground,
            g.explanation,
        )
    )
    return StatementOfReasons(
        decision_visibility=(visibility,),
        decision_visibility_other=(
            "Visibility restricted while a qualified reviewer decides"
            if visibility == "DECISION_VISIBILITY_OTHER"
            else None
        ),
        decision_ground=ILLEGAL if illegal else INCOMPATIBLE,
        legal_ground=g.legal_ground if illegal else None,
        illegal_content_explanation=g.explanation if illegal else None,
        incompatible_content_ground=None if illegal else ground,
        incompatible_content_explanation=None if illegal else explanation,
        decision_ground_reference_url=g.reference_url,
        category=category,
        category_specification=keywords,
        content_type=tuple(dict.fromkeys(content_types)) or ("CONTENT_TYPE_OTHER",),
        automated_detection="Yes" if any(_detected(r) for r in verdict.reasons) else "No",
        # A review verdict holds the content until a person decides: the hold is automated, the
        # decision is not. Labels and blocks (bank matches, revoked consent, an operator's block
        # rule) are applied without a person.
        automated_decision=(
            "AUTOMATED_DECISION_PARTIALLY"
            if verdict.decision is Decision.REVIEW
            else "AUTOMATED_DECISION_FULLY"
        ),
        source_type="SOURCE_VOLUNTARY",
        decision_facts=facts,
        territorial_scope=g.territorial_scope,
    )


def reviewed(policy: Policy, statement: StatementOfReasons) -> StatementOfReasons:
    """The statement once a qualified reviewer rejects content a ``review`` verdict held: the
    restriction of a block (the policy's block visibility), decided by a person
    (``AUTOMATED_DECISION_NOT_AUTOMATED``); detection, ground and category stay the review's.
    An approval restricts nothing, so it has no statement."""
    visibility = policy.grounds.visibility[Decision.BLOCK]
    facts = f"A qualified reviewer rejected the content after review. {statement.decision_facts}"
    return replace(
        statement,
        decision_visibility=(visibility,),
        decision_visibility_other=(
            "Restricted after review by a qualified person"
            if visibility == "DECISION_VISIBILITY_OTHER"
            else None
        ),
        automated_decision="AUTOMATED_DECISION_NOT_AUTOMATED",
        decision_facts=facts[: dsa.DECISION_FACTS_LIMIT],
    )
