"""Plain-language explanations of C2PA validation codes (C2PA 2.x §15 "Validation")."""

from __future__ import annotations

EXPLANATIONS: dict[str, str] = {
    "signingCredential.trusted": "The signing certificate chains to a trust anchor Vigil was given.",
    "signingCredential.untrusted": "The signature is intact, but the signer's certificate does not chain "
    "to any trust anchor given to this verifier.",
    "signingCredential.invalid": "The signing certificate is malformed or not allowed to sign C2PA claims.",
    "signingCredential.expired": "The signing certificate had expired when the manifest was checked, and no "
    "trusted timestamp proves it was signed while the certificate was valid.",
    "signingCredential.revoked": "The signing certificate was revoked by its issuer.",
    "signingCredential.ocsp.skipped": "Certificate revocation (OCSP) was not checked.",
    "claimSignature.validated": "The signature over the manifest is cryptographically valid.",
    "claimSignature.insideValidity": "The manifest was signed within the certificate's validity period.",
    "claimSignature.outsideValidity": "The manifest was signed outside the certificate's validity period.",
    "claimSignature.mismatch": "The signature does not match the manifest: the manifest was changed.",
    "claimSignature.missing": "The manifest has no signature.",
    "assertion.hashedURI.match": "An assertion is unchanged since signing.",
    "assertion.hashedURI.mismatch": "An assertion was changed after signing.",
    "assertion.dataHash.match": "The file's content is byte-for-byte what was signed.",
    "assertion.dataHash.mismatch": "The file's content was changed after signing (its hash differs).",
    "assertion.bmffHash.match": "The video or audio content is what was signed.",
    "assertion.bmffHash.mismatch": "The video or audio content was changed after signing (its hash differs).",
    "assertion.boxesHash.match": "The file's content is what was signed.",
    "assertion.boxesHash.mismatch": "The file's content was changed after signing (its hash differs).",
    "assertion.missing": "An assertion the manifest refers to is missing.",
    "assertion.action.malformed": "An action in the manifest is malformed.",
    "timeStamp.trusted": "A trusted timestamp authority proves when the manifest was signed.",
    "timeStamp.validated": "The timestamp over the signature is valid.",
    "timeStamp.untrusted": "The manifest has a timestamp from an authority that is not trusted.",
    "timeStamp.mismatch": "The timestamp does not match the signature.",
    "timeStamp.outsideValidity": "The timestamp lies outside the validity of its authority's certificate.",
    "claim.malformed": "The manifest is malformed.",
    "manifest.inaccessible": "The manifest could not be read.",
    "ingredient.manifest.validated": "An ingredient's own manifest is valid.",
    "vigil.manifest.unreadable": "The file carries a C2PA manifest that cannot be parsed (it is corrupted "
    "or was altered), so nothing it claims can be relied on.",
    "vigil.recovered.fingerprint": "This file carries no manifest; Vigil found a signed original that "
    "looks the same (perceptual fingerprint) in its manifest repository. What follows is the "
    "provenance of that original, not a cryptographic binding to this copy.",
    "vigil.recovered.sha256": "This file carries no manifest, but its exact bytes were signed by Vigil; "
    "the manifest repository holds the original's provenance.",
}


def explain(code: str, fallback: str | None) -> str:
    return EXPLANATIONS.get(code) or fallback or code
