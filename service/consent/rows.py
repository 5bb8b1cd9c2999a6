"""Rows read as JSON objects (``to_jsonb``) parsed into the frozen values of ``model``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any
from uuid import UUID

from service.consent.model import (
    Audience,
    Directive,
    DirectiveType,
    Grant,
    Grantor,
    GrantStatus,
    Modality,
    Purpose,
    Relationship,
    Scope,
    Subject,
    SubjectKind,
    Verification,
    VitalStatus,
)
from service.db import Conn


def ts(value: str) -> datetime:
    return datetime.fromisoformat(value)


def ts_or_none(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def day(value: str | None) -> date | None:
    return None if value is None else date.fromisoformat(value)


def grantor(d: Mapping[str, Any]) -> Grantor:
    return Grantor(
        name=str(d["name"]),
        relationship=Relationship(d["relationship"]),
        adult=bool(d["adult"]),
        verification=Verification(d.get("verification", "none")),
    )


def grantor_json(g: Grantor) -> dict[str, Any]:
    return {
        "name": g.name,
        "relationship": g.relationship.value,
        "adult": g.adult,
        "verification": g.verification.value,
    }


def subject(d: Mapping[str, Any]) -> Subject:
    return Subject(
        id=UUID(d["id"]),
        tenant_id=UUID(d["tenant_id"]),
        kind=SubjectKind(d["kind"]),
        vital_status=VitalStatus(d["vital_status"]),
        name=d["name"],
        jurisdiction=d["jurisdiction"],
        birth_date=day(d["birth_date"]),
        death_date=day(d["death_date"]),
        created_at=ts(d["created_at"]),
    )


def grant(d: Mapping[str, Any]) -> Grant:
    return Grant(
        id=UUID(d["id"]),
        tenant_id=UUID(d["tenant_id"]),
        subject_id=UUID(d["subject_id"]),
        legal_basis=d["legal_basis"],
        grantors=tuple(grantor(g) for g in d["grantors"]),
        scope=Scope(
            modalities=frozenset(Modality(m) for m in d["modalities"]),
            purposes=frozenset(Purpose(p) for p in d["purposes"]),
            audiences=frozenset(Audience(a) for a in d["audiences"]),
            territories=frozenset(d["territories"]),
        ),
        expires_at=ts(d["expires_at"]),
        script_sha256=d["script_sha256"],
        evidence=tuple(d["evidence"]),
        status=GrantStatus(d["status"]),
        created_at=ts(d["created_at"]),
        revoked_at=ts_or_none(d["revoked_at"]),
    )


def directive(d: Mapping[str, Any]) -> Directive:
    return Directive(
        id=UUID(d["id"]),
        tenant_id=UUID(d["tenant_id"]),
        subject_id=UUID(d["subject_id"]),
        type=DirectiveType(d["type"]),
        modalities=frozenset(Modality(m) for m in d["modalities"]),
        evidence=tuple(d["evidence"]),
        created_at=ts(d["created_at"]),
    )


def one(conn: Conn, sql: str, params: Sequence[Any]) -> dict[str, Any] | None:
    row = conn.execute(sql, params).fetchone()
    return None if row is None else dict(row[0])
