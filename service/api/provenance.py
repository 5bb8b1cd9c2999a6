"""``POST /v1/verify``: the ProvenanceReport of an uploaded file (auditor, platform, admin)."""

from __future__ import annotations

from contextlib import ExitStack
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, UploadFile
from pydantic import BaseModel, Field

from service.api.deps import CurrentVerifier, ServicesDep
from service.api.schemas import CodeOut, SignerOut, TimestampOut
from service.api.uploads import received, spooled
from service.errors import MalformedRequest
from service.media.sniff import PROVENANCE
from service.pipeline import verification
from service.provenance import ProvenanceReport
from service.provenance.verify import MAX_SEGMENTS

router = APIRouter(prefix="/v1", tags=["provenance"])

State = Literal["trusted", "valid", "invalid", "absent"]


class OriginalOut(BaseModel):
    """What the manifest repository holds about the signed original of a recovered copy."""

    state: State = Field(description="the original's state when Vigil signed and recorded it")
    sha256: str | None = Field(description="SHA-256 of the original's signed bytes (not of the upload)")
    codes: list[CodeOut] = Field(
        description="the original's validation codes, checked on the original's bytes when it was "
        "signed; never a check of the uploaded file"
    )


class ProvenanceReportOut(BaseModel):
    state: State
    codes: list[CodeOut] = Field(
        description="what was checked on the uploaded bytes (for a recovered copy: that it carries no "
        "manifest, and how it was matched); the original's codes are under `original`"
    )
    signer: SignerOut | None
    signed_at: str | None
    timestamp: TimestampOut | None
    digital_source_type: str | None
    ai_generated: bool
    actions: list[dict[str, Any]]
    ingredients: list[dict[str, Any]]
    assertions: dict[str, Any]
    recovered_by: Literal["fingerprint"] | None
    asset_id: str | None
    log_index: int | None
    trust_list: str | None
    sha256: str | None
    fingerprint_distance: int | None
    consent_status: Literal["active", "revoked"] | None = Field(
        None,
        description="For an asset Vigil released (or a stripped copy recovered by fingerprint): "
        "`revoked` once the consent it was made under was withdrawn; null for other files",
    )
    remote_manifest_url: str | None = Field(
        None,
        description="The URL of the manifest the file points to instead of carrying it "
        "(`manifest.inaccessible`); Vigil never fetches it",
    )
    original: OriginalOut | None = Field(
        None,
        description="For a copy recovered from the manifest repository (`recovered_by`): the signed "
        "original's validation as recorded, apart from the checks on the uploaded bytes",
    )

    @classmethod
    def of(cls, report: ProvenanceReport) -> ProvenanceReportOut:
        return cls.model_validate(report.to_dict())


def verify_upload(
    upload: UploadFile, services: ServicesDep, segments: list[UploadFile] | None = None
) -> ProvenanceReport:
    segments = segments or []
    if len(segments) > MAX_SEGMENTS:
        raise MalformedRequest(f"Send at most {MAX_SEGMENTS} media segments, not {len(segments)}.")
    with ExitStack() as stack:
        info = stack.enter_context(received(upload, services, accept=PROVENANCE, init_segments=True))
        left = services.limits.max_bytes - info.size  # the segments share the upload limit
        paths = []
        for segment in segments:
            path = stack.enter_context(spooled(segment, services, max_bytes=max(left, 0)))
            left -= path.stat().st_size
            paths.append(path)
        return verification.verify_file(services, info.path, info, segments=paths)


@router.post("/verify")
def verify(
    _: CurrentVerifier,
    services: ServicesDep,
    file: UploadFile = File(description="the file to verify (picture, video, audio, PDF or SVG)"),
    segments: Annotated[
        list[UploadFile] | None,
        File(
            description="for a DASH/CMAF initialisation segment as `file`: its media segments (.m4s), "
            f"each checked against its manifest (at most {MAX_SEGMENTS})"
        ),
    ] = None,
) -> ProvenanceReportOut:
    """Verify the embedded C2PA manifest; without one, recover the original's by fingerprint."""
    return ProvenanceReportOut.of(verify_upload(file, services, segments))
