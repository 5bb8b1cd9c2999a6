"""Every status code the bundled c2pa-rs can emit has Vigil's own explanation, and a success is
never explained as a pass beside a failure that contradicts it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from service.provenance.explain import EXPLANATIONS, explain
from service.provenance.model import Code
from service.provenance.reconcile import contradiction
from service.provenance.verify import _codes

CODES_FILE = Path(__file__).parent / "data" / "c2pa_status_codes.txt"


def _listed() -> list[str]:
    lines = CODES_FILE.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def test_the_list_names_its_source_and_is_the_whole_set() -> None:
    header = CODES_FILE.read_text(encoding="utf-8")
    assert "github.com/contentauth/c2pa-rs" in header
    assert "24d17555beafb70c15e1e1e4054ac3c06fbba1c0" in header
    assert "MIT OR Apache-2.0" in header
    codes = _listed()
    assert len(codes) == len(set(codes)) >= 120
    assert {"claimSignature.mismatch", "manifest.inaccessible", "signingCredential.ocsp.revoked"} <= set(
        codes
    )


@pytest.mark.parametrize("code", _listed())
def test_every_c2pa_status_code_has_vigils_explanation(code: str) -> None:
    assert code in EXPLANATIONS, f"{code} has no explanation in service/provenance/explain.py"
    text = explain(code, "c2pa's own text")
    assert text != "c2pa's own text"
    assert text.endswith(".")
    assert len(text) > 20


def _item(code: str, url: str | None = None) -> dict[str, Any]:
    return {"code": code, "explanation": "c2pa", "url": url}


def _results(success: list[Any], failure: list[Any], deltas: list[Any] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"activeManifest": {"success": success, "failure": failure, "informational": []}}
    if deltas is not None:
        out["ingredientDeltas"] = [{"validationDeltas": {"failure": deltas}}]
    return out


def _by_code(codes: tuple[Code, ...]) -> dict[str, str]:
    return {c.code: c.explanation for c in codes}


def test_a_signature_mismatch_overrides_the_signature_successes() -> None:
    codes = _by_code(
        _codes(
            _results(
                [_item("claimSignature.validated"), _item("claimSignature.insideValidity")],
                [_item("claimSignature.mismatch"), _item("signingCredential.untrusted")],
            )
        )
    )
    assert codes["claimSignature.validated"].startswith("Overridden by claimSignature.mismatch")
    assert codes["claimSignature.insideValidity"].startswith("Overridden by claimSignature.mismatch")
    assert "intact" not in codes["signingCredential.untrusted"]  # a failure never vouches for the signature
    assert codes["claimSignature.mismatch"] == EXPLANATIONS["claimSignature.mismatch"]


def test_a_content_hash_failure_overrides_every_content_hash_success() -> None:
    codes = _by_code(
        _codes(_results([_item("assertion.dataHash.match")], [_item("assertion.bmffHash.mismatch")]))
    )
    assert codes["assertion.dataHash.match"].startswith("Overridden by assertion.bmffHash.mismatch")


def test_a_per_assertion_success_is_overridden_only_by_a_failure_of_the_same_assertion() -> None:
    a, b = "self#jumbf=c2pa/m/c2pa.assertions/a", "self#jumbf=c2pa/m/c2pa.assertions/b"
    codes = _codes(
        _results(
            [_item("assertion.hashedURI.match", a), _item("assertion.hashedURI.match", b)],
            [_item("assertion.hashedURI.mismatch", b)],
        )
    )
    explained = {c.url: c.explanation for c in codes if c.code == "assertion.hashedURI.match"}
    assert explained[a] == EXPLANATIONS["assertion.hashedURI.match"]
    assert explained[b].startswith("Overridden by assertion.hashedURI.mismatch")


def test_an_ingredients_failure_does_not_override_the_active_manifest() -> None:
    codes = _codes(
        _results([_item("claimSignature.validated")], [], deltas=[_item("claimSignature.mismatch")])
    )
    [validated] = [c for c in codes if c.code == "claimSignature.validated"]
    assert validated.explanation == EXPLANATIONS["claimSignature.validated"]


def test_without_failures_successes_keep_their_explanations() -> None:
    success = ["claimSignature.validated", "signingCredential.trusted", "assertion.dataHash.match"]
    codes = _by_code(_codes(_results([_item(c) for c in success], [])))
    assert codes == {c: EXPLANATIONS[c] for c in success}


def test_no_success_explanation_claims_what_another_code_checks() -> None:
    """Explanations state only their own check: no success text vouches for the signature or the
    content unless it is that check's own code."""
    for code, text in EXPLANATIONS.items():
        if not code.startswith(("claimSignature.", "timeOfSigning.")):
            assert "signature is intact" not in text, code
        if code.endswith((".mismatch", ".untrusted", ".invalid", ".expired", ".revoked")):
            assert "intact" not in text, code
    assert contradiction(Code("claimSignature.validated", "", None, "success"), []) == []
