"""Fixtures of check tests: an instance with signing keys, and the assets of the scenario table,
made on the spot and named after their case."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from PIL import Image

from service import __version__
from service.labels import Disclosure, label_file
from service.provenance import SignSpec
from service.services import Services
from service.vocabulary import SourceType
from tests.provenance.conftest import picture as provenance_picture
from tests.provenance.conftest import settings as settings  # a local CA and signing certificate first

# A caption the text classifier scores above review_at for combatant_martyrdom (the fallen rising
# to heaven in glory), with a both-sides slogan ("heroes never die") that decides nothing alone.
WAR_CAPTION = (
    "Heroes never die: our fallen soldiers rise to heaven, glory to those who gave their lives "
    "in this holy war."
)


def picture(seed: int, size: tuple[int, int] = (800, 600)) -> Image.Image:
    """A photo-like picture: a gradient with shapes (PDQ quality well above 50)."""
    return provenance_picture(seed, size, shape=200)


def photo(path: Path, seed: int, quality: int = 90) -> Path:
    picture(seed).save(path, "JPEG", quality=quality)
    return path


def signed_labelled(services: Services, tmp: Path, seed: int) -> tuple[Path, str]:
    """A Vigil output: labelled for the default market, signed, and kept in the manifest repository."""
    asset_id = str(uuid.uuid4())
    src = photo(tmp / f"output_{seed}.jpg", seed)
    labelled = tmp / f"output_{seed}_labelled.jpg"
    disclosure = Disclosure(
        provider="Acme Memorials",
        system_name="vigil",
        system_version=__version__,
        created_at=datetime.now(UTC).replace(microsecond=0),
        asset_id=asset_id,
    )
    label_file(src, labelled, services.market_profile("default"), locale="en", disclosure=disclosure)
    signed = tmp / f"signed_labelled_{seed}.jpg"
    spec = SignSpec(source_type=SourceType.TRAINED_ALGORITHMIC_MEDIA, asset_id=asset_id)
    with services.db.system() as conn:
        services.notary.sign_and_record(conn, labelled, signed, spec, limits=services.limits)
    return signed, asset_id


def stripped_recompressed(signed: Path, tmp: Path) -> Path:
    """What a platform does to an upload: decode, drop every metadata block, re-encode smaller."""
    out = tmp / signed.name.replace("signed_labelled", "signed_then_stripped_recompressed")
    with Image.open(signed) as img:
        img.convert("RGB").resize((640, 480)).save(out, "JPEG", quality=70)
    return out


def tampered(signed: Path, tmp: Path) -> Path:
    """One bit of the image data flipped after signing: the manifest no longer matches."""
    out = tmp / signed.name.replace("signed_labelled", "signed_then_pixel_flipped")
    data = bytearray(signed.read_bytes())
    data[-200] ^= 0x01  # inside the entropy-coded data, after the manifest
    out.write_bytes(bytes(data))
    return out


def video(path: Path, seed: int, *, seconds: int = 2, fps: int = 8, sound: bool = False) -> Path:
    """A short MPEG-4 clip whose picture changes every second; ``sound`` adds a 330 Hz AAC track."""
    from fractions import Fraction

    import av

    with av.open(str(path), "w") as out:
        stream = out.add_stream("mpeg4", rate=fps)
        stream.width, stream.height, stream.pix_fmt = 320, 240, "yuv420p"
        audio = out.add_stream("aac", rate=16_000, layout="mono") if sound else None
        for i in range(seconds * fps):
            frame = av.VideoFrame.from_image(picture(seed + i // fps, (320, 240)))
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
        if audio is not None:
            rate, size = 16_000, 1024
            t = np.arange(rate * seconds) / rate
            samples = (np.sin(2 * np.pi * 330 * t) * 0.4).astype(np.float32)
            for start in range(0, len(samples) - size + 1, size):
                chunk = av.AudioFrame.from_ndarray(
                    samples[None, start : start + size], format="fltp", layout="mono"
                )
                chunk.sample_rate, chunk.pts, chunk.time_base = rate, start, Fraction(1, rate)
                for packet in audio.encode(chunk):
                    out.mux(packet)
            for packet in audio.encode(None):
                out.mux(packet)
    return path


def wav(path: Path, seconds: float = 1.0) -> Path:
    """A 440 Hz tone."""
    import wave

    rate = 16_000
    t = np.arange(int(rate * seconds)) / rate
    samples = (np.sin(2 * np.pi * 440 * t) * 12000).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(samples.tobytes())
    return path
