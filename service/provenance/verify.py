"""Verification of the manifest embedded in a file → ``ProvenanceReport``.

Every validation code c2pa reports is kept (success, informational and failure) with a plain
explanation: the state alone never tells why. A manifest that cannot be parsed is ``invalid``
with a code, never an error; a file without one is ``absent`` (the manifest repository may then
recover the original's provenance, see ``repository.py``).
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any, BinaryIO

import c2pa

from service.errors import UnsupportedMediaType, public_detail
from service.media.intake import detect
from service.provenance.explain import explain
from service.provenance.model import (
    AI_SOURCE_TYPES,
    Code,
    ProvenanceReport,
    SignerInfo,
    State,
    Timestamp,
)
from service.provenance.trust import TrustStore

log = logging.getLogger(__name__)

IN_MEMORY_MAX = 32 * 1024 * 1024
_STATES = {"trusted": State.TRUSTED, "valid": State.VALID, "invalid": State.INVALID}
_INGREDIENT_KEYS = ("title", "format", "relationship", "document_id", "instance_id", "active_manifest")


def _codes(results: Mapping[str, Any] | None) -> tuple[Code, ...]:
    if not results:
        return ()
    out: list[Code] = []
    sections = [results.get("activeManifest") or {}]
    sections += [delta.get("validationDeltas") or {} for delta in results.get("ingredientDeltas") or []]
    for section in sections:
        for kind in ("failure", "informational", "success"):
            for item in section.get(kind) or []:
                code = str(item.get("code", ""))
                out.append(Code(code, explain(code, item.get("explanation")), item.get("url"), kind))
    return tuple(out)


def _actions(assertions: list[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    out: list[Mapping[str, Any]] = []
    for assertion in assertions:
        if str(assertion.get("label", "")).split(".v")[0] in ("c2pa.actions",):
            out.extend(assertion.get("data", {}).get("actions", []))
    return out


def report_from_manifest(
    store: Mapping[str, Any], results: Mapping[str, Any] | None, state: str | None, trust: TrustStore
) -> ProvenanceReport:
    label = store.get("active_manifest")
    manifest: Mapping[str, Any] = (store.get("manifests") or {}).get(label) or {}
    assertions: list[Mapping[str, Any]] = manifest.get("assertions") or []
    actions = _actions(assertions)
    source_type = next((a["digitalSourceType"] for a in actions if a.get("digitalSourceType")), None)
    vigil = {a["label"]: a.get("data") for a in assertions if str(a.get("label", "")).startswith("vigil.")}
    sig: Mapping[str, Any] = manifest.get("signature_info") or {}
    codes = _codes(results)
    raw_success = ((results or {}).get("activeManifest") or {}).get("success") or []
    trusted_raw = next(
        (str(c.get("explanation", "")) for c in raw_success if c.get("code") == "signingCredential.trusted"),
        None,
    )
    ts_codes = [c for c in codes if c.code.startswith("timeStamp.")]
    timestamp = None
    if ts_codes or sig.get("time"):
        trusted_ts = any(c.code == "timeStamp.trusted" for c in ts_codes) and not any(
            c.kind == "failure" for c in ts_codes
        )
        timestamp = Timestamp(time=sig.get("time"), trusted=trusted_ts)
    asset = vigil.get("vigil.asset") or {}
    return ProvenanceReport(
        state=_STATES.get((state or "").lower(), State.INVALID),
        codes=codes,
        signer=SignerInfo(
            issuer=sig.get("issuer"),
            common_name=sig.get("common_name"),
            serial=None if sig.get("cert_serial_number") is None else str(sig.get("cert_serial_number")),
            alg=sig.get("alg"),
        ),
        signed_at=sig.get("time"),
        timestamp=timestamp,
        digital_source_type=source_type,
        ai_generated=source_type in AI_SOURCE_TYPES,
        actions=tuple(actions),
        ingredients=tuple(
            {k: ing[k] for k in _INGREDIENT_KEYS if k in ing} for ing in manifest.get("ingredients") or []
        ),
        assertions=vigil,
        asset_id=asset.get("asset_id") if isinstance(asset, Mapping) else None,
        trust_list=trust.matched_list(trusted_raw) if trusted_raw is not None else None,
    )


def verify_file(path: Path, *, trust: TrustStore, sha256: str | None = None) -> ProvenanceReport:
    """Read and validate the embedded manifest of ``path`` (streamed from disk)."""
    media = detect(path)
    try:
        with path.open("rb") as fh:
            # Small files are read through memory (c2pa's Python stream callbacks cost more than
            # the copy); large ones are streamed from disk.
            small = path.stat().st_size <= IN_MEMORY_MAX
            stream: BinaryIO = io.BytesIO(fh.read()) if small else fh
            reader = c2pa.Reader.try_create(media.mime, stream, context=trust.context())
            if reader is None:
                return ProvenanceReport(state=State.ABSENT, sha256=sha256)
            with reader:
                store = json.loads(reader.json())
                results = reader.get_validation_results()
                state = reader.get_validation_state()
    except c2pa.C2paError.NotSupported as exc:
        raise UnsupportedMediaType(
            f"Vigil cannot read C2PA manifests in {media.name} files.", details={"detected": media.name}
        ) from exc
    except c2pa.C2paError as exc:
        # A manifest that is there but cannot be parsed is a finding about the file, not a failure.
        log.info("unreadable C2PA manifest: %s", exc.__class__.__name__)
        code = "vigil.manifest.unreadable"
        return ProvenanceReport(
            state=State.INVALID,
            codes=(Code(code, f"{explain(code, None)} (c2pa: {public_detail(exc)})", None, "failure"),),
            sha256=sha256,
        )
    report = report_from_manifest(store, results, state, trust)
    if report.trust_list is not None and "|" in report.trust_list:  # several lists could have matched
        report = _with(report, trust_list=_which_list(path, media.mime, trust))
    return _with(report, sha256=sha256)


def _which_list(path: Path, mime: str, trust: TrustStore) -> str | None:
    """The one list that trusts the signer: the file validated again against each list alone."""

    def trusted_by(narrower: TrustStore) -> bool:
        with path.open("rb") as fh, c2pa.Reader(mime, fh, context=narrower.context()) as reader:
            return str(reader.get_validation_state()).lower() == "trusted"

    return trust.matched_list("[system_anchors]", trusted_by)


def _with(report: ProvenanceReport, **changes: Any) -> ProvenanceReport:
    from dataclasses import replace

    return replace(report, **changes)
