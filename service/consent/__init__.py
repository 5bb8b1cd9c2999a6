"""Consent for digital replicas: subjects, grants, directives, objections, revocation.

``registry`` is what callers use: it checks a change against the rules, writes it and logs it
(subjects, evidence, grants, objections, directives, output links, revocation, deletions);
``evaluate`` decides whether the consent on file covers a generation request (directives first);
``store`` and ``revocation_store`` hold the SQL and return the values of ``model``; ``rules``
loads the grantor rules of ``policies/consent/``.
"""

from service.consent.evaluate import evaluate
from service.consent.model import ConsentDecision, ConsentOutcome, ConsentRequest
from service.consent.rules import GrantorRule, RuleBook

__all__ = ["ConsentDecision", "ConsentOutcome", "ConsentRequest", "GrantorRule", "RuleBook", "evaluate"]
