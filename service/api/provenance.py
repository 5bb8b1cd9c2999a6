"""``POST /v1/verify``: the ProvenanceReport of an uploaded file (auditor, platform, admin)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, File, UploadFile
from pydantic import BaseModel, Field

from service.api.deps import CurrentVerifier, ServicesDep
from service.api.uploads import received
from service.pipeline import verification
from service.provenance import ProvenanceReport

router = APIRouter(prefix="/v1", tags=["provenance"])


class CodeOut(BaseModel):
    code: str
    explanation: str
    url: str | None
    kind: Literal["success", "informational", "failure"]


class SignerOut(BaseModel):
    issuer: str | None
    common_name: str | None
    serial: str | None
    alg: str | None


class TimestampOut(BaseModel):
    time: str | None
    trusted: bool


class ProvenanceReportOut(BaseModel):
    state: Literal["trusted", "valid", "invalid", "absent"]
    codes: list[CodeOut]
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

    @classmethod
    def of(cls, report: ProvenanceReport) -> ProvenanceReportOut:
        return cls.model_validate(report.to_dict())


def verify_upload(upload: UploadFile, services: ServicesDep) -> ProvenanceReport:
    with received(upload, services) as info:
        return verification.verify_file(services, info.path, info)


@router.post("/verify")
def verify(
    _: CurrentVerifier, services: ServicesDep, file: UploadFile = File(description="the file to verify")
) -> ProvenanceReportOut:
    """Verify the embedded C2PA manifest; without one, recover the original's by fingerprint."""
    return ProvenanceReportOut.of(verify_upload(file, services))
