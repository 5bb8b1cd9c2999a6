"""A webhook receiver as a platform or studio runs one, for tests of Vigil's deliveries."""

from __future__ import annotations

import hashlib
import hmac
import time
from http.server import BaseHTTPRequestHandler


class Endpoint:
    """A receiver: answers each POST with the next scripted status, keeps what came."""

    def __init__(self, statuses: list[int]) -> None:
        self.statuses = statuses
        self.received: list[tuple[dict[str, str], bytes]] = []

    def __call__(self, handler: BaseHTTPRequestHandler) -> None:
        body = handler.rfile.read(int(handler.headers["Content-Length"]))
        self.received.append(({k.lower(): v for k, v in handler.headers.items()}, body))
        status = self.statuses.pop(0) if self.statuses else 200
        handler.send_response(status)
        handler.send_header("Content-Length", "2")
        handler.end_headers()
        handler.wfile.write(b"ok")


def verify_signature(secret: str, headers: dict[str, str], body: bytes) -> None:
    """What a receiver does: recompute the HMAC over the raw body and compare in constant time."""
    fields = dict(part.split("=", 1) for part in headers["vigil-signature"].split(","))
    assert abs(time.time() - int(fields["t"])) < 60
    expected = hmac.new(secret.encode(), f"{fields['t']}.".encode() + body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(fields["v1"], expected)
