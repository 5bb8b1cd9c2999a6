"""Plain-language explanations of C2PA validation codes (C2PA 2.x §15 "Validation").

Every code the bundled c2pa-rs can emit has one here (tests/provenance/data/c2pa_status_codes.txt
lists them, and a test walks the list); c2pa's own text is the fallback for a code a newer
library adds. A success explanation states only what its own check found, so it never vouches
for something another code may contradict; ``reconcile.py`` replaces it where a failure does.
"""

from __future__ import annotations

_C2PA: dict[str, str] = {
    # --- the claim signature and the signer's certificate ---
    "claimSignature.validated": "The signature over the manifest is cryptographically valid.",
    "claimSignature.insideValidity": "The manifest was signed within the certificate's validity period.",
    "claimSignature.outsideValidity": "The manifest was signed outside the certificate's validity period.",
    "claimSignature.mismatch": "The signature does not match the manifest: the manifest was changed.",
    "claimSignature.missing": "The manifest has no signature.",
    "timeOfSigning.insideValidity": "The signing time the signature states lies within the certificate's "
    "validity period.",
    "signingCredential.trusted": "The signing certificate chains to a trust anchor Vigil was given.",
    "signingCredential.untrusted": "The signer's certificate does not chain to any trust anchor given to "
    "this verifier, so who signed cannot be confirmed.",
    "signingCredential.invalid": "The signing certificate is malformed or not allowed to sign C2PA claims.",
    "signingCredential.expired": "The signing certificate had expired when the manifest was checked, and no "
    "trusted timestamp proves it was signed while the certificate was valid.",
    "signingCredential.ocsp.revoked": "The signing certificate was revoked by its issuer (OCSP).",
    "signingCredential.ocsp.notRevoked": "The certificate's issuer says (OCSP) it has not been revoked.",
    "signingCredential.ocsp.skipped": "Certificate revocation (OCSP) was not checked.",
    "signingCredential.ocsp.inaccessible": "Certificate revocation (OCSP) could not be checked: the "
    "issuer's responder did not answer.",
    "signingCredential.ocsp.unknown": "The certificate's issuer answered that it does not know the "
    "certificate's revocation status (OCSP).",
    "algorithm.unsupported": "The manifest uses a hashing or signature algorithm that is unknown or not "
    "allowed, so that part cannot be checked.",
    "algorithm.deprecated": "The manifest uses a deprecated algorithm; it was still checked.",
    # --- timestamps ---
    "timeStamp.trusted": "A trusted timestamp authority proves when the manifest was signed.",
    "timeStamp.validated": "The timestamp over the signature is valid.",
    "timeStamp.untrusted": "The manifest has a timestamp from an authority that is not trusted.",
    "timeStamp.mismatch": "The timestamp does not match the signature.",
    "timeStamp.malformed": "The timestamp is malformed, so it proves nothing about when the manifest was "
    "signed.",
    "timeStamp.outsideValidity": "The timestamp lies outside the validity of its authority's certificate.",
    "assertion.timestamp.malformed": "The manifest's timestamp assertion is malformed.",
    # --- the binding of the manifest to the file's content ---
    "assertion.dataHash.match": "The hash of the file's content matches the hash the manifest signed.",
    "assertion.dataHash.mismatch": "The file's content was changed after signing (its hash differs).",
    "assertion.dataHash.malformed": "The manifest's content hash (data hash) is malformed, so the content "
    "cannot be checked.",
    "assertion.dataHash.redacted": "The manifest's content hash was redacted, so the content cannot be "
    "checked.",
    "assertion.dataHash.additionalExclusionsPresent": "The content hash leaves out more of the file than "
    "the manifest itself: the bytes it excludes were not checked.",
    "assertion.bmffHash.match": "The hash of the video or audio content matches the hash the manifest "
    "signed.",
    "assertion.bmffHash.mismatch": "The video or audio content was changed after signing (its hash differs).",
    "assertion.bmffHash.malformed": "The manifest's video/audio hash is malformed, so the content cannot be "
    "checked.",
    "assertion.bmffHash.additionalExclusionsPresent": "The video/audio hash leaves out boxes beyond the "
    "manifest's own: the content in them was not checked.",
    "assertion.boxesHash.match": "The hash of the file's content matches the hash the manifest signed.",
    "assertion.boxesHash.mismatch": "The file's content was changed after signing (its hash differs).",
    "assertion.boxesHash.malformed": "The manifest's content hash (boxes hash) is malformed, so the content "
    "cannot be checked.",
    "assertion.boxesHash.unknownBox": "The file holds parts (boxes) the manifest's content hash does not "
    "list, or in another order: the file's structure was changed after signing.",
    "assertion.boxesHash.additionalExclusionsPresent": "The content hash leaves out parts of the file "
    "beyond the manifest's own: those parts were not checked.",
    "assertion.collectionHash.match": "Every file of the signed collection matches its signed hash.",
    "assertion.collectionHash.mismatch": "A file of the signed collection was changed after signing.",
    "assertion.collectionHash.incorrectFileCount": "A file listed in the signed collection is missing.",
    "assertion.collectionHash.invalidURI": "The signed collection names a file by a path with '.' or '..', "
    "which is not allowed.",
    "assertion.collectionHash.malformed": "The manifest's collection hash is malformed.",
    "claim.hardBindings.missing": "The manifest has no hash of the file's content, so it is not bound to "
    "this file.",
    "assertion.multipleHardBindings": "The manifest has more than one hash of the file's content, which is "
    "not allowed.",
    "assertion.hardBinding.redacted": "The manifest's hash of the file's content was redacted, which is "
    "not allowed: the content cannot be checked.",
    "assertion.cloud-data.hardBinding": "The hash of the file's content sits in a remote (cloud data) "
    "assertion, which is not allowed.",
    "assertion.cloud-data.actions": "An update manifest points to actions in a remote (cloud data) "
    "assertion, which is not allowed.",
    "assertion.cloud-data.malformed": "A remote (cloud data) assertion is incomplete.",
    # --- the claim, its assertions and the references between them ---
    "claim.malformed": "The manifest is malformed.",
    "claim.missing": "A manifest the file refers to cannot be found.",
    "claim.multiple": "The manifest holds more than one claim, which is not allowed.",
    "claim.required.missing": "The manifest lacks a field it must have.",
    "claim.cbor.invalid": "The manifest's claim is not valid CBOR: it cannot be read reliably.",
    "assertion.hashedURI.match": "An assertion is unchanged since signing.",
    "assertion.hashedURI.mismatch": "An assertion was changed after signing.",
    "assertion.missing": "An assertion the manifest refers to is missing.",
    "assertion.undeclared": "The manifest holds an assertion its signed claim does not list: it was added "
    "after signing.",
    "assertion.accessible": "A remote assertion the manifest refers to could be fetched.",
    "assertion.inaccessible": "A remote assertion the manifest refers to could not be fetched.",
    "assertion.outsideManifest": "The claim lists an assertion stored outside its own manifest, which is "
    "not allowed.",
    "assertion.notRedacted": "An assertion declared as redacted is still present.",
    "assertion.selfRedacted": "An assertion was declared redacted by the very manifest that holds it, "
    "which is not allowed.",
    "assertion.required.missing": "An assertion lacks a field it must have.",
    "assertion.json.invalid": "An assertion is not valid JSON.",
    "assertion.cbor.invalid": "An assertion is not valid CBOR.",
    "assertion.metadata.disallowed": "A metadata assertion holds a field the C2PA specification does not "
    "allow.",
    "assertion.ingredient.malformed": "An ingredient assertion is incomplete.",
    "assertion.external-reference.malformed": "An external-reference assertion cannot be decoded.",
    "assertion.action.malformed": "An action in the manifest is malformed.",
    "assertion.action.ingredientMismatch": "An action that needs an ingredient names none, or one that "
    "cannot be found.",
    "assertion.action.redacted": "An actions assertion was redacted, which is not allowed.",
    "assertion.action.redactionMismatch": "An action that declares a redaction names none, or one that "
    "cannot be found.",
    "assertion.action.softBindingMissing": "A watermarking action has no soft-binding assertion to go "
    "with it.",
    "hashedURI.missing": "Data a signed reference points to cannot be found.",
    "hashedURI.mismatch": "Data a signed reference points to was changed after signing.",
    # --- the manifest store and its manifests ---
    "manifest.inaccessible": "The manifest is not in the file: the file points to it at a URL "
    "(remote_manifest_url), and Vigil does not fetch manifests from URLs a file names. Nothing about "
    "this file's provenance was checked.",
    "manifest.unknownProvenance": "The manifest cannot be interpreted by this version of the C2PA library.",
    "manifest.unreferenced": "The file holds a manifest that no other manifest refers to.",
    "manifest.multipleParents": "The manifest names more than one parent ingredient, which is not allowed.",
    "manifest.update.invalid": "An update manifest holds a content hash or actions, which it may not.",
    "manifest.update.wrongParents": "An update manifest must have exactly one parent ingredient; this "
    "one does not.",
    "manifest.timestamp.invalid": "A timestamp manifest holds an assertion it may not.",
    "manifest.timestamp.wrongParents": "A timestamp manifest must have exactly one parent ingredient; this "
    "one does not.",
    "manifest.compressed.invalid": "A compressed manifest cannot be decompressed.",
    "general.error": "The C2PA library hit an error while validating this part.",
    "com.adobe.prerelease": "The manifest was made by a pre-release C2PA version and is not validated.",
    # --- ingredients (the inputs the manifest names) ---
    "ingredient.manifest.validated": "An ingredient's own manifest is unchanged since it was recorded.",
    "ingredient.manifest.mismatch": "An ingredient's manifest was changed after it was recorded.",
    "ingredient.manifest.missing": "An ingredient's manifest could not be found.",
    "ingredient.claimSignature.validated": "An ingredient's signature is the one that was recorded.",
    "ingredient.claimSignature.mismatch": "An ingredient's signature differs from the one recorded.",
    "ingredient.claimSignature.missing": "An ingredient's signature could not be found.",
    "ingredient.hashedURI.mismatch": "A reference to an ingredient's claim does not match it.",
    "ingredient.unknownProvenance": "An ingredient has no manifest of its own: its origin is unknown.",
    # --- CAWG identity assertions (who, beside the signer, vouches for the content) ---
    "cawg.identity.well-formed": "An identity assertion is well formed.",
    "cawg.identity.cbor.invalid": "An identity assertion is not valid CBOR.",
    "cawg.identity.pad.invalid": "An identity assertion's padding is invalid.",
    "cawg.identity.assertion.mismatch": "An identity assertion refers to an assertion that does not match.",
    "cawg.identity.assertion.duplicate": "An identity assertion refers to the same assertion twice.",
    "cawg.identity.hard_binding_missing": "An identity assertion does not cover the content hash.",
    "cawg.identity.sig_type.unknown": "An identity assertion uses a signature type this verifier does not "
    "know.",
    "cawg.x509.signature.validated": "An identity assertion's X.509 signature is valid.",
    "cawg.x509.signature.mismatch": "An identity assertion's X.509 signature does not match.",
    "cawg.x509.signature.outside_validity": "An identity assertion was signed outside its certificate's "
    "validity period.",
    "cawg.x509.algorithm.unsupported": "An identity assertion's signature algorithm is not allowed.",
    "cawg.x509.credential.trusted": "An identity assertion's certificate chains to a trust anchor.",
    "cawg.x509.credential.untrusted": "An identity assertion's certificate does not chain to any trust "
    "anchor given to this verifier.",
    "cawg.x509.credential.invalid": "An identity assertion's certificate does not meet the C2PA "
    "certificate profile.",
    "cawg.ica.credential_valid": "An identity claims aggregation credential is valid.",
    "cawg.ica.untrusted_issuer": "An identity claims aggregation credential's issuer is not on the "
    "trusted list: the identity is not confirmed.",
    "cawg.ica.invalid_issuer": "An identity claims aggregation credential names an invalid issuer.",
    "cawg.ica.did_unavailable": "The issuer's DID document of an identity credential could not be read.",
    "cawg.ica.invalid_did_document": "The issuer's DID document of an identity credential is invalid.",
    "cawg.ica.signature_mismatch": "An identity credential's signature does not match.",
    "cawg.ica.invalid_alg": "An identity credential uses an algorithm that is not allowed.",
    "cawg.ica.invalid_content_type": "An identity credential has the wrong content type.",
    "cawg.ica.invalid_cose_sign1": "An identity credential's COSE signature structure is invalid.",
    "cawg.ica.invalid_verifiable_credential": "An identity credential is not a valid verifiable credential.",
    "cawg.ica.signer_payload.mismatch": "An identity credential does not match what the identity "
    "assertion signs.",
    "cawg.ica.time_stamp.validated": "An identity credential's timestamp is valid.",
    "cawg.ica.time_stamp.invalid": "An identity credential's timestamp is invalid.",
    "cawg.ica.valid_from.missing": "An identity credential has no start of validity.",
    "cawg.ica.valid_from.invalid": "An identity credential was not yet valid when it was used.",
    "cawg.ica.valid_until.invalid": "An identity credential had expired when it was used.",
}

_VIGIL: dict[str, str] = {
    "vigil.manifest.unreadable": "The file carries a C2PA manifest that cannot be parsed (it is corrupted "
    "or was altered), so nothing it claims can be relied on.",
    "vigil.container.unparsed": "This file carries no C2PA manifest: it holds no manifest bytes, and the "
    "C2PA library could not parse its structure to look further (a streamed WAV with no length, for "
    "example). Nothing about its provenance was checked.",
    "vigil.manifest.remote": "The file carries only a reference to a manifest at a URL "
    "(remote_manifest_url); the manifest itself is not in these bytes.",
    "vigil.bmff.segmentsMissing": "This is a DASH/CMAF initialisation segment: its manifest hashes the "
    "media segments, which were not given, so the content could not be checked. Verify it together "
    "with its segments.",
    "vigil.bmff.segments": "The media segments given with this initialisation segment were each checked "
    "against its manifest.",
    "vigil.recovered.fingerprint": "This file carries no manifest; Vigil found a signed original that "
    "looks the same (perceptual fingerprint) in its manifest repository. The original's provenance is "
    "reported beside this file's checks (`original`), not as a cryptographic binding to this copy.",
    "vigil.recovered.sha256": "This file carries no manifest, but its exact bytes were signed by Vigil; "
    "the manifest repository holds the original's provenance (`original`).",
}

EXPLANATIONS: dict[str, str] = {
    **_C2PA,
    "signingCredential.revoked": _C2PA["signingCredential.ocsp.revoked"],  # the C2PA 1.x name
    **_VIGIL,
}


def explain(code: str, fallback: str | None) -> str:
    return EXPLANATIONS.get(code) or fallback or code
