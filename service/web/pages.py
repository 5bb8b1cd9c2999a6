"""What every signed-in page shares: the security headers, rendering and redirects, and the
session behind a request or a POSTed form (login redirect, role, CSRF)."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from service.auth import Role
from service.review.model import ReviewSession
from service.services import Services
from service.web import sessions, templates

SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self'; media-src 'self'; script-src 'self'; "
    "style-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
REVIEWER_ROLES = (Role.REVIEWER, Role.ADMIN)


def page(request: Request, name: str, context: dict[str, Any], status: int = 200) -> HTMLResponse:
    response = templates.TemplateResponse(request, name, context, status_code=status)
    response.headers.update(SECURITY_HEADERS)
    return response


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303, headers=SECURITY_HEADERS)


def forbidden(request: Request) -> HTMLResponse:
    return page(request, "review_error.html", {"message": "This form has expired; reload the page."}, 403)


def session_or_login(request: Request, services: Services) -> ReviewSession | RedirectResponse:
    session = sessions.current(request, services)
    if session is None or session.role not in REVIEWER_ROLES:
        return redirect("/review/login")
    return session


def form_session(
    request: Request, services: Services, csrf: str, roles: tuple[Role, ...] = REVIEWER_ROLES
) -> ReviewSession | Response:
    """The session behind a POSTed form, or the answer to give instead: the login page for no
    session, a refusal for a key of another role, a 403 page for a missing or stale CSRF token."""
    session = sessions.current(request, services)
    if session is None or session.role not in REVIEWER_ROLES:
        return redirect("/review/login")
    if session.role not in roles:
        return page(
            request, "review_error.html", {"message": "This needs an admin key.", "session": session}, 403
        )
    if not sessions.csrf_ok(session, request, csrf):
        return forbidden(request)
    return session
