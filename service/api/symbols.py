"""The symbol bank: the shipped drawings, and the emblems a tenant's admin adds or removes.

Every checked picture (and video frame) and every generated output is matched against the bank
as its tenant sees it. A hit sends the item to review; a market's policy may block or allow one
symbol on purpose (``symbols:`` in a policy file).
"""

from __future__ import annotations

import io
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, File, Form, Path, Response, UploadFile
from pydantic import BaseModel, Field

from service.api.deps import CurrentAdmin, CurrentPrincipal, ServicesDep
from service.api.uploads import received
from service.classify.symbols import SymbolRef
from service.errors import MalformedRequest, Unavailable
from service.media.intake import decode_image
from service.symbols import store
from service.unstorable import refuse_unstorable
from service.vocabulary import MediaKind

router = APIRouter(prefix="/v1", tags=["symbols"])

ID_PATTERN = r"^[a-z0-9][a-z0-9._-]{0,62}$"
SymbolId = Annotated[str, Path(max_length=63, pattern=ID_PATTERN)]


class SymbolOut(BaseModel):
    id: str
    label: str
    category: str = Field(
        description="war_glorification or extremist_symbols: the category a hit is filed under"
    )
    note: str
    shipped: bool = Field(
        description="A drawing that ships with Vigil (policies/symbols/); else the tenant's emblem"
    )
    drawing_url: str
    created_at: datetime | None = None


def _shipped_out(ref: SymbolRef) -> SymbolOut:
    return SymbolOut(
        id=ref.id,
        label=ref.label,
        category=ref.category.value,
        note=ref.note,
        shipped=True,
        drawing_url=f"/v1/symbols/{ref.id}/drawing",
    )


def _emblem_out(e: store.Emblem) -> SymbolOut:
    return SymbolOut(
        id=e.id,
        label=e.label,
        category=e.category,
        note=e.note,
        shipped=False,
        drawing_url=f"/v1/symbols/{e.id}/drawing",
        created_at=e.created_at,
    )


def _shipped(services: ServicesDep) -> list[SymbolRef]:
    matcher = services.symbols.shipped()
    if matcher is None:
        raise Unavailable("the shipped symbol bank cannot be loaded (GET /readyz names the problem)")
    return list(matcher.refs)


@router.get("/symbols")
def list_symbols(who: CurrentPrincipal, services: ServicesDep) -> list[SymbolOut]:
    """The bank as the caller's tenant sees it: the shipped symbols, then the tenant's emblems."""
    with services.db.tenant(who.tenant_id) as conn:
        emblems = store.listed(conn, who.tenant_id)
    return [*(_shipped_out(r) for r in _shipped(services)), *(_emblem_out(e) for e in emblems)]


@router.post("/symbols", status_code=201)
def add_symbol(
    admin: CurrentAdmin,
    services: ServicesDep,
    file: Annotated[
        UploadFile,
        File(description="the emblem drawn on a plain or transparent background (PNG, JPEG, WebP)"),
    ],
    id: Annotated[str, Form(max_length=63, pattern=ID_PATTERN)],
    label: Annotated[str, Form(min_length=1, max_length=200)],
    category: Annotated[str, Form(description="war_glorification or extremist_symbols")],
    note: Annotated[str, Form(max_length=2000, description="what the symbol means, where it is banned")] = "",
) -> SymbolOut:
    """Add an emblem to the tenant's symbol bank: matched from the next check on."""
    refuse_unstorable({"label": label, "note": note, "category": category}, "form")
    with received(file, services) as info:
        if info.kind is not MediaKind.IMAGE:
            raise MalformedRequest(f"an emblem is a picture; this upload is {info.type.name}")
        drawing = decode_image(info, mode="RGBA").image
    with services.db.tenant(admin.tenant_id) as conn:
        emblem = services.symbols.add_emblem(
            conn, tenant_id=admin.tenant_id, id=id, label=label, category=category, note=note, image=drawing
        )
    return _emblem_out(emblem)


@router.delete("/symbols/{symbol_id}", status_code=204)
def remove_symbol(symbol_id: SymbolId, admin: CurrentAdmin, services: ServicesDep) -> Response:
    """Remove one of the tenant's emblems (the shipped symbols are changed in the policy files)."""
    if symbol_id in {r.id for r in _shipped(services)}:
        raise MalformedRequest(
            f"{symbol_id!r} ships with Vigil; a market's policy can allow it (symbols: in a policy file)"
        )
    with services.db.tenant(admin.tenant_id) as conn:
        services.symbols.remove(conn, admin.tenant_id, symbol_id)
    return Response(status_code=204)


@router.get("/symbols/{symbol_id}/drawing", response_class=Response)
def drawing(symbol_id: SymbolId, who: CurrentPrincipal, services: ServicesDep) -> Response:
    """The reference drawing a symbol is matched by (PNG)."""
    for ref in _shipped(services):
        if ref.id == symbol_id:
            buf = io.BytesIO()
            ref.image.save(buf, "PNG")
            return Response(buf.getvalue(), media_type="image/png")
    with services.db.tenant(who.tenant_id) as conn:
        emblem = store.get(conn, who.tenant_id, symbol_id)
    return Response(services.blobs.read(emblem.image_sha256), media_type="image/png")
