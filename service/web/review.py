"""The reviewer's pages: log in with an API key, work the queue, decide one item per screen.

Server-rendered (Jinja2, autoescaped) with htmx for the small live parts (queue counts, lease
renewal, the media preference). Every POST carries the session's CSRF token. After a decision the
next flag is claimed at once (auto-advance), so a reviewer can work without going back to the list.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from service.api.deps import ServicesDep, authenticate
from service.errors import Conflict, MalformedRequest, NotFound, TooManyRequests
from service.pipeline import flag_view
from service.policy import categories
from service.policy.categories import FlagCategory
from service.review import queue, store
from service.review.context import FlagContext
from service.review.model import MEDIA_MODES, Flag, ReviewDecision, ReviewSession
from service.services import Services
from service.web import sessions
from service.web.pages import (
    REVIEWER_ROLES,
    SECURITY_HEADERS,
    forbidden,
    form_session,
    page,
    redirect,
    session_or_login,
)

router = APIRouter(include_in_schema=False)

# Notices shown after a redirect: the query names one, the text comes from here (nothing reflected).
NOTICES = {
    "decided": ("ok", "Decision recorded. Here is the next item."),
    "denied": (
        "bad",
        "Decision recorded, but the output was not released: its consent was withdrawn while it "
        "waited for review. It stays in quarantine and cannot be downloaded.",
    ),
    "done": ("ok", "Decision recorded. The queue is empty for now."),
    "empty": ("info", "Nothing is waiting in the queue."),
    "conflict": ("bad", "You no longer hold that item (the lease expired or it was decided)."),
    "released": ("info", "Item returned to the queue."),
    "claimed": ("ok", "This item is yours now: decide it, or return it to the queue."),
    "taken": (
        "bad",
        "That item cannot be yours: another reviewer holds it, it was decided, or you decided it before.",
    ),
    "rationale": ("bad", "A decision needs a rationale."),
}


def _notice(request: Request) -> tuple[str, str] | None:
    return NOTICES.get(request.query_params.get("notice", ""))


# --- login ------------------------------------------------------------------------------------


@router.get("/review/login")
def login_form(request: Request, services: ServicesDep) -> HTMLResponse:
    token = sessions.login_csrf(request)
    response = page(request, "review_login.html", {"csrf": token, "error": None})
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
        return forbidden(request)
    try:
        principal = authenticate(request, services, token.strip())
    except TooManyRequests as exc:
        wait = exc.details["retry_after_s"]
        context = {"csrf": csrf, "error": f"Too many failed sign-ins; wait {wait} s and try again."}
        throttled = page(request, "review_login.html", context, 429)
        throttled.headers["Retry-After"] = str(wait)
        return throttled
    if principal is None or principal.role not in REVIEWER_ROLES:
        message = (
            "That key is unknown or revoked." if principal is None else "That key is not a reviewer key."
        )
        return page(request, "review_login.html", {"csrf": csrf, "error": message}, 401)
    response = redirect("/review")
    sessions.start(response, services, principal.key_id)
    response.delete_cookie(sessions.LOGIN_COOKIE, path=sessions.PATH)
    return response


@router.post("/review/logout")
def logout(request: Request, services: ServicesDep, csrf: Annotated[str, Form()] = "") -> Response:
    session = sessions.current(request, services)
    if session is not None and not sessions.csrf_ok(session, request, csrf):
        return forbidden(request)
    response = redirect("/review/login")
    sessions.end(request, response, services)
    return response


# --- the queue ----------------------------------------------------------------------------------


def _row(flag: Flag, services: Services, session: ReviewSession, now: datetime) -> dict[str, Any]:
    ctx = FlagContext.from_json(flag.context)
    first = ctx.media[0] if ctx.media else None
    return {
        "flag": flag,
        "label": categories.label(flag.category),
        "priority": flag.priority(services.review_policy, now),
        "sla": flag.sla_state(now).value,
        "due_in": _until(flag.due_at, now),
        "age": _until(now, flag.created_at).removeprefix("overdue "),
        "mine": flag.held_by(session.key_id, now),
        "held": flag.lease_expires_at is not None and flag.lease_expires_at > now,
        "media_kind": first.kind if first is not None else "text",
        "thumb": first.sha256 if first is not None and first.kind == "image" else None,
        "snippet": flag_view.shown(ctx.texts[0]) if ctx.texts else "",
        "snippet_source": ctx.texts[0].heading if ctx.texts else "",
    }


def _until(when: datetime, now: datetime) -> str:
    seconds = int((when - now).total_seconds())
    sign, seconds = ("overdue ", -seconds) if seconds < 0 else ("", seconds)
    hours, rest = divmod(seconds, 3600)
    if hours >= 48:
        return f"{sign}{hours // 24} d"
    return f"{sign}{hours} h {rest // 60:02d} m" if hours else f"{sign}{rest // 60} m"


@dataclass(frozen=True, slots=True)
class QueueFilters:
    view: str
    category: str
    source: str
    media: str
    sort: str
    overdue: bool

    @property
    def narrowed(self) -> bool:
        return bool(self.category or self.source or self.media or self.overdue)


# The queue's views: which statuses each shows, and its default order.
VIEWS = {
    "waiting": (("open", "escalated"), "priority"),
    "context": (("needs_context",), "oldest"),
    "decided": (("decided",), "decided"),
    "appeals": (("open", "escalated"), "priority"),  # people contesting a decision
}
SORT_LABELS = {"priority": "Priority", "due": "Due soonest", "oldest": "Oldest", "newest": "Newest",
               "decided": "Decided, latest first"}  # fmt: skip


@router.get("/review")
def queuepage(
    request: Request,
    services: ServicesDep,
    view: Annotated[str, Query(max_length=20)] = "waiting",
    category: Annotated[str, Query(max_length=40)] = "",
    source: Annotated[str, Query(max_length=20)] = "",
    media: Annotated[str, Query(max_length=10)] = "",
    sort: Annotated[str, Query(max_length=20)] = "",
    overdue: Annotated[str, Query(max_length=5)] = "",
) -> Response:
    session = session_or_login(request, services)
    if isinstance(session, Response):
        return session
    now = datetime.now(UTC)
    statuses, default_sort = VIEWS.get(view, VIEWS["waiting"])
    view = view if view in VIEWS else "waiting"
    known = [c.value for c in FlagCategory]
    filters = QueueFilters(
        view=view,
        category=category if category in known else "",
        source="appeal"
        if view == "appeals"
        else (source if source in ("generation", "check", "appeal") else ""),
        media=media if media in store.MEDIA_KINDS else "",
        sort=sort if sort in store.SORTS else default_sort,
        overdue=overdue == "1",
    )
    with services.db.tenant(session.tenant_id) as conn:
        flags = store.list_flags(
            conn, statuses=statuses, limit=200, categories=[filters.category] if filters.category else [],
            source_kind=filters.source or None, media=filters.media or None, overdue=filters.overdue,
            sort=filters.sort,
        )  # fmt: skip
        counts = store.counts(conn)
    rows = [_row(f, services, session, now) for f in flags]
    return page(
        request, "review_queue.html",
        {"session": session, "rows": rows, "counts": counts, "notice": _notice(request), "filters": filters,
         "categories": [(c, categories.label(c)) for c in known], "sorts": SORT_LABELS,
         "media_kinds": store.MEDIA_KINDS, "filtered": filters.narrowed},
    )  # fmt: skip


@router.get("/review/counts")
def counts_fragment(request: Request, services: ServicesDep) -> Response:
    session = session_or_login(request, services)
    if isinstance(session, Response):
        return session
    with services.db.tenant(session.tenant_id) as conn:
        counts = store.counts(conn)
    return page(request, "_review_counts.html", {"counts": counts})


def _claim_next(services: Services, session: ReviewSession, notice: str, empty: str) -> RedirectResponse:
    lease = timedelta(minutes=services.settings.review_lease_minutes)
    with services.db.tenant(session.tenant_id) as conn:
        # Resume an item still held (a reload, a second tab) before taking a new one.
        flag = store.held(conn, tenant_id=session.tenant_id, key_id=session.key_id) or queue.claim(
            conn, tenant_id=session.tenant_id, reviewer=session.key_id, lease=lease
        )
    if flag is None:
        return redirect(f"/review?notice={empty}")
    return redirect(f"/review/{flag.id}" + (f"?notice={notice}" if notice else ""))


@router.post("/review/claim")
def claim(request: Request, services: ServicesDep, csrf: Annotated[str, Form()] = "") -> Response:
    session = form_session(request, services, csrf)
    if isinstance(session, Response):
        return session
    return _claim_next(services, session, "", "empty")


@router.post("/review/prefs")
def set_prefs(
    request: Request,
    services: ServicesDep,
    media_mode: Annotated[str, Form()] = "",
    csrf: Annotated[str, Form()] = "",
) -> Response:
    session = form_session(request, services, csrf)
    if isinstance(session, Response):
        return session
    if media_mode not in MEDIA_MODES:
        raise MalformedRequest(f"media_mode must be one of {', '.join(MEDIA_MODES)}.")
    with services.db.tenant(session.tenant_id) as conn:
        store.set_media_mode(conn, key_id=session.key_id, tenant_id=session.tenant_id, mode=media_mode)
    return Response(status_code=204, headers=SECURITY_HEADERS)


# --- one item -----------------------------------------------------------------------------------


def _load(services: Services, session: ReviewSession, flag_id: UUID) -> Flag:
    with services.db.tenant(session.tenant_id) as conn:
        flag = store.get_flag(conn, flag_id)
    if flag is None:
        raise NotFound(f"No flag {flag_id}.")
    return flag


@router.get("/review/{flag_id}")
def itempage(flag_id: UUID, request: Request, services: ServicesDep) -> Response:
    session = session_or_login(request, services)
    if isinstance(session, Response):
        return session
    now = datetime.now(UTC)
    with services.db.tenant(session.tenant_id) as conn:
        flag = store.get_flag(conn, flag_id)
        if flag is None:
            return page(request, "review_error.html", {"message": "No such item.", "session": session}, 404)
        shown = flag_view.view(services, conn, flag)
        trail = store.decisions(conn, flag_id)
        mode = store.media_mode(conn, session.key_id)
        counts = store.counts(conn)
    held_by_other = (
        flag.lease_expires_at is not None
        and flag.lease_expires_at > now
        and not flag.held_by(session.key_id, now)
    )
    claimable = (
        flag.status in ("open", "escalated")
        and not held_by_other
        and session.key_id not in flag.excluded_reviewers
    )
    return page(
        request,
        "review_item.html",
        {
            "session": session, "row": _row(flag, services, session, now), "flag": flag, "view": shown,
            "ctx": shown.context, "trail": trail, "mode": mode, "counts": counts, "notice": _notice(request),
            "lease_left": _until(flag.lease_expires_at, now) if flag.lease_expires_at else None,
            "decisions": list(ReviewDecision), "category": services.review_policy.category(flag.category),
            "label": categories.label(flag.category), "claimable": claimable, "held_by_other": held_by_other,
            "excluded": session.key_id in flag.excluded_reviewers,
            "guidance": services.review_policy.guidance(flag.category),
        },
    )  # fmt: skip


@router.post("/review/{flag_id}/claim")
def claim_item(
    flag_id: UUID, request: Request, services: ServicesDep, csrf: Annotated[str, Form()] = ""
) -> Response:
    """Take the item a reviewer opened from the list (rather than the most urgent one)."""
    session = form_session(request, services, csrf)
    if isinstance(session, Response):
        return session
    lease = timedelta(minutes=services.settings.review_lease_minutes)
    try:
        with services.db.tenant(session.tenant_id) as conn:
            queue.claim_flag(conn, flag_id=flag_id, reviewer=session.key_id, lease=lease)
    except Conflict:
        return redirect(f"/review/{flag_id}?notice=taken")
    return redirect(f"/review/{flag_id}?notice=claimed")


@router.post("/review/{flag_id}/decision")
def decide(
    flag_id: UUID,
    request: Request,
    services: ServicesDep,
    decision: Annotated[ReviewDecision, Form()],
    rationale: Annotated[str, Form(max_length=5000)] = "",
    policy_citation: Annotated[str, Form(max_length=200)] = "",
    csrf: Annotated[str, Form()] = "",
) -> Response:
    session = form_session(request, services, csrf)
    if isinstance(session, Response):
        return session
    if not rationale.strip():
        return redirect(f"/review/{flag_id}?notice=rationale")
    try:
        with services.db.tenant(session.tenant_id) as conn:
            done = queue.decide(
                conn, flag_id=flag_id, reviewer=session.key_id, decision=decision, rationale=rationale,
                policy_citation=policy_citation, policy=services.review_policy,
                effects=services.review_effects,
            )  # fmt: skip
    except Conflict:
        return redirect(f"/review/{flag_id}?notice=conflict")
    denied = any(e.result == "denied" for e in done.effects)
    if denied:
        return _claim_next(services, session, "denied", "denied")
    return _claim_next(services, session, "decided", "done")


@router.post("/review/{flag_id}/release")
def release(
    flag_id: UUID, request: Request, services: ServicesDep, csrf: Annotated[str, Form()] = ""
) -> Response:
    session = form_session(request, services, csrf)
    if isinstance(session, Response):
        return session
    try:
        with services.db.tenant(session.tenant_id) as conn:
            queue.release(conn, flag_id=flag_id, reviewer=session.key_id)
    except Conflict:
        return redirect(f"/review/{flag_id}?notice=conflict")
    return redirect("/review?notice=released")


@router.post("/review/{flag_id}/renew")
def renew(
    flag_id: UUID, request: Request, services: ServicesDep, csrf: Annotated[str, Form()] = ""
) -> Response:
    session = form_session(request, services, csrf)
    if isinstance(session, Response):
        return session
    lease = timedelta(minutes=services.settings.review_lease_minutes)
    try:
        with services.db.tenant(session.tenant_id) as conn:
            flag = queue.renew(conn, flag_id=flag_id, reviewer=session.key_id, lease=lease)
    except Conflict:
        return page(request, "_review_lease.html", {"lease_left": None})
    left = _until(flag.lease_expires_at, datetime.now(UTC)) if flag.lease_expires_at else None
    return page(request, "_review_lease.html", {"lease_left": left})


@router.get("/review/media/{flag_id}/{sha256}")
def media(flag_id: UUID, sha256: str, request: Request, services: ServicesDep) -> Response:
    """A blob the flag's context names, to a reviewer of the flag's tenant; nothing else."""
    session = session_or_login(request, services)
    if isinstance(session, Response):
        return session
    with services.db.tenant(session.tenant_id) as conn:
        data, mime = flag_view.media_of(services, conn, flag_id, sha256)
    headers = {**SECURITY_HEADERS, "Cache-Control": "private, max-age=300"}
    return Response(data, media_type=mime, headers=headers)
