"""Provenance:
signing keys and certificates, trust anchors, C2PA sign and verify, and the manifest repository.
"""

from service.provenance.model import (
    ConsentAssertion,
    Ingredient,
    ModerationAssertion,
    ProvenanceReport,
    ProvenanceState,
    SignedAsset,
    SignSpec,
)
from service.provenance.notary import Notary, fingerprints
from service.provenance.sign import sign_file
from service.provenance.verify import verify_file

__all__ = [
    "ConsentAssertion",
    "Ingredient",
    "ModerationAssertion",
    "Notary",
    "ProvenanceReport",
    "ProvenanceState",
    "SignSpec",
    "SignedAsset",
    "fingerprints",
    "sign_file",
    "verify_file",
]
