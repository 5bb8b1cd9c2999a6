"""Hash banks (admin): create, import a CSV/JSON bank file, export, list.

An import body is the file itself (``Content-Type: text/csv`` or ``application/json``) or a
multipart form with a ``file`` field. Bad lines are listed in ``error.details.errors`` with
their line numbers, and nothing is imported.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import BaseModel, Field
from starlette.datastructures import UploadFile

from service.api.deps import CurrentAdmin, ServicesDep
from service.errors import MalformedRequest
from service.match import banks as bank_ops
from service.match import store as match_store
from service.match.model import Bank, BankKind, HashType

router = APIRouter(prefix="/v1", tags=["banks"])

BankName = Annotated[str, Path(max_length=63, pattern=r"^[a-z0-9][a-z0-9._-]{0,62}$")]


class BankCreate(BaseModel):
    name: str = Field(max_length=63, pattern=r"^[a-z0-9][a-z0-9._-]{0,62}$")
    kind: BankKind
    hash_type: HashType
    threshold: int | None = Field(
        None, ge=0, description="Largest distance that matches (default: PDQ 31, pHash 8)."
    )


class BankOut(BaseModel):
    id: UUID
    name: str
    kind: BankKind
    hash_type: HashType
    threshold: int
    system: bool = Field(description="A system bank: consulted by every tenant, managed by operators.")
    signals: int
    quarantined: int = Field(description="Entries disabled by flood quarantine (`vigil bank release`).")
    created_at: datetime


class ImportOut(BaseModel):
    bank: BankOut
    lines: int
    added: int


def _out(bank: Bank) -> BankOut:
    return BankOut(
        id=bank.id,
        name=bank.name,
        kind=BankKind(bank.kind),
        hash_type=HashType(bank.hash_type),
        threshold=bank.threshold,
        system=bank.system,
        signals=bank.signals,
        quarantined=bank.quarantined,
        created_at=bank.created_at,
    )


@router.post("/banks", status_code=201)
def create_bank(body: BankCreate, admin: CurrentAdmin, services: ServicesDep) -> BankOut:
    with services.db.tenant(admin.tenant_id) as conn:
        bank = bank_ops.create_bank(
            conn,
            tenant_id=admin.tenant_id,
            name=body.name,
            kind=body.kind,
            hash_type=body.hash_type,
            threshold=body.threshold,
        )
    return _out(bank)


@router.get("/banks")
def list_banks(admin: CurrentAdmin, services: ServicesDep) -> dict[str, list[BankOut]]:
    """The tenant's banks, then the system banks its checks also consult."""
    with services.db.tenant(admin.tenant_id) as conn:
        banks = match_store.list_banks(conn, tenant_id=admin.tenant_id)
    return {"banks": [_out(b) for b in banks]}


@router.post("/banks/{name}/import")
async def import_bank(
    name: BankName, request: Request, admin: CurrentAdmin, services: ServicesDep
) -> ImportOut:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    fmt: str | None = None
    if content_type == "multipart/form-data":
        form = await request.form()
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise MalformedRequest("Send the bank file as the multipart field 'file'.")
        data = await upload.read()
        await form.close()
    else:
        data = await request.body()
        fmt = {"text/csv": "csv", "application/json": "json"}.get(content_type)
    with services.db.tenant(admin.tenant_id) as conn:
        bank = bank_ops.get_bank(conn, tenant_id=admin.tenant_id, name=name)
        result = bank_ops.import_file(conn, bank, data, fmt=fmt)
    return ImportOut(bank=_out(result.bank), lines=result.lines, added=result.added)


@router.get("/banks/{name}/export", response_class=Response)
def export_bank(
    name: BankName,
    admin: CurrentAdmin,
    services: ServicesDep,
    format: Annotated[Literal["csv", "json"], Query()] = "csv",
) -> Response:
    """The bank as a file it could be imported from (CSV by default, ``?format=json``)."""
    with services.db.tenant(admin.tenant_id) as conn:
        bank = bank_ops.get_bank(conn, tenant_id=admin.tenant_id, name=name)
        text = bank_ops.export_file(conn, bank, fmt=format)
    media = "application/json" if format == "json" else "text/csv; charset=utf-8"
    return Response(text, media_type=media)
