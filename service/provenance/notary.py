"""The provenance component of a Vigil process: signs, records, verifies, recovers.

``Notary.from_settings`` builds the trust store and the signer once. The flows call:

- ``notary.sign_and_record(conn, src, dst, spec, limits=...)``: sign, fingerprint the signed
  asset (PDQ + pHash; per sampled frame at 1 fps for video), append ``asset.signed`` to the
  transparency log and keep the manifest in the repository, all in the caller's transaction.
- ``notary.verify(conn, path, limits=...)``: the embedded manifest; when there is none, the
  repository by exact SHA-256, then by PDQ within ``provenance_pdq_threshold`` bits
  (``recovered_by: "fingerprint"``: the original's provenance, not a binding to these bytes;
  the report's ``codes`` stay the checks of these bytes, the original's are under ``original``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from service.audit import Event, EventName
from service.audit.log import append_now
from service.db import Conn
from service.errors import ConfigError, SigningFailed
from service.health import ComponentStatus
from service.match.hashes import PDQ_MIN_QUALITY, ImageHashes, hash_image
from service.media import MediaInfo, MediaLimits
from service.media.intake import inspect, iter_frames
from service.media.sniff import PROVENANCE
from service.provenance import store
from service.provenance.explain import explain
from service.provenance.index import FingerprintIndex
from service.provenance.model import (
    Code,
    Original,
    ProvenanceReport,
    ProvenanceState,
    SignedAsset,
    SignerInfo,
    SignSpec,
    Timestamp,
)
from service.provenance.reconcile import reconcile
from service.provenance.sign import sign_file
from service.provenance.signer import VigilSigner
from service.provenance.trust import TrustStore
from service.provenance.verify import verify_file
from service.settings import Settings
from service.vocabulary import MediaKind, SignalState

MAX_QUERY_FRAMES = 12  # frames of a video compared against the repository


def fingerprints(info: MediaInfo, limits: MediaLimits, *, max_frames: int | None = None) -> list[ImageHashes]:
    """PDQ + pHash of an image, or of a video's frames at ~1 fps (consecutive repeats dropped);
    none for audio, documents (never rasterised) and initialisation segments (no frames)."""
    if info.kind in (MediaKind.AUDIO, MediaKind.DOCUMENT) or info.init_segment:
        return []
    out: list[ImageHashes] = []
    for frame in iter_frames(info, fps=1.0, limits=limits):
        hashes = hash_image(frame.image)
        if out and out[-1].pdq.value == hashes.pdq.value:
            continue
        out.append(hashes)
        if max_frames is not None and len(out) >= max_frames:
            break
    return out


def _report_from_json(data: dict[str, Any]) -> ProvenanceReport:
    """A report as the repository stored it (``ProvenanceReport.to_dict``)."""
    signer = data.get("signer")
    timestamp = data.get("timestamp")
    return ProvenanceReport(
        state=ProvenanceState(data["state"]),
        # Explained again with today's texts (a record keeps the words of the day it was signed).
        codes=tuple(
            reconcile(
                Code(
                    c["code"],
                    explain(c["code"], c.get("explanation")),
                    c.get("url"),
                    c.get("kind", "success"),
                )
                for c in data.get("codes") or ()
            )
        ),
        signer=SignerInfo(**signer) if signer else None,
        signed_at=data.get("signed_at"),
        timestamp=Timestamp(**timestamp) if timestamp else None,
        digital_source_type=data.get("digital_source_type"),
        ai_generated=bool(data.get("ai_generated")),
        actions=tuple(data.get("actions") or ()),
        ingredients=tuple(data.get("ingredients") or ()),
        assertions=data.get("assertions") or {},
        asset_id=data.get("asset_id"),
        log_index=data.get("log_index"),
        trust_list=data.get("trust_list"),
        sha256=data.get("sha256"),
    )


@dataclass
class Notary:
    trust: TrustStore
    signer: VigilSigner | None
    threshold: int = 31
    tsa_timeout_s: float = 10.0
    tsa_retries: int = 2
    signer_error: str | None = None  # why a configured signer could not be built
    index: FingerprintIndex = field(default_factory=FingerprintIndex)  # stripped-copy lookup

    @classmethod
    def from_settings(cls, settings: Settings) -> Notary:
        trust = TrustStore.from_settings(settings)
        if settings.production and trust.empty:
            raise ConfigError(
                "No trust anchors: run 'vigil keys init-signing' or set VIGIL_TRUST_LISTS or "
                "VIGIL_TRUST_ANCHOR_FILES; "
                "production refuses to verify without them."
            )
        signer: VigilSigner | None = None
        error: str | None = None
        try:
            signer = VigilSigner.from_settings(settings)
        except ConfigError as exc:
            if settings.production:
                raise
            error = exc.message
        return cls(
            trust=trust,
            signer=signer,
            threshold=settings.provenance_pdq_threshold,
            tsa_timeout_s=settings.tsa_timeout_s,
            tsa_retries=settings.tsa_retries,
            signer_error=error,
        )

    # --- readiness ---------------------------------------------------------------------------
    def signing_status(self) -> ComponentStatus:
        if self.signer_error is not None:
            return ComponentStatus(SignalState.UNAVAILABLE, self.signer_error)
        if self.signer is None:
            return ComponentStatus(
                SignalState.NOT_CONFIGURED, "no signing key; run 'vigil keys init-signing'"
            )
        return ComponentStatus(SignalState.OK)

    def trust_status(self) -> ComponentStatus:
        if self.trust.empty:
            return ComponentStatus(
                SignalState.NOT_CONFIGURED, "no trust anchors: signers verify as valid at best"
            )
        return ComponentStatus(SignalState.OK, "; ".join(a.describe() for a in self.trust.lists))

    # --- signing -----------------------------------------------------------------------------
    def sign(self, src: Path, dst: Path, spec: SignSpec) -> SignedAsset:
        if self.signer is None:
            raise SigningFailed(self.signer_error or "No signing key is configured.")
        return sign_file(
            src,
            dst,
            spec,
            signer=self.signer,
            trust=self.trust,
            tsa_timeout_s=self.tsa_timeout_s,
            tsa_retries=self.tsa_retries,
        )

    def record(
        self,
        conn: Conn,
        signed: SignedAsset,
        frames: Sequence[ImageHashes],
        *,
        tenant: uuid.UUID | None = None,
    ) -> SignedAsset:
        """Keep ``signed`` in the repository and log it, in the caller's transaction."""
        if signed.report is None:
            raise ValueError("record a signed asset with its verification report (sign with verify=True)")
        manifest_id = uuid.uuid4()
        data: dict[str, Any] = {
            "sha256": signed.sha256,
            "manifest_sha256": hashlib.sha256(signed.manifest).hexdigest(),
            "frames": len(frames),
        }
        if signed.asset_id is not None:
            data["asset_id"] = signed.asset_id
        index = append_now(conn, Event(EventName.ASSET_SIGNED, str(manifest_id), tenant, data))
        report = dataclasses.replace(signed.report, log_index=index, sha256=signed.sha256)
        store.insert_manifest(
            conn,
            manifest_id=manifest_id,
            asset_id=signed.asset_id,
            sha256=signed.sha256,
            mime=signed.mime,
            manifest=signed.manifest,
            report=report.to_dict(),
            log_index=index,
        )
        store.insert_fingerprints(conn, manifest_id, frames)
        return dataclasses.replace(signed, report=report, log_index=index)

    def sign_and_record(
        self,
        conn: Conn,
        src: Path,
        dst: Path,
        spec: SignSpec,
        *,
        limits: MediaLimits,
        tenant: uuid.UUID | None = None,
    ) -> SignedAsset:
        signed = self.sign(src, dst, spec)
        frames = fingerprints(inspect(dst, limits), limits)
        return self.record(conn, signed, frames, tenant=tenant)

    # --- verification ------------------------------------------------------------------------
    def verify(
        self,
        conn: Conn | None,
        path: Path,
        *,
        limits: MediaLimits,
        info: MediaInfo | None = None,
        frames: Sequence[ImageHashes] | None = None,
        segments: Sequence[Path] = (),
    ) -> ProvenanceReport:
        """Verify ``path``; look the repository up (``conn`` given) when it carries no manifest.

        ``frames``: fingerprints the caller already computed (the check flow hashes once for
        both this lookup and the hash banks); computed here when not given. ``segments``: the
        media segments of a DASH/CMAF initialisation segment.
        """
        info = info or inspect(path, limits, accept=PROVENANCE, init_segments=True)
        report = verify_file(path, trust=self.trust, sha256=info.sha256, segments=segments)
        if conn is None:
            return report
        if report.state is not ProvenanceState.ABSENT:
            record = store.by_sha256(conn, info.sha256)
            if record is not None and report.state is ProvenanceState.TRUSTED:
                return dataclasses.replace(
                    report,
                    asset_id=record.asset_id,
                    log_index=record.log_index,
                    signed_at=report.signed_at or record.signed_at.isoformat(),
                )
            return report
        record = store.by_sha256(conn, info.sha256)
        if record is not None:
            return self._recovered(report, record, 0, "vigil.recovered.sha256")
        best: store.RepositoryMatch | None = None
        if frames is None:
            frames = fingerprints(info, limits, max_frames=MAX_QUERY_FRAMES)
        for hashes in frames[:MAX_QUERY_FRAMES]:
            if hashes.pdq.quality < PDQ_MIN_QUALITY:
                continue
            match = self.index.nearest(conn, hashes.pdq.value, self.threshold)
            if match is not None and (best is None or match.distance < best.distance):
                best = match
                if match.distance == 0:
                    break
        if best is None:
            return report
        return self._recovered(report, best.record, best.distance, "vigil.recovered.fingerprint")

    @staticmethod
    def _recovered(
        copy: ProvenanceReport, record: store.ManifestRecord, distance: int, code: str
    ) -> ProvenanceReport:
        """The copy's report with the original's provenance beside it. ``codes`` stay what was
        checked on the uploaded bytes (no manifest, the fingerprint distance); what the
        repository holds about the original (its validation when signed) is ``original``."""
        original = _report_from_json(record.report)
        how = "exact SHA-256" if code.endswith("sha256") else f"PDQ distance {distance} of 256 bits"
        note = Code(code, f"{explain(code, None)} Matched by {how}.", None, "informational")
        return dataclasses.replace(
            original,
            state=ProvenanceState.ABSENT,
            codes=(*copy.codes, note),
            recovered_by="fingerprint",
            asset_id=record.asset_id,
            log_index=record.log_index,
            signed_at=original.signed_at or record.signed_at.isoformat(),
            sha256=copy.sha256,
            fingerprint_distance=distance,
            remote_manifest_url=copy.remote_manifest_url,
            original=Original(state=original.state, sha256=record.sha256, codes=original.codes),
        )
