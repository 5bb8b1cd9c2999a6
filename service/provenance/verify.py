"""Verification of the manifest embedded in a file → ``ProvenanceReport``.

Every validation code c2pa reports is kept (success, informational and failure) with a plain
explanation (``explain.py``), a success one replaced where a failure contradicts it
(``reconcile.py``): the state alone never tells why. Outcomes:

- a manifest that is there but cannot be parsed: ``invalid`` with a code, never an error;
- no manifest bytes at all: ``absent`` (the manifest repository may then recover the
  original's provenance, see ``notary.py``), also where c2pa cannot walk the container: a
  streamed WAV whose RIFF size is 0xFFFFFFFF has no manifest, it is not "corrupted";
- a reference to a manifest at a URL and no manifest in the file: ``absent`` with
  ``manifest.inaccessible`` and ``remote_manifest_url``; remote fetching stays off, so Vigil
  never follows a URL an untrusted file names;
- a DASH/CMAF initialisation segment: its manifest's content hash covers the media segments,
  checked one by one when they are given (``segments``); without them the report says the
  content was not checked (``vigil.bmff.segmentsMissing``) rather than "changed".
"""

from __future__ import annotations

import dataclasses
import io
import json
import logging
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

import c2pa

from service.errors import MediaRejected, UnsupportedMediaType, public_detail
from service.media.bmff import is_init_segment, is_media_segment
from service.media.intake import detect
from service.media.sniff import PROVENANCE
from service.provenance.explain import explain
from service.provenance.model import Code, ProvenanceReport, ProvenanceState, SignerInfo, Timestamp
from service.provenance.probe import carries_manifest, remote_url
from service.provenance.reconcile import reconcile
from service.provenance.trust import TrustStore
from service.vocabulary import AI_SOURCE_TYPES

log = logging.getLogger(__name__)

IN_MEMORY_MAX = 32 * 1024 * 1024
MAX_SEGMENTS = 64
_STATES = {
    "trusted": ProvenanceState.TRUSTED,
    "valid": ProvenanceState.VALID,
    "invalid": ProvenanceState.INVALID,
}
_INGREDIENT_KEYS = ("title", "format", "relationship", "document_id", "instance_id", "active_manifest")
_BMFF_CODES = ("assertion.bmffHash.mismatch", "assertion.bmffHash.match")


def _code(code: str, kind: str, sdk: str | None = None, url: str | None = None) -> Code:
    return Code(code, explain(code, sdk), url, kind)


def _codes(results: Mapping[str, Any] | None) -> tuple[Code, ...]:
    if not results:
        return ()
    out: list[Code] = []
    sections = [results.get("activeManifest") or {}]
    sections += [delta.get("validationDeltas") or {} for delta in results.get("ingredientDeltas") or []]
    for section in sections:
        found = [
            _code(str(item.get("code", "")), kind, item.get("explanation"), item.get("url"))
            for kind in ("failure", "informational", "success")
            for item in section.get(kind) or []
        ]
        out += reconcile(found)
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
        state=_STATES.get((state or "").lower(), ProvenanceState.INVALID),
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


@contextmanager
def _stream(path: Path) -> Iterator[BinaryIO]:
    """Small files through memory (c2pa's Python stream callbacks cost more than the copy),
    large ones streamed from disk."""
    with path.open("rb") as fh:
        yield io.BytesIO(fh.read()) if path.stat().st_size <= IN_MEMORY_MAX else fh


def _is_remote(exc: c2pa.C2paError) -> bool:
    # c2pa-rs's C API prefixes these "Remote:"; c2pa-python 0.38.1 maps only "RemoteManifest:" to
    # its RemoteManifest class, so the base class arrives with the prefix in its message.
    return isinstance(exc, c2pa.C2paError.RemoteManifest) or str(exc).startswith(
        ("Remote:", "RemoteManifest:")
    )


def verify_file(
    path: Path, *, trust: TrustStore, sha256: str | None = None, segments: Sequence[Path] = ()
) -> ProvenanceReport:
    """Read and validate the embedded manifest of ``path`` (streamed from disk); ``segments``:
    the media segments of a DASH/CMAF initialisation segment, checked against its manifest."""
    media = detect(path, PROVENANCE)
    init = media.name in ("mp4", "mov") and is_init_segment(path)
    if segments and not init:
        raise MediaRejected(
            "Media segments go with a DASH/CMAF initialisation segment; this file is not one."
        )
    try:
        with _stream(path) as stream:
            reader = c2pa.Reader.try_create(media.mime, stream, context=trust.context())
            if reader is None:
                return ProvenanceReport(state=ProvenanceState.ABSENT, sha256=sha256)
            with reader:
                if segments:
                    return dataclasses.replace(
                        _with_segments(reader, path, media.mime, segments, trust), sha256=sha256
                    )
                store = json.loads(reader.json())
                results = reader.get_validation_results()
                state = reader.get_validation_state()
    except c2pa.C2paError.NotSupported as exc:
        raise UnsupportedMediaType(
            f"Vigil cannot read C2PA manifests in {media.name} files.", details={"detected": media.name}
        ) from exc
    except c2pa.C2paError as exc:
        return _unread(path, exc, sha256)
    report = report_from_manifest(store, results, state, trust)
    if report.trust_list is not None and "|" in report.trust_list:  # several lists could have matched
        report = dataclasses.replace(report, trust_list=_which_list(path, media.mime, trust))
    if init:
        report = _without_segments(report)
    return dataclasses.replace(report, sha256=sha256)


def _which_list(path: Path, mime: str, trust: TrustStore) -> str | None:
    """The one list that trusts the signer: the file validated again against each list alone."""

    def trusted_by(narrower: TrustStore) -> bool:
        with path.open("rb") as fh, c2pa.Reader(mime, fh, context=narrower.context()) as reader:
            return str(reader.get_validation_state()).lower() == "trusted"

    return trust.matched_list("[system_anchors]", trusted_by)


def _unread(path: Path, exc: c2pa.C2paError, sha256: str | None) -> ProvenanceReport:
    """What a c2pa error while reading says about the file."""
    if _is_remote(exc):
        url = remote_url(str(exc))
        log.info("remote manifest reference, not fetched")
        return ProvenanceReport(
            state=ProvenanceState.ABSENT,
            codes=(
                _code("manifest.inaccessible", "failure", url=url),
                _code("vigil.manifest.remote", "informational"),
            ),
            sha256=sha256,
            remote_manifest_url=url,
        )
    detail = public_detail(exc)
    if not carries_manifest(path):
        # c2pa could not walk the container, and there is no manifest in it to have failed on.
        note = _code("vigil.container.unparsed", "informational")
        return ProvenanceReport(
            state=ProvenanceState.ABSENT,
            codes=(dataclasses.replace(note, explanation=f"{note.explanation} (c2pa: {detail})"),),
            sha256=sha256,
        )
    # A manifest that is there but cannot be parsed is a finding about the file, not a failure.
    log.info("unreadable C2PA manifest: %s", exc.__class__.__name__)
    code = "vigil.manifest.unreadable"
    return ProvenanceReport(
        state=ProvenanceState.INVALID,
        codes=(Code(code, f"{explain(code, None)} (c2pa: {detail})", None, "failure"),),
        sha256=sha256,
    )


def _without_segments(report: ProvenanceReport) -> ProvenanceReport:
    """An initialisation segment read alone: c2pa checks its content hash as if the file were a
    whole MP4 and reports a mismatch; the truth is that the media was not there to check."""
    codes: list[Code] = [_code("vigil.bmff.segmentsMissing", "failure")]
    for c in report.codes:
        if c.code in _BMFF_CODES:
            c = dataclasses.replace(c, explanation="Not checked: the content hash covers the media segments, "
                                   "which were not given with this initialisation segment.")  # fmt: skip
        codes.append(c)
    return dataclasses.replace(report, codes=tuple(reconcile(codes)))


def _with_segments(
    reader: c2pa.Reader, init: Path, mime: str, segments: Sequence[Path], trust: TrustStore
) -> ProvenanceReport:
    """Each media segment checked against the initialisation segment's manifest; the report of
    the first that fails, else of the last, with a code saying how many were checked."""
    if len(segments) > MAX_SEGMENTS:
        raise MediaRejected(f"Send at most {MAX_SEGMENTS} media segments with an initialisation segment.")
    report: ProvenanceReport | None = None
    for index, segment in enumerate(segments):
        with segment.open("rb") as fh:
            head = fh.read(16)
        if not is_media_segment(head):
            raise UnsupportedMediaType(
                f"Segment {index + 1} is not a DASH/CMAF media segment (it starts with no styp, sidx or "
                "moof box).",
                details={"segment": index + 1},
            )
        with _stream(init) as init_stream, _stream(segment) as segment_stream:
            reader.with_fragment(mime, init_stream, segment_stream)
        report = report_from_manifest(
            json.loads(reader.json()), reader.get_validation_results(), reader.get_validation_state(), trust
        )
        if report.state is ProvenanceState.INVALID:
            note = _code("vigil.bmff.segments", "failure")
            failing = f"Media segment {index + 1} of {len(segments)} fails the manifest's content hash."
            note = dataclasses.replace(note, explanation=failing)
            return dataclasses.replace(report, codes=(note, *report.codes))
    assert report is not None
    note = _code("vigil.bmff.segments", "success")
    count = f"{len(segments)} segment{'s' if len(segments) != 1 else ''}"
    note = dataclasses.replace(note, explanation=f"{note.explanation} ({count})")
    return dataclasses.replace(report, codes=tuple(reconcile((note, *report.codes))))
