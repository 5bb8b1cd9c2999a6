"""ASGI middleware: request ids, access logs, Prometheus metrics and the body-size limit.

The size limit is enforced twice: from ``Content-Length`` before the body is read, and by
counting the bytes actually received (chunked uploads send no length).
"""

from __future__ import annotations

import json
import logging
import os
import time
import uuid
from typing import Any
from urllib.parse import parse_qsl

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest, multiprocess
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service import unstorable as text_guard
from service.api.errors import error_body
from service.logs import request_id

log = logging.getLogger("service.access")

MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "vigil_http_requests_total",
            "HTTP requests served",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "vigil_http_request_seconds",
            "HTTP request latency",
            ["method", "route"],
            registry=self.registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )
        self.checks = Counter(
            "vigil_checks_total", "Checks answered, by decision", ["decision"], registry=self.registry
        )
        self.auth_failures = Counter(
            "vigil_auth_failures_total",
            "API keys and logins refused as unknown or revoked",
            registry=self.registry,
        )
        self.auth_throttled = Counter(
            "vigil_auth_throttled_total",
            "Attempts refused with 429 for too many failures",
            registry=self.registry,
        )
        self.checks_shed = Counter(
            "vigil_checks_shed_total",
            "Checks answered 503 because the process was busy",
            registry=self.registry,
        )

    def count_check(self, decision: str) -> None:
        self.checks.labels(decision).inc()

    def exposition(self) -> bytes:
        """The Prometheus text of every HTTP process: under ``vigil serve --workers`` each process
        records into files under ``PROMETHEUS_MULTIPROC_DIR`` and whichever answers the scrape sums
        them (a process that was restarted keeps its counts); otherwise this process's registry."""
        if os.environ.get(MULTIPROCESS_ENV):
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
            return generate_latest(registry)
        return generate_latest(self.registry)


# Bodies whose every value is text a handler may store: read whole (they are small, under the
# JSON limit) and refused when they carry text PostgreSQL cannot hold. Multipart bodies carry
# files, where any byte is fine; their text fields are checked by the endpoints.
_CHECKED_BODIES = ("application/json", "application/x-www-form-urlencoded")


async def _read_all(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()  # after the body: wait for the client to disconnect

    return replay


def _utf8(body: bytes) -> bool:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _unstorable_field(body: bytes, content_type: str) -> str | None:
    if content_type == "application/json":
        try:
            value = json.loads(body)
        except (ValueError, RecursionError):
            return None  # the endpoint answers malformed JSON itself
        return text_guard.unstorable(value)
    try:
        pairs = parse_qsl(body.decode("utf-8", "surrogateescape"), keep_blank_values=True)
    except ValueError:
        return None
    return text_guard.unstorable(dict(pairs), "form")


class EdgeMiddleware:
    def __init__(self, app: ASGIApp, *, metrics: Metrics, max_body: int, max_json: int) -> None:
        self.app = app
        self.metrics = metrics
        self.max_body = max_body
        self.max_json = max_json

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        rid = headers.get("x-request-id", "")[:64] or uuid.uuid4().hex
        token = request_id.set(rid)
        started = time.perf_counter()
        status = {"code": 500, "sent": False}
        limit = (
            self.max_json if headers.get("content-type", "").startswith("application/json") else self.max_body
        )

        over_limit = False

        async def send_wrapper(message: Message) -> None:
            if over_limit:  # whatever the app answered to a cut-off body, the answer is 413
                if message["type"] == "http.response.start" and not status["sent"]:
                    await self._too_large(send_with_id, limit)
                return
            await send_with_id(message)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                status["sent"] = True
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", rid.encode())]
            await send(message)

        received = 0

        async def receive_wrapper() -> Message:
            nonlocal received, over_limit
            if over_limit:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    over_limit = True  # stop reading; the app sees a disconnect
                    return {"type": "http.disconnect"}
            return message

        try:
            declared = headers.get("content-length")
            content_type = headers.get("content-type", "").split(";")[0].strip().lower()
            if declared is not None and declared.isdigit() and int(declared) > limit:
                await self._too_large(send_with_id, limit)
            elif content_type in _CHECKED_BODIES and scope["method"] in ("POST", "PUT", "PATCH"):
                body = await _read_all(receive_wrapper)
                field = None if over_limit else _unstorable_field(body, content_type)
                if over_limit:
                    await self._too_large(send_with_id, limit)
                elif content_type == "application/json" and not _utf8(body):
                    message = "The JSON body is not valid UTF-8; send it encoded as UTF-8."
                    await self._refuse(send_with_id, 422, "malformed_request", message, None)
                elif field is not None:
                    await self._refuse(
                        send_with_id, 422, "malformed_request", text_guard.message(field), field
                    )
                else:
                    await self.app(scope, _replay(body, receive), send_wrapper)
            else:
                await self.app(scope, receive_wrapper, send_wrapper)
        except Exception:
            if over_limit:
                if not status["sent"]:
                    await self._too_large(send_with_id, limit)
            else:
                # Answered here, inside the request: the answer carries the request id and the
                # connection stays open (an error that escapes closes it).
                log.exception("unhandled error in %s %s", scope["method"], scope.get("path", ""))
                if not status["sent"]:
                    await self._refuse(
                        send_with_id, 500, "internal",
                        f"Vigil hit an unexpected error; quote request id {rid} to the operator.", None,
                    )  # fmt: skip
        finally:
            route = scope.get("route")
            path = getattr(route, "path", "unmatched")
            elapsed = time.perf_counter() - started
            self.metrics.requests.labels(scope["method"], path, str(status["code"])).inc()
            self.metrics.latency.labels(scope["method"], path).observe(elapsed)
            log.info(
                "%s %s %s",
                scope["method"],
                path,
                status["code"],
                extra={"status": status["code"], "ms": round(elapsed * 1000, 2)},
            )
            request_id.reset(token)

    @staticmethod
    async def _refuse(send: Any, status: int, code: str, text: str, field: str | None) -> None:
        body = json.dumps(error_body(code, text, status, {"field": field} if field else None)).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    @staticmethod
    async def _too_large(send: Any, limit: int) -> None:
        body = json.dumps(
            error_body(
                "payload_too_large", f"The request body is larger than the limit of {limit} bytes.", 413
            )
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
