"""Response models more than one endpoint returns, defined once (OpenAPI shows each once)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from service.vocabulary import Reason


class ReasonOut(BaseModel):
    rule: str = Field(description="The rule that fired or was applied, e.g. `score.war_glorification.review`")
    source: str = Field(
        description="The signal or record it read: `provenance`, `bank:<name>`, `text_model`, "
        "`subject:<id>`, …"
    )
    detail: str

    @classmethod
    def of(cls, reason: Reason) -> ReasonOut:
        return cls(rule=reason.rule, source=reason.source, detail=reason.detail)


class CodeOut(BaseModel):
    """A C2PA validation status code, with what it means."""

    code: str
    explanation: str
    url: str | None = None
    kind: Literal["success", "informational", "failure"] | None = None


class SignerOut(BaseModel):
    issuer: str | None
    common_name: str | None
    serial: str | None
    alg: str | None


class TimestampOut(BaseModel):
    time: str | None
    trusted: bool
