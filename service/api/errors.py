"""The one JSON error shape, and the only map from exception class to HTTP status.

{"error": {"code": "...", "message": "...", "status": N}}
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from service import errors
from service.logs import request_id

log = logging.getLogger(__name__)

# Most specific first: the first class an error is an instance of decides its status.
STATUS: tuple[tuple[type[errors.VigilError], int], ...] = (
    (errors.PayloadTooLarge, 413),
    (errors.UnsupportedMediaType, 415),
    (errors.OutOfRange, 400),
    (errors.InputError, 422),
    (errors.Unauthenticated, 401),
    (errors.Forbidden, 403),
    (errors.NotFound, 404),
    (errors.Conflict, 409),
    (errors.Gone, 410),
    (errors.TooManyRequests, 429),
    (errors.Unavailable, 503),
    (errors.ConfigError, 503),
    (errors.VigilError, 500),
)


def status_of(exc: errors.VigilError) -> int:
    return next(status for cls, status in STATUS if isinstance(exc, cls))


def error_body(code: str, message: str, status: int, details: dict[str, Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"code": code, "message": message, "status": status}
    if details:
        body["details"] = details
    rid = request_id.get()
    if rid is not None:
        body["request_id"] = rid
    return {"error": body}


def error_response(exc: errors.VigilError) -> JSONResponse:
    status = status_of(exc)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else {}
    if "retry_after_s" in exc.details:  # throttled or shed: say when to come back
        headers["Retry-After"] = str(exc.details["retry_after_s"])
    return JSONResponse(error_body(exc.code, exc.diagnostics(), status, exc.details), status, headers=headers)


_HTTP_CODES = {400: "bad_request", 404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}


def install(app: FastAPI) -> None:
    @app.exception_handler(errors.VigilError)
    async def _vigil(_: Request, exc: errors.VigilError) -> JSONResponse:
        if status_of(exc) >= 500:
            log.error("request failed: %s", exc.code, extra={"error": exc.message})
        return error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [
            {"loc": [str(p) for p in e.get("loc", ())], "msg": e.get("msg", "")} for e in exc.errors()
        ]
        first = problems[0] if problems else {"loc": [], "msg": "invalid request"}
        message = f"{'.'.join(first['loc'])}: {first['msg']}" if first["loc"] else str(first["msg"])
        return JSONResponse(error_body("malformed_request", message, 422, {"problems": problems}), 422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(exc.status_code, "http_error")
        return JSONResponse(
            error_body(code, str(exc.detail), exc.status_code), exc.status_code, headers=exc.headers
        )

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.error("unhandled error", exc_info=exc)
        return JSONResponse(
            error_body("internal", "Vigil hit an unexpected error; the request id is in the logs.", 500), 500
        )
