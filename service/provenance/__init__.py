"""Provenance:
signing keys and certificates, trust anchors, C2PA sign and verify, and the manifest repository.
"""
