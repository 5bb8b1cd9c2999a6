"""Fixtures of provenance tests: an instance with signing keys, and media made on the spot."""

from __future__ import annotations

import io
import random
import wave
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image, ImageDraw

from service.provenance.certs import init_signing
from service.provenance.signer import VigilSigner
from service.provenance.trust import TrustStore
from service.settings import Settings


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The shared ``settings``, with a local CA and signing certificate made first."""
    init_signing(settings.keys_dir, "Acme Memorials")
    return settings


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A local CA and signing certificate for a module's signing tests (no instance)."""
    directory = tmp_path_factory.mktemp("keys")
    init_signing(directory, "Acme Memorials")
    return directory


@pytest.fixture(scope="module")
def trust(keys: Path) -> TrustStore:
    return TrustStore.from_pem(vigil_ca=keys / "ca.pem")


@pytest.fixture(scope="module")
def signer(keys: Path) -> VigilSigner:
    return VigilSigner.from_files(keys / "signing-chain.pem", keys / "signing-key.pem")


def picture(seed: int, size: tuple[int, int] = (640, 480), *, shape: int = 160) -> Image.Image:
    """A synthetic photo-like image: a gradient with shapes up to ``shape`` px (PDQ quality well
    above 50)."""
    rng = random.Random(seed)
    w, h = size
    x, y = np.meshgrid(np.linspace(0, 1, w), np.linspace(0, 1, h))
    base = np.stack([x * 255, y * 255, (1 - x) * (1 - y) * 255], axis=2)
    img = Image.fromarray(base.astype("uint8"))
    draw = ImageDraw.Draw(img)
    for _ in range(40):
        x0, y0 = rng.randrange(w), rng.randrange(h)
        x1, y1 = x0 + rng.randrange(20, shape), y0 + rng.randrange(20, shape)
        colour = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
        (draw.ellipse if rng.random() < 0.5 else draw.rectangle)((x0, y0, x1, y1), fill=colour)
    return img


def save_image(path: Path, seed: int, fmt: str, **params: object) -> Path:
    picture(seed).save(path, fmt, **params)
    return path


def make_video(path: Path, seed: int, *, seconds: int = 3, fps: int = 8, bit_rate: int = 800_000) -> Path:
    with av.open(str(path), "w") as out:
        stream = out.add_stream("mpeg4", rate=fps)
        stream.width, stream.height, stream.pix_fmt = 320, 240, "yuv420p"
        stream.bit_rate = bit_rate
        for i in range(seconds * fps):
            frame_img = picture(seed + i // fps, (320, 240))
            for packet in stream.encode(av.VideoFrame.from_image(frame_img)):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def reencode_video(src: Path, dst: Path) -> Path:
    """Decode every frame and encode again at a lower bit rate (what a platform does)."""
    with av.open(str(src)) as inp, av.open(str(dst), "w") as out:
        stream = out.add_stream("mpeg4", rate=8)
        stream.width, stream.height, stream.pix_fmt = 320, 240, "yuv420p"
        stream.bit_rate = 300_000
        for frame in inp.decode(video=0):
            for packet in stream.encode(av.VideoFrame.from_image(frame.to_image())):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return dst


def make_wav(path: Path, seconds: float = 1.0) -> Path:
    rate = 16_000
    t = np.arange(int(rate * seconds)) / rate
    samples = (np.sin(2 * np.pi * 440 * t) * 12000).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(samples.tobytes())
    return path


def make_mp3(path: Path) -> Path:
    with av.open(str(path), "w", format="mp3") as out:
        stream = out.add_stream("libmp3lame", rate=22050)
        t = np.arange(22050) / 22050
        data = (np.sin(2 * np.pi * 440 * t) * 0.3).astype("float32")[None, :]
        frame = av.AudioFrame.from_ndarray(data, format="fltp", layout="mono")
        frame.sample_rate = 22050
        for packet in stream.encode(frame):
            out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def jpeg_bytes(img: Image.Image, quality: int = 90) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=quality)
    return buf.getvalue()
