"""A generator on loopback for the ``http`` backend: each request takes the next scripted
behaviour (``ok``, ``500``, ``garbage``, ``slow``, ``hang``); ``ok`` answers a real JPEG."""

from __future__ import annotations

import contextlib
import io
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler

from PIL import Image

from tests import loopback


@dataclass
class GeneratorServer:
    url: str = ""
    script: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)  # the behaviour each request got
    release: threading.Event = field(default_factory=threading.Event)  # ends a ``hang``


def _image() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (960, 720), (90, 120, 160)).save(out, format="JPEG", quality=85)
    return out.getvalue()


def _respond(handler: BaseHTTPRequestHandler, server: GeneratorServer) -> None:
    handler.rfile.read(int(handler.headers.get("content-length", "0")))
    behaviour = server.script.pop(0) if server.script else "ok"
    server.requests.append(behaviour)
    if behaviour == "hang":
        server.release.wait(60)
        behaviour = "500"
    if behaviour == "slow":
        time.sleep(1.5)
    if behaviour == "500":
        handler.send_error(500)
        return
    payload = b"\xff\xd8\xff\xe0 not really a JPEG" * 20 if behaviour == "garbage" else _image()
    handler.send_response(200)
    handler.send_header("Content-Type", "image/jpeg")
    handler.send_header("Content-Length", str(len(payload)))
    handler.end_headers()
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
        handler.wfile.write(payload)


@contextlib.contextmanager
def serving() -> Iterator[GeneratorServer]:
    state = GeneratorServer()
    with loopback.serving(post=lambda handler: _respond(handler, state)) as base:
        state.url = f"{base}/generate"
        try:
            yield state
        finally:
            state.release.set()
