"""The one vocabulary of categories: what a verdict's findings are about, and what a flag is filed under.

Classifiers, the lexicon, symbol matches, policy rules and the review policy all use these names,
so the review policy's severity and SLA apply to every flag the flows raise (``vigil policy lint``
fails when a category that can be emitted has no entry in ``policies/review.yaml``).

- The six content categories are the screening taxonomy (text and image classifiers, lexicon).
- ``consent``: revoked consent, or consent that does not cover the use.
- ``hash_match``: a block-bank match (known propaganda, rejected or revoked outputs).
- ``provenance``: a C2PA manifest that does not validate.
- ``disclosure``: AI-generated content (a label; a flag only when an operator routes it to review).
- ``unscreened``: a signal that should have screened the content could not run or is not set up.
- ``appeal``: a person contests a decision (the review workflow files these itself).
"""

from __future__ import annotations

import enum


class FlagCategory(enum.StrEnum):
    WAR_GLORIFICATION = "war_glorification"
    COMBATANT_MARTYRDOM = "combatant_martyrdom"
    EXTREMIST_SYMBOLS = "extremist_symbols"
    PROPAGANDA_POSTER = "propaganda_poster"
    MINORS_MILITARISED = "minors_militarised"
    DEHUMANISATION = "dehumanisation"
    CONSENT = "consent"
    HASH_MATCH = "hash_match"
    PROVENANCE = "provenance"
    DISCLOSURE = "disclosure"
    UNSCREENED = "unscreened"
    APPEAL = "appeal"


# The screening taxonomy: what classifiers score and market policies set thresholds for.
CONTENT: tuple[FlagCategory, ...] = (
    FlagCategory.WAR_GLORIFICATION,
    FlagCategory.COMBATANT_MARTYRDOM,
    FlagCategory.EXTREMIST_SYMBOLS,
    FlagCategory.PROPAGANDA_POSTER,
    FlagCategory.MINORS_MILITARISED,
    FlagCategory.DEHUMANISATION,
)

# The category of each fixed policy rule (``rules:`` in a policy file); ``lexicon_hit`` takes the
# category of the term that fired instead.
RULE_CATEGORY: dict[str, FlagCategory] = {
    "provenance_ai_generated": FlagCategory.DISCLOSURE,
    "provenance_invalid": FlagCategory.PROVENANCE,
    "consent_revoked": FlagCategory.CONSENT,
    "block_bank": FlagCategory.HASH_MATCH,
}

LABELS: dict[FlagCategory, str] = {
    FlagCategory.WAR_GLORIFICATION: "War glorification",
    FlagCategory.COMBATANT_MARTYRDOM: "Combatant martyrdom",
    FlagCategory.EXTREMIST_SYMBOLS: "Extremist symbols",
    FlagCategory.PROPAGANDA_POSTER: "Recruitment and slogans",
    FlagCategory.MINORS_MILITARISED: "Militarised minors",
    FlagCategory.DEHUMANISATION: "Dehumanisation",
    FlagCategory.CONSENT: "Consent",
    FlagCategory.HASH_MATCH: "Hash-bank match",
    FlagCategory.PROVENANCE: "Provenance fails",
    FlagCategory.DISCLOSURE: "AI disclosure",
    FlagCategory.UNSCREENED: "Not screened",
    FlagCategory.APPEAL: "Appeal",
}


def label(name: str) -> str:
    """A person's word for a category; the raw name for one outside the vocabulary (old rows)."""
    try:
        return LABELS[FlagCategory(name)]
    except ValueError:
        return name.replace("_", " ").capitalize()
