"""Inputs for generator tests (photos, a voice track) and a real generator server on loopback."""

from __future__ import annotations

import contextlib
import email
import email.policy
import hashlib
import io
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
from PIL import Image

from service.generate.model import PhotoRef
from service.settings import Settings
from tests import loopback

CAPTION = "Forever in our hearts, Ivan Petrov"
PROMPT = "a farewell portrait of Ivan Petrov at dawn"


def make_photo(
    path: Path, colour: tuple[int, int, int], seed: int, size: tuple[int, int] = (600, 800)
) -> PhotoRef:
    rng = np.random.default_rng(seed)
    pixels = (rng.random((size[1], size[0], 3)) * 60 + np.array(colour)).clip(0, 255).astype("uint8")
    Image.fromarray(pixels).save(path, format="JPEG", quality=90)
    return PhotoRef(sha256=hashlib.sha256(path.read_bytes()).hexdigest(), path=path)


@pytest.fixture(scope="session")
def photos(tmp_path_factory: pytest.TempPathFactory) -> tuple[PhotoRef, ...]:
    root = tmp_path_factory.mktemp("photos")
    colours = [(180, 120, 90), (90, 140, 180), (120, 170, 100)]
    return tuple(make_photo(root / f"portrait_{i}.jpg", colour, i) for i, colour in enumerate(colours))


@pytest.fixture(scope="session")
def voice(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three seconds of a 220 Hz tone as WAV: stands in for an approved voice track."""
    path = tmp_path_factory.mktemp("voice") / "approved_voice.wav"
    rate = 16_000
    t = np.arange(rate * 3) / rate
    samples = (np.sin(2 * np.pi * 220 * t) * 12_000).astype("<i2")
    with av.open(str(path), mode="w", format="wav") as out:
        stream = out.add_stream("pcm_s16le", rate=rate, layout="mono")
        for start in range(0, len(samples), 1024):
            frame = av.AudioFrame.from_ndarray(
                samples[None, start : start + 1024], format="s16", layout="mono"
            )
            frame.rate = rate
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return path


def tiny_mp4() -> bytes:
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=6)
        stream.width, stream.height, stream.pix_fmt = 64, 64, "yuv420p"
        for i in range(36):
            image = Image.new("RGB", (64, 64), (i * 7, 80, 160))
            for packet in stream.encode(av.VideoFrame.from_image(image)):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return buffer.getvalue()


@dataclass
class GeneratorServer:
    """A generator on loopback. Each request takes the next scripted behaviour (default ``ok``)."""

    url: str = ""
    script: list[str] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    source_type: str | None = None


def _respond(handler: BaseHTTPRequestHandler, server: GeneratorServer) -> None:
    length = int(handler.headers.get("content-length", "0"))
    body = handler.rfile.read(length)
    message = email.message_from_bytes(
        b"Content-Type: " + handler.headers["content-type"].encode() + b"\r\n\r\n" + body,
        policy=email.policy.HTTP,
    )
    fields: dict[str, bytes] = {}
    for part in message.iter_parts():  # type: ignore[attr-defined]
        fields[part.get_param("name", header="content-disposition")] = part.get_payload(decode=True)
    spec = json.loads(fields["request"])
    server.requests.append({"spec": spec, "fields": sorted(fields)})
    behaviour = server.script.pop(0) if server.script else "ok"
    if behaviour == "sleep":
        time.sleep(1.5)
    if behaviour == "500":
        handler.send_error(500)
        return
    if behaviour == "400":
        handler.send_error(400)
        return
    if behaviour == "garbage":
        payload, ctype = b"\xff\xd8\xff\xe0 this is not really a JPEG" * 10, "image/jpeg"
    elif behaviour in ("huge", "huge_undeclared"):
        payload, ctype = b"\0" * 200_000, "application/octet-stream"
    elif spec["output"] == "video" and behaviour != "wrong_kind":
        payload, ctype = tiny_mp4(), "video/mp4"
    else:  # the first photo, softened: a real JPEG made from the request
        photo = Image.open(io.BytesIO(fields[spec["photos"][0]["field"]])).convert("RGB")
        out = io.BytesIO()
        photo.resize((320, 400)).save(out, format="JPEG", quality=85)
        payload, ctype = out.getvalue(), "image/jpeg"
    handler.send_response(200)
    handler.send_header("Content-Type", ctype)
    if behaviour != "huge_undeclared":  # else the body ends when the connection closes
        handler.send_header("Content-Length", str(len(payload)))
    if server.source_type is not None:
        handler.send_header("X-Digital-Source-Type", server.source_type)
    handler.end_headers()
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
        handler.wfile.write(payload)


@pytest.fixture
def generator_server() -> Iterator[GeneratorServer]:
    state = GeneratorServer()
    with loopback.serving(post=lambda handler: _respond(handler, state)) as base:
        state.url = f"{base}/generate"
        yield state


@pytest.fixture
def gen_settings(tmp_path: Path, generator_server: GeneratorServer) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        generator_url=generator_server.url,
        generator_timeout_s=0.5,
        generator_retries=2,
        generator_backoff_s=0.01,
        generator_max_bytes=100_000,
    )
