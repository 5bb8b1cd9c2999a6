"""Calling a webhook: where it may point, how a delivery is signed, and the one HTTP request.

Where: ``https`` only, no credentials in the URL, and every address its host resolves to must be
a public one (not loopback, private, link-local, shared or reserved), checked when the webhook is
registered and again at every delivery. The request then goes to the address that was checked
(the Host header and TLS name stay the URL's), so a name that resolves elsewhere a moment later
cannot redirect it inward; redirects are not followed. ``allow_private`` lifts the address and
scheme rules for development and tests (``VIGIL_WEBHOOK_ALLOW_PRIVATE``).

Signed: ``Vigil-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>." + body)>``; a
receiver recomputes it over the raw body, compares in constant time and refuses an old ``t``.
``Vigil-Delivery`` names the delivery: a retry carries the same id, so a receiver can drop repeats.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import ipaddress
import secrets
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from service import __version__
from service.errors import MalformedRequest

SIGNATURE_HEADER = "Vigil-Signature"
_RESPONSE_PREVIEW = 200


class Unreachable(Exception):
    """The endpoint could not be called this time (name did not resolve, connection, timeout)."""


@dataclass(frozen=True, slots=True)
class Target:
    url: str  # with the checked address in place of the host name
    host_header: str  # the URL's own host[:port]
    server_name: str  # the name TLS asks for and checks the certificate against


@dataclass(frozen=True, slots=True)
class Answer:
    status_code: int
    preview: str  # the start of the response body, for the delivery record


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def sign(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def check_url(url: str, *, allow_private: bool) -> None:
    """Refuse, with what to change, a URL a webhook may not point at (resolves its host name)."""
    target(url, allow_private=allow_private, refuse=MalformedRequest)


def target(url: str, *, allow_private: bool, refuse: type[Exception] = Unreachable) -> Target:
    parts = urlsplit(url)
    schemes = ("https", "http") if allow_private else ("https",)
    if parts.scheme not in schemes:
        raise MalformedRequest(f"A webhook URL must start with {' or '.join(s + '://' for s in schemes)}.")
    if parts.username is not None or parts.password is not None:
        raise MalformedRequest("A webhook URL may not carry credentials; use the signing secret instead.")
    if not parts.hostname:
        raise MalformedRequest("The webhook URL has no host.")
    try:
        parsed = httpx.URL(url)  # the host IDNA-encoded, as it goes on the wire
        host = parsed.raw_host.decode("ascii")
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except (httpx.InvalidURL, UnicodeError, ValueError) as exc:
        raise MalformedRequest(f"The webhook URL cannot be used: {exc}.") from exc
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise refuse(f"The webhook host {host!r} does not resolve: {exc}.") from exc
    addresses = [ipaddress.ip_address(info[4][0]) for info in found]
    if not allow_private:
        inward = [str(a) for a in addresses if not _public(a)]
        if inward:
            raise MalformedRequest(
                f"The webhook host {host!r} resolves to {', '.join(inward)}, which is not a public "
                "address; webhooks call the public internet only."
            )
    address = addresses[0]
    netloc = f"[{address}]" if address.version == 6 else str(address)
    if parts.port is not None:
        netloc += f":{parts.port}"
    pinned = urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, ""))
    host_header = parsed.netloc.decode("ascii")
    return Target(url=pinned, host_header=host_header, server_name=host)


# IPv6 forms that carry an IPv4 address the packet ends up at (NAT64, SIIT, IPv4-compatible):
# the IPv4 address is the last 32 bits, and it must be public too.
_EMBEDDING_V4 = tuple(
    ipaddress.ip_network(n) for n in ("64:ff9b::/96", "64:ff9b:1::/48", "::ffff:0:0:0/96", "::/96")
)


def _public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address):
        embedded: list[ipaddress.IPv4Address] = []
        if address.ipv4_mapped is not None:
            embedded.append(address.ipv4_mapped)
        if address.sixtofour is not None:
            embedded.append(address.sixtofour)
        if address.teredo is not None:
            embedded.extend(address.teredo)
        if any(address in net for net in _EMBEDDING_V4):
            embedded.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
        if embedded:
            return all(_public(v4) for v4 in embedded)
    return address.is_global and not address.is_multicast


class _Deadline:
    """Ends a call that runs past ``seconds`` in all (httpx's timeouts bound each read, so an
    endpoint sending a byte at a time could hold the job worker for hours): at the deadline the
    connection's socket is shut down, which wakes the blocked read with an error."""

    def __init__(self, seconds: float) -> None:
        self.sock: socket.socket | None = None
        self.expired = False
        self.timer = threading.Timer(seconds, self._expire)
        self.timer.daemon = True

    def trace(self, name: str, info: dict[str, Any]) -> None:
        if name in ("connection.connect_tcp.complete", "connection.start_tls.complete"):
            self.sock = info["return_value"].get_extra_info("socket")

    def _expire(self) -> None:
        self.expired = True
        if self.sock is not None:
            with contextlib.suppress(OSError):
                self.sock.shutdown(socket.SHUT_RDWR)

    def __enter__(self) -> _Deadline:
        self.timer.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.timer.cancel()


def post(
    url: str,
    body: bytes,
    *,
    secret: str,
    event: str,
    delivery_id: str,
    timeout_s: float,
    allow_private: bool,
) -> Answer:
    """One signed POST of ``body`` to ``url``, at most ``timeout_s`` once the name is resolved,
    reading at most a few KiB of the answer. Raises ``Unreachable`` when no answer came, and
    ``MalformedRequest`` when the URL may no longer be called (its host now resolves inward)."""
    where = target(url, allow_private=allow_private)
    headers = {
        "Host": where.host_header,
        "Content-Type": "application/json",
        "User-Agent": f"Vigil-Webhook/{__version__}",
        "Vigil-Event": event,
        "Vigil-Delivery": delivery_id,
        SIGNATURE_HEADER: sign(secret, int(time.time()), body),
    }
    extensions = {"sni_hostname": where.server_name}
    try:
        with (
            _Deadline(timeout_s) as deadline,
            httpx.Client(timeout=timeout_s, follow_redirects=False, trust_env=False) as client,
            client.stream(
                "POST",
                where.url,
                content=body,
                headers=headers,
                extensions={**extensions, "trace": deadline.trace},
            ) as response,
        ):
            preview = b""
            for chunk in response.iter_raw():
                preview += chunk
                if len(preview) >= _RESPONSE_PREVIEW:
                    break
    except (httpx.HTTPError, OSError, UnicodeError) as exc:
        if deadline.expired:
            raise Unreachable(f"no answer within {timeout_s:g} s") from exc
        raise Unreachable(f"{type(exc).__name__}: {exc}") from exc
    return Answer(response.status_code, preview[:_RESPONSE_PREVIEW].decode("utf-8", "replace"))
