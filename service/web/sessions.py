"""Login sessions and CSRF for the browser pages.

The cookie holds 256 random bits; the database keeps only their SHA-256, with the key the
session belongs to and a CSRF token that every form and htmx POST must echo (a hidden
``csrf`` field or an ``X-CSRF-Token`` header). Before login, the login form is protected by a
double-submit cookie. Cookies are HttpOnly, SameSite=Lax, scoped to ``/review``, and Secure
outside development.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta
from uuid import UUID

from fastapi import Request, Response

from service.review import store
from service.review.model import ReviewSession
from service.services import Services

COOKIE = "vigil_review"
LOGIN_COOKIE = "vigil_login_csrf"
PATH = "/review"


def _hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def current(request: Request, services: Services) -> ReviewSession | None:
    token = request.cookies.get(COOKIE)
    if not token:
        return None
    with services.db.system() as conn:
        return store.session(conn, _hash(token))


def start(response: Response, services: Services, key_id: UUID) -> None:
    token = secrets.token_urlsafe(32)
    ttl = timedelta(hours=services.settings.review_session_hours)
    with services.db.system() as conn:
        store.create_session(
            conn, token_hash=_hash(token), key_id=key_id, csrf=secrets.token_urlsafe(32), ttl=ttl
        )
    set_cookie(response, services, COOKIE, token, int(ttl.total_seconds()))


def end(request: Request, response: Response, services: Services) -> None:
    token = request.cookies.get(COOKIE)
    if token:
        with services.db.system() as conn:
            store.delete_session(conn, _hash(token))
    response.delete_cookie(
        COOKIE, path=PATH, secure=services.settings.production, httponly=True, samesite="lax"
    )


def set_cookie(response: Response, services: Services, name: str, value: str, max_age: int) -> None:
    response.set_cookie(
        name, value, max_age=max_age, path=PATH, httponly=True, samesite="lax",
        secure=services.settings.production,
    )  # fmt: skip


def csrf_ok(session: ReviewSession, request: Request, form_value: str | None) -> bool:
    sent = form_value or request.headers.get("x-csrf-token") or ""
    return hmac.compare_digest(sent.encode(), session.csrf.encode())


def login_csrf(request: Request) -> str:
    return request.cookies.get(LOGIN_COOKIE) or secrets.token_urlsafe(32)


def login_csrf_ok(request: Request, form_value: str) -> bool:
    cookie = request.cookies.get(LOGIN_COOKIE) or ""
    return bool(cookie) and hmac.compare_digest(cookie.encode(), form_value.encode())
