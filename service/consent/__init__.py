"""Consent for likeness and voice:
subjects, grants, directives, grantor rules by jurisdiction, and evaluate -> ConsentDecision.
"""
