"""The transparency log over HTTP: key, checkpoints, entries and RFC 9162 proofs (any key)."""

from __future__ import annotations

import base64
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, Field

from service.api.deps import CurrentAdmin, CurrentPrincipal, ServicesDep
from service.audit import log as audit_log
from service.audit import store as audit_store

router = APIRouter(prefix="/v1/log", tags=["log"])

Index = Annotated[int, Query(description="A leaf index or tree size; out of range is 400.")]


class LogKey(BaseModel):
    origin: str = Field(description="The checkpoints' origin line and signer name.")
    public_key: str = Field(description="Base64 of the raw 32-byte Ed25519 public key.")


class LogEntry(BaseModel):
    index: int
    data: str = Field(description="Base64 of the canonical entry bytes hashed as the leaf.")


class LogEntries(BaseModel):
    entries: list[LogEntry]


class InclusionProof(BaseModel):
    index: int
    size: int
    hashes: list[str]


class ConsistencyProof(BaseModel):
    first: int
    second: int
    hashes: list[str]


class Cosignature(BaseModel):
    size: int = Field(ge=0, description="Tree size of the checkpoint co-signed.")
    signature: str = Field(max_length=400, description="The witness's signature line ('— name base64').")


class CosignatureStored(BaseModel):
    size: int
    witness: str


def _b64(items: list[bytes]) -> list[str]:
    return [base64.b64encode(h).decode() for h in items]


@router.get("/key")
def log_key(_: CurrentPrincipal, services: ServicesDep) -> LogKey:
    """The key that signs checkpoints: all an auditor needs to verify the log offline."""
    signer = services.log_signer
    return LogKey(origin=signer.origin, public_key=signer.public_key_b64)


@router.get("/checkpoint", response_class=PlainTextResponse)
def checkpoint(
    _: CurrentPrincipal, services: ServicesDep, size: Annotated[int | None, Query(ge=0)] = None
) -> PlainTextResponse:
    """The C2SP signed note over the whole tree at request time (or at ``size``), with co-signatures."""
    with services.db.system() as conn:
        text = services.log_signer.issue(conn, size)
    return PlainTextResponse(text, media_type="text/plain; charset=utf-8")


class CheckpointHistory(BaseModel):
    checkpoints: list[str] = Field(
        description="Every checkpoint Vigil signed, oldest first (C2SP signed notes)"
    )


@router.get("/checkpoints")
def checkpoints(_: CurrentPrincipal, services: ServicesDep) -> CheckpointHistory:
    """The signed checkpoints issued so far: a verifier checks today's tree against each of them,
    so a log rewritten in the database cannot pass while Vigil's own earlier signatures contradict it."""
    with services.db.system() as conn:
        return CheckpointHistory(checkpoints=audit_store.checkpoint_notes(conn))


@router.post("/checkpoint/cosignatures", status_code=201)
def add_cosignature(body: Cosignature, _: CurrentAdmin, services: ServicesDep) -> CosignatureStored:
    """Add a configured witness's co-signature to the checkpoint of ``size`` (verified first)."""
    with services.db.system() as conn:
        witness = services.log_signer.add_cosignature(conn, body.size, body.signature)
    return CosignatureStored(size=body.size, witness=witness.name)


@router.get("/entries")
def entries(_: CurrentPrincipal, services: ServicesDep, start: Index, end: Index) -> LogEntries:
    """Entries ``[start, end)``; fewer when ``end`` passes the tree or the page size."""
    with services.db.system() as conn:
        audit_log.integrate_all(conn)  # what was queued before this read is in the tree
        rows = audit_log.entries(conn, start, end, limit=services.settings.audit_page_size)
    return LogEntries(entries=[LogEntry(index=i, data=base64.b64encode(b).decode()) for i, b in rows])


@router.get("/proof/inclusion")
def inclusion(_: CurrentPrincipal, services: ServicesDep, index: Index, size: Index) -> InclusionProof:
    """The RFC 9162 audit path of entry ``index`` in the tree of ``size`` entries."""
    with services.db.system() as conn:
        audit_log.integrate_all(conn)  # what was queued before this read is in the tree
        hashes = audit_log.inclusion_proof(conn, index, size)
    return InclusionProof(index=index, size=size, hashes=_b64(hashes))


@router.get("/proof/consistency")
def consistency(_: CurrentPrincipal, services: ServicesDep, first: Index, second: Index) -> ConsistencyProof:
    """The RFC 9162 proof that the tree of ``second`` entries extends the one of ``first``."""
    with services.db.system() as conn:
        audit_log.integrate_all(conn)  # what was queued before this read is in the tree
        hashes = audit_log.consistency_proof(conn, first, second)
    return ConsistencyProof(first=first, second=second, hashes=_b64(hashes))
