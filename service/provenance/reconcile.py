"""Success explanations only where no failure contradicts them.

c2pa reports each check on its own: a manifest whose signature does not match may still list
``claimSignature.validated`` for the structure it could read, or ``assertion.dataHash.match``
beside a ``assertion.bmffHash.mismatch``. Shown side by side, "the signature is valid" next to
"the manifest was changed" tells a reader nothing. Every code is kept (the evidence stays
complete), but a success or informational code that a failure in the same manifest contradicts
gets an explanation that says so and names the failure, instead of its reassuring one.

Some checks are about one part of the manifest (one assertion, one ingredient, one identity
assertion): a failure contradicts them only where it names the same part (the same ``url``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from service.provenance.model import Code

_SIGNATURE_BROKEN = (
    "claimSignature.mismatch",
    "claimSignature.missing",
    "signingCredential.invalid",
    "algorithm.unsupported",
    "claim.malformed",
    "claim.cbor.invalid",
)
_BINDING_BROKEN = (
    "assertion.dataHash.mismatch",
    "assertion.dataHash.malformed",
    "assertion.dataHash.redacted",
    "assertion.bmffHash.mismatch",
    "assertion.bmffHash.malformed",
    "assertion.boxesHash.mismatch",
    "assertion.boxesHash.malformed",
    "assertion.boxesHash.unknownBox",
    "assertion.collectionHash.mismatch",
    "assertion.collectionHash.malformed",
    "assertion.collectionHash.incorrectFileCount",
    "assertion.hardBinding.redacted",
    "assertion.multipleHardBindings",
    "claim.hardBindings.missing",
    "vigil.bmff.segmentsMissing",
)
_CREDENTIAL_BROKEN = (
    "signingCredential.untrusted",
    "signingCredential.invalid",
    "signingCredential.expired",
    "signingCredential.ocsp.revoked",
    "signingCredential.revoked",
)
_VALIDITY_BROKEN = ("claimSignature.outsideValidity", "signingCredential.expired", *_SIGNATURE_BROKEN)
_TIMESTAMP_BROKEN = ("timeStamp.mismatch", "timeStamp.malformed", "timeStamp.outsideValidity")

# success code -> failures anywhere in the same manifest that contradict it
CONTRADICTED_BY: dict[str, tuple[str, ...]] = {
    "claimSignature.validated": _SIGNATURE_BROKEN,
    "claimSignature.insideValidity": _VALIDITY_BROKEN,
    "timeOfSigning.insideValidity": _VALIDITY_BROKEN,
    "signingCredential.trusted": _CREDENTIAL_BROKEN,
    "signingCredential.ocsp.notRevoked": ("signingCredential.ocsp.revoked", "signingCredential.revoked"),
    "timeStamp.validated": _TIMESTAMP_BROKEN,
    "timeStamp.trusted": (*_TIMESTAMP_BROKEN, "timeStamp.untrusted"),
    "assertion.dataHash.match": _BINDING_BROKEN,
    "assertion.bmffHash.match": _BINDING_BROKEN,
    "assertion.boxesHash.match": _BINDING_BROKEN,
    "assertion.collectionHash.match": _BINDING_BROKEN,
    "vigil.bmff.segments": _BINDING_BROKEN,
    "cawg.x509.signature.validated": ("cawg.x509.signature.mismatch", "cawg.x509.algorithm.unsupported"),
    "cawg.x509.credential.trusted": (
        "cawg.x509.credential.untrusted",
        "cawg.x509.credential.invalid",
        "cawg.x509.signature.outside_validity",
    ),
}
# success code -> failures that contradict it where they name the same part (url)
CONTRADICTED_AT_SAME_URL: dict[str, tuple[str, ...]] = {
    "assertion.hashedURI.match": ("assertion.hashedURI.mismatch", "hashedURI.mismatch", "assertion.missing"),
    "assertion.accessible": ("assertion.inaccessible",),
    "ingredient.manifest.validated": (
        "ingredient.manifest.mismatch",
        "ingredient.manifest.missing",
        "ingredient.hashedURI.mismatch",
    ),
    "ingredient.claimSignature.validated": (
        "ingredient.claimSignature.mismatch",
        "ingredient.claimSignature.missing",
    ),
    "cawg.identity.well-formed": (
        "cawg.identity.cbor.invalid",
        "cawg.identity.pad.invalid",
        "cawg.identity.assertion.mismatch",
        "cawg.identity.assertion.duplicate",
        "cawg.identity.hard_binding_missing",
        "cawg.identity.sig_type.unknown",
    ),
    "cawg.ica.credential_valid": (
        "cawg.ica.signature_mismatch",
        "cawg.ica.invalid_issuer",
        "cawg.ica.untrusted_issuer",
        "cawg.ica.valid_from.invalid",
        "cawg.ica.valid_until.invalid",
        "cawg.ica.signer_payload.mismatch",
    ),
    "cawg.ica.time_stamp.validated": ("cawg.ica.time_stamp.invalid",),
}


def contradiction(code: Code, failures: Sequence[Code]) -> list[str]:
    """The failure codes among ``failures`` that contradict ``code`` (empty when none does)."""
    if code.kind == "failure":
        return []
    anywhere = CONTRADICTED_BY.get(code.code, ())
    same_url = CONTRADICTED_AT_SAME_URL.get(code.code, ())
    found = [f.code for f in failures if f.code in anywhere]
    found += [f.code for f in failures if f.code in same_url and (f.url is None or f.url == code.url)]
    return list(dict.fromkeys(found))


def reconcile(section: Iterable[Code]) -> list[Code]:
    """The codes of one manifest, each success a failure contradicts explained as overridden."""
    codes = list(section)
    failures = [c for c in codes if c.kind == "failure"]
    out: list[Code] = []
    for code in codes:
        against = contradiction(code, failures)
        if against:
            names = ", ".join(against)
            code = Code(
                code.code,
                f"Overridden by {names}: this check passed on its own, but the failure reported beside "
                "it means its result cannot be relied on.",
                code.url,
                code.kind,
            )
        out.append(code)
    return out
