"""The reviewer's pages: log in with an API key, work the queue, decide one item per screen.

Server-rendered (Jinja2, autoescaped) with htmx for the small live parts (queue counts, lease
renewal, the media preference). Every POST carries the session's CSRF token. After a decision the
next flag is claimed at once (auto-advance), so a reviewer can work without going back to the list.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from service.api.deps import ServicesDep
from service.auth import Role
from service.auth import store as auth_store
from service.errors import Conflict, MalformedRequest, NotFound
from service.media.sniff import sniff
from service.review import queue, store
from service.review.model import MEDIA_MODES, Decision, Flag, ReviewSession
from service.services import Services
from service.web import sessions, templates

router = APIRouter(include_in_schema=False)

# Notices shown after a redirect: the query names one, the text comes from here (nothing reflected).
NOTICES = {
    "decided": ("ok", "Decision recorded. Here is the next item."),
    "done": ("ok", "Decision recorded. The queue is empty for now."),
    "empty": ("info", "Nothing is waiting in the queue."),
    "conflict": ("bad", "You no longer hold that item (the lease expired or it was decided)."),
    "released": ("info", "Item returned to the queue."),
    "rationale": ("bad", "A decision needs a rationale."),
}
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self'; media-src 'self'; script-src 'self'; "
    "style-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
REVIEWER_ROLES = (Role.REVIEWER, Role.ADMIN)


def _page(request: Request, name: str, context: dict[str, Any], status: int = 200) -> HTMLResponse:
    response = templates.TemplateResponse(request, name, context, status_code=status)
    response.headers.update(SECURITY_HEADERS)
    return response


def _redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303, headers=SECURITY_HEADERS)


def _forbidden(request: Request) -> HTMLResponse:
    return _page(request, "review_error.html", {"message": "This form has expired; reload the page."}, 403)


def _session_or_login(request: Request, services: Services) -> ReviewSession | RedirectResponse:
    session = sessions.current(request, services)
    if session is None or session.role not in REVIEWER_ROLES:
        return _redirect("/review/login")
    return session


def _notice(request: Request) -> tuple[str, str] | None:
    return NOTICES.get(request.query_params.get("notice", ""))


# --- login ------------------------------------------------------------------------------------


@router.get("/review/login")
def login_form(request: Request, services: ServicesDep) -> HTMLResponse:
    token = sessions.login_csrf(request)
    response = _page(request, "review_login.html", {"csrf": token, "error": None})
    sessions.set_cookie(response, services, sessions.LOGIN_COOKIE, token, 3600)
    return response


@router.post("/review/login")
def login(
    request: Request,
    services: ServicesDep,
    token: Annotated[str, Form(max_length=200)] = "",
    csrf: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    if not sessions.login_csrf_ok(request, csrf):
        return _forbidden(request)
    with services.db.system() as conn:
        principal = auth_store.authenticate(conn, token.strip()) if token.strip() else None
    if principal is None or principal.role not in REVIEWER_ROLES:
        message = (
            "That key is unknown or revoked." if principal is None else "That key is not a reviewer key."
        )
        return _page(request, "review_login.html", {"csrf": csrf, "error": message}, 401)
    response = _redirect("/review")
    sessions.start(response, services, principal.key_id)
    response.delete_cookie(sessions.LOGIN_COOKIE, path=sessions.PATH)
    return response


@router.post("/review/logout")
def logout(request: Request, services: ServicesDep, csrf: Annotated[str, Form()] = "") -> Response:
    session = sessions.current(request, services)
    if session is not None and not sessions.csrf_ok(session, request, csrf):
        return _forbidden(request)
    response = _redirect("/review/login")
    sessions.end(request, response, services)
    return response


# --- the queue ----------------------------------------------------------------------------------


def _row(flag: Flag, services: Services, session: ReviewSession, now: datetime) -> dict[str, Any]:
    return {
        "flag": flag,
        "priority": flag.priority(services.review_policy, now),
        "sla": flag.sla_state(now).value,
        "due_in": _until(flag.due_at, now),
        "mine": flag.held_by(session.key_id, now),
        "held": flag.lease_expires_at is not None and flag.lease_expires_at > now,
    }


def _until(when: datetime, now: datetime) -> str:
    seconds = int((when - now).total_seconds())
    sign, seconds = ("overdue ", -seconds) if seconds < 0 else ("", seconds)
    hours, rest = divmod(seconds, 3600)
    if hours >= 48:
        return f"{sign}{hours // 24} d"
    return f"{sign}{hours} h {rest // 60:02d} m" if hours else f"{sign}{rest // 60} m"


@router.get("/review")
def queue_page(request: Request, services: ServicesDep) -> Response:
    session = _session_or_login(request, services)
    if isinstance(session, Response):
        return session
    now = datetime.now(UTC)
    with services.db.tenant(session.tenant_id) as conn:
        flags = store.list_flags(conn, statuses=["open", "escalated", "needs_context"], limit=200)
        counts = store.counts(conn)
    rows = [_row(f, services, session, now) for f in flags]
    return _page(
        request, "review_queue.html",
        {"session": session, "rows": rows, "counts": counts, "notice": _notice(request)},
    )  # fmt: skip


@router.get("/review/counts")
def counts_fragment(request: Request, services: ServicesDep) -> Response:
    session = _session_or_login(request, services)
    if isinstance(session, Response):
        return session
    with services.db.tenant(session.tenant_id) as conn:
        counts = store.counts(conn)
    return _page(request, "_review_counts.html", {"counts": counts})


def _claim_next(services: Services, session: ReviewSession, notice: str, empty: str) -> RedirectResponse:
    lease = timedelta(minutes=services.settings.review_lease_minutes)
    with services.db.tenant(session.tenant_id) as conn:
        # Resume an item still held (a reload, a second tab) before taking a new one.
        flag = store.held(conn, tenant_id=session.tenant_id, key_id=session.key_id) or queue.claim(
            conn, tenant_id=session.tenant_id, reviewer=session.key_id, lease=lease
        )
    if flag is None:
        return _redirect(f"/review?notice={empty}")
    return _redirect(f"/review/{flag.id}" + (f"?notice={notice}" if notice else ""))


@router.post("/review/claim")
def claim(request: Request, services: ServicesDep, csrf: Annotated[str, Form()] = "") -> Response:
    session = _session_or_login(request, services)
    if isinstance(session, Response):
        return session
    if not sessions.csrf_ok(session, request, csrf):
        return _forbidden(request)
    return _claim_next(services, session, "", "empty")


@router.post("/review/prefs")
def set_prefs(
    request: Request,
    services: ServicesDep,
    media_mode: Annotated[str, Form()] = "",
    csrf: Annotated[str, Form()] = "",
) -> Response:
    session = _session_or_login(request, services)
    if isinstance(session, Response):
        return session
    if not sessions.csrf_ok(session, request, csrf):
        return _forbidden(request)
    if media_mode not in MEDIA_MODES:
        raise MalformedRequest(f"media_mode must be one of {', '.join(MEDIA_MODES)}.")
    with services.db.tenant(session.tenant_id) as conn:
        store.set_media_mode(conn, key_id=session.key_id, tenant_id=session.tenant_id, mode=media_mode)
    return Response(status_code=204, headers=SECURITY_HEADERS)


# --- one item -----------------------------------------------------------------------------------


def _media_shas(context: dict[str, Any]) -> set[str]:
    shas = {str(m.get("sha256")) for m in context.get("media") or [] if isinstance(m, dict)}
    for score in context.get("scores") or []:
        for ev in (score.get("evidence") or []) if isinstance(score, dict) else []:
            if isinstance(ev, dict) and ev.get("frame_sha256"):
                shas.add(str(ev["frame_sha256"]))
    return shas


def _load(services: Services, session: ReviewSession, flag_id: UUID) -> Flag:
    with services.db.tenant(session.tenant_id) as conn:
        flag = store.get_flag(conn, flag_id)
    if flag is None:
        raise NotFound(f"No flag {flag_id}.")
    return flag


@router.get("/review/{flag_id}")
def item_page(flag_id: UUID, request: Request, services: ServicesDep) -> Response:
    session = _session_or_login(request, services)
    if isinstance(session, Response):
        return session
    now = datetime.now(UTC)
    with services.db.tenant(session.tenant_id) as conn:
        flag = store.get_flag(conn, flag_id)
        if flag is None:
            return _page(request, "review_error.html", {"message": "No such item.", "session": session}, 404)
        trail = store.decisions(conn, flag_id)
        mode = store.media_mode(conn, session.key_id)
        counts = store.counts(conn)
    return _page(
        request,
        "review_item.html",
        {
            "session": session, "row": _row(flag, services, session, now), "flag": flag, "ctx": flag.context,
            "trail": trail, "mode": mode, "counts": counts, "notice": _notice(request),
            "lease_left": _until(flag.lease_expires_at, now) if flag.lease_expires_at else None,
            "decisions": list(Decision), "category": services.review_policy.category(flag.category),
        },
    )  # fmt: skip


@router.post("/review/{flag_id}/decision")
def decide(
    flag_id: UUID,
    request: Request,
    services: ServicesDep,
    decision: Annotated[Decision, Form()],
    rationale: Annotated[str, Form(max_length=5000)] = "",
    policy_citation: Annotated[str, Form(max_length=200)] = "",
    csrf: Annotated[str, Form()] = "",
) -> Response:
    session = _session_or_login(request, services)
    if isinstance(session, Response):
        return session
    if not sessions.csrf_ok(session, request, csrf):
        return _forbidden(request)
    if not rationale.strip():
        return _redirect(f"/review/{flag_id}?notice=rationale")
    try:
        with services.db.tenant(session.tenant_id) as conn:
            queue.decide(
                conn, flag_id=flag_id, reviewer=session.key_id, decision=decision, rationale=rationale,
                policy_citation=policy_citation, policy=services.review_policy,
                effects=services.review_effects,
            )  # fmt: skip
    except Conflict:
        return _redirect(f"/review/{flag_id}?notice=conflict")
    return _claim_next(services, session, "decided", "done")


@router.post("/review/{flag_id}/release")
def release(
    flag_id: UUID, request: Request, services: ServicesDep, csrf: Annotated[str, Form()] = ""
) -> Response:
    session = _session_or_login(request, services)
    if isinstance(session, Response):
        return session
    if not sessions.csrf_ok(session, request, csrf):
        return _forbidden(request)
    try:
        with services.db.tenant(session.tenant_id) as conn:
            queue.release(conn, flag_id=flag_id, reviewer=session.key_id)
    except Conflict:
        return _redirect(f"/review/{flag_id}?notice=conflict")
    return _redirect("/review?notice=released")


@router.post("/review/{flag_id}/renew")
def renew(
    flag_id: UUID, request: Request, services: ServicesDep, csrf: Annotated[str, Form()] = ""
) -> Response:
    session = _session_or_login(request, services)
    if isinstance(session, Response):
        return session
    if not sessions.csrf_ok(session, request, csrf):
        return _forbidden(request)
    lease = timedelta(minutes=services.settings.review_lease_minutes)
    try:
        with services.db.tenant(session.tenant_id) as conn:
            flag = queue.renew(conn, flag_id=flag_id, reviewer=session.key_id, lease=lease)
    except Conflict:
        return _page(request, "_review_lease.html", {"lease_left": None})
    left = _until(flag.lease_expires_at, datetime.now(UTC)) if flag.lease_expires_at else None
    return _page(request, "_review_lease.html", {"lease_left": left})


@router.get("/review/media/{flag_id}/{sha256}")
def media(flag_id: UUID, sha256: str, request: Request, services: ServicesDep) -> Response:
    """A blob the flag's context names, to a reviewer of the flag's tenant; nothing else."""
    session = _session_or_login(request, services)
    if isinstance(session, Response):
        return session
    flag = _load(services, session, flag_id)
    if sha256 not in _media_shas(flag.context):
        raise NotFound("That media is not part of this item.")
    data = services.blobs.read(sha256)
    kind = sniff(data[:64])
    mime = kind if isinstance(kind, str) else kind.mime
    if isinstance(kind, str) or not mime.startswith(("image/", "video/", "audio/")):
        mime = "application/octet-stream"
    headers = {**SECURITY_HEADERS, "Cache-Control": "private, max-age=300"}
    return Response(data, media_type=mime, headers=headers)
