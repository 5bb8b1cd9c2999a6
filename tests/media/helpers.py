"""Procedural test media: real files made on the fly, named after the case they exercise."""

from __future__ import annotations

import io
import struct
import zlib
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image, ImageDraw


def photo(width: int = 640, height: int = 480, seed: int = 1) -> Image.Image:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    base = np.stack([(x * 255 // max(width - 1, 1)), (y * 255 // max(height - 1, 1)), (x + y) % 256], axis=-1)
    img = Image.fromarray(base.astype(np.uint8))
    draw = ImageDraw.Draw(img)
    for _ in range(6):
        x0, y0 = int(rng.integers(0, width - 40)), int(rng.integers(0, height - 40))
        draw.ellipse((x0, y0, x0 + 40, y0 + 40), fill=tuple(int(v) for v in rng.integers(0, 255, 3)))
    return img


def jpeg_bytes(img: Image.Image | None = None, quality: int = 90) -> bytes:
    buf = io.BytesIO()
    (img or photo()).save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def png_bytes(img: Image.Image | None = None) -> bytes:
    buf = io.BytesIO()
    (img or photo()).save(buf, "PNG")
    return buf.getvalue()


def _chunk(kind: bytes, data: bytes) -> bytes:
    return (
        struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    )


def png_bomb(width: int = 50_000, height: int = 50_000) -> bytes:
    """A PNG that declares width×height pixels in a few KB (a decompression bomb)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * (1 << 20), 9)  # the first MiB of zero rows; the rest never arrives
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")


def zip_bytes() -> bytes:
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("payload.html", "<script>alert(1)</script>")
    return buf.getvalue()


def mp4_file(path: Path, *, seconds: float = 3.0, fps: int = 10, size: tuple[int, int] = (160, 120)) -> Path:
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        stream.codec_context.time_base = Fraction(1, fps)
        for i in range(int(seconds * fps)):
            img = photo(*size, seed=i // fps)
            frame = av.VideoFrame.from_image(img)
            frame.pts = i
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def wav_bytes(seconds: float = 1.0, rate: int = 16_000) -> bytes:
    import wave

    t = np.arange(int(seconds * rate)) / rate
    samples = (np.sin(2 * np.pi * 440 * t) * 12_000).astype("<i2")
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(samples.tobytes())
    return buf.getvalue()
