"""The operator's pages (admin keys): the policy in force and its reload, review statistics, and
hash banks — sizes, import with every bad line listed, export, quarantined entries and their
release. Signed in the same way as the review pages; every POST carries the session's CSRF token.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import Response

from service.api.deps import ServicesDep
from service.auth import Role
from service.errors import ConfigError, MalformedRequest, NotFound
from service.match import banks as bank_ops
from service.match import store as match_store
from service.match.model import BankKind, HashType
from service.review import queue, store
from service.review.model import ReviewSession
from service.services import Services
from service.web import sessions
from service.web.pages import SECURITY_HEADERS, form_session, page, redirect

router = APIRouter(include_in_schema=False)

NOTICES = {
    "reloaded": ("ok", "The policy files were read again; the version below decides from now on."),
    "refused": ("bad", "The reload was refused: the last good policy still decides (the error is below)."),
    "created": ("ok", "Bank created."),
    "released": ("ok", "Entry released: it matches again."),
}
MAX_BANK_FILE = 64 * 1024 * 1024


def _admin(request: Request, services: Services) -> ReviewSession | Response:
    session = sessions.current(request, services)
    if session is None:
        return redirect("/review/login")
    if session.role != Role.ADMIN:
        return page(
            request, "review_error.html",
            {"message": "These pages are for operators: sign in with an admin key.", "session": session}, 403,
        )  # fmt: skip
    return session


def _notice(request: Request) -> tuple[str, str] | None:
    return NOTICES.get(request.query_params.get("notice", ""))


def _overview(services: Services, session: ReviewSession) -> dict[str, Any]:
    now = datetime.now(UTC)
    with services.db.tenant(session.tenant_id) as conn:
        banks = match_store.list_banks(conn, tenant_id=session.tenant_id)
        counts = store.counts(conn)
        agreement = queue.agreement(conn)
        appeals = store.list_flags(conn, statuses=["open", "escalated"], limit=50, source_kind="appeal")
    policy = services.policy.current
    return {
        "session": session,
        "banks": banks,
        "counts": counts,
        "agreement": agreement,
        "appeals": appeals,
        "policy": {
            "version": policy.version,
            "markets": sorted(policy.policies),
            "last_error": services.policy.last_error,
            "root": str(services.policy.root),
        },
        "review_policy": services.review_policy,
        "now": now,
        "kinds": [k.value for k in BankKind],
        "hash_types": [h.value for h in HashType],
    }


@router.get("/review/operate")
def overview(request: Request, services: ServicesDep) -> Response:
    session = _admin(request, services)
    if isinstance(session, Response):
        return session
    return page(request, "operate.html", {**_overview(services, session), "notice": _notice(request)})


@router.post("/review/operate/policy/reload")
def reload_policy(request: Request, services: ServicesDep, csrf: Annotated[str, Form()] = "") -> Response:
    session = form_session(request, services, csrf, (Role.ADMIN,))
    if isinstance(session, Response):
        return session
    try:
        services.policy.reload()
    except ConfigError:
        return redirect("/review/operate?notice=refused")
    return redirect("/review/operate?notice=reloaded")


@router.post("/review/operate/banks")
def create_bank(
    request: Request,
    services: ServicesDep,
    name: Annotated[str, Form(max_length=63)] = "",
    kind: Annotated[str, Form(max_length=20)] = "",
    hash_type: Annotated[str, Form(max_length=20)] = "",
    csrf: Annotated[str, Form()] = "",
) -> Response:
    session = form_session(request, services, csrf, (Role.ADMIN,))
    if isinstance(session, Response):
        return session
    try:
        with services.db.tenant(session.tenant_id) as conn:
            bank_ops.create_bank(
                conn, tenant_id=session.tenant_id, name=name.strip(), kind=BankKind(kind),
                hash_type=HashType(hash_type), threshold=None,
            )  # fmt: skip
    except (ValueError, MalformedRequest) as exc:
        message = exc.message if isinstance(exc, MalformedRequest) else "Choose a kind and a hash type."
        context = {**_overview(services, session), "notice": ("bad", message)}
        return page(request, "operate.html", context, 422)
    return redirect(f"/review/operate/banks/{name.strip()}?notice=created")


def _bankpage(
    request: Request,
    services: Services,
    session: ReviewSession,
    name: str,
    extra: dict[str, Any],
    status: int = 200,
) -> Response:
    with services.db.tenant(session.tenant_id) as conn:
        try:
            bank = bank_ops.get_bank(conn, tenant_id=session.tenant_id, name=name)
        except NotFound:
            return page(request, "review_error.html", {"message": "No such bank.", "session": session}, 404)
        quarantined = match_store.quarantined_signals(conn, bank, limit=200)
    context = {
        "session": session,
        "bank": bank,
        "quarantined": quarantined,
        "notice": _notice(request),
        **extra,
    }
    return page(request, "operate_bank.html", context, status)


@router.get("/review/operate/banks/{name}")
def bankpage(name: str, request: Request, services: ServicesDep) -> Response:
    session = _admin(request, services)
    if isinstance(session, Response):
        return session
    return _bankpage(request, services, session, name, {})


@router.post("/review/operate/banks/{name}/import")
async def import_bank(
    name: str,
    request: Request,
    services: ServicesDep,
    file: Annotated[UploadFile | None, File()] = None,
    csrf: Annotated[str, Form()] = "",
) -> Response:
    session = form_session(request, services, csrf, (Role.ADMIN,))
    if isinstance(session, Response):
        return session
    if file is None or not file.filename:
        return _bankpage(request, services, session, name, {"import_error": "Choose a bank file."}, 422)
    data = await file.read(MAX_BANK_FILE + 1)
    if len(data) > MAX_BANK_FILE:
        too_big = {"import_error": f"The file is larger than {MAX_BANK_FILE // 2**20} MiB; split it."}
        return _bankpage(request, services, session, name, too_big, 413)
    fmt = "json" if file.filename.lower().endswith(".json") else "csv"
    try:
        with services.db.tenant(session.tenant_id) as conn:
            bank = bank_ops.get_bank(conn, tenant_id=session.tenant_id, name=name)
            result = bank_ops.import_file(conn, bank, data, fmt=fmt)
    except MalformedRequest as exc:
        extra = {"import_error": exc.message, "import_errors": exc.details.get("errors") or [],
                 "bad_lines": exc.details.get("bad_lines")}  # fmt: skip
        return _bankpage(request, services, session, name, extra, 422)
    done = {"imported": {"lines": result.lines, "added": result.added, "file": file.filename}}
    return _bankpage(request, services, session, name, done)


@router.get("/review/operate/banks/{name}/export")
def export_bank(name: str, request: Request, services: ServicesDep, format: str = "csv") -> Response:
    session = _admin(request, services)
    if isinstance(session, Response):
        return session
    fmt = "json" if format == "json" else "csv"
    with services.db.tenant(session.tenant_id) as conn:
        bank = bank_ops.get_bank(conn, tenant_id=session.tenant_id, name=name)
        text = bank_ops.export_file(conn, bank, fmt=fmt)
    headers = {**SECURITY_HEADERS, "Content-Disposition": f'attachment; filename="{bank.name}.{fmt}"'}
    media = "application/json" if fmt == "json" else "text/csv; charset=utf-8"
    return Response(text, media_type=media, headers=headers)


@router.post("/review/operate/banks/{name}/release")
def release_entry(
    name: str,
    request: Request,
    services: ServicesDep,
    signal: Annotated[str, Form(max_length=128)] = "",
    csrf: Annotated[str, Form()] = "",
) -> Response:
    session = form_session(request, services, csrf, (Role.ADMIN,))
    if isinstance(session, Response):
        return session
    try:
        with services.db.tenant(session.tenant_id) as conn:
            bank = bank_ops.get_bank(conn, tenant_id=session.tenant_id, name=name)
            bank_ops.release(conn, bank, signal)
    except (MalformedRequest, NotFound) as exc:
        return _bankpage(request, services, session, name, {"release_error": exc.message}, 422)
    return redirect(f"/review/operate/banks/{name}?notice=released")
