"""Consent for digital replicas: subjects, grants, directives, objections, revocation.

``evaluate`` decides whether the consent on file covers a generation request (directives first);
``store`` holds the SQL; ``rules`` loads the grantor rules of ``policies/consent/``.
"""

from service.consent.evaluate import evaluate
from service.consent.model import ConsentDecision, ConsentRequest, Decision, Reason
from service.consent.rules import GrantorRule, RuleBook

__all__ = ["ConsentDecision", "ConsentRequest", "Decision", "GrantorRule", "Reason", "RuleBook", "evaluate"]
