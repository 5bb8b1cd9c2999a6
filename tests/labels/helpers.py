"""Small real media and certificates for the label tests (made here, nothing downloaded)."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image

from service.labels import Disclosure
from service.provenance.certs import cert_pem, key_pem, make_ca, make_signer_cert

REPO = Path(__file__).resolve().parents[2]
MARKETS = REPO / "policies" / "markets"

DISCLOSURE = Disclosure(
    provider="Vigil Test Provider",
    system_name="vigil-compositor",
    system_version="0.1.0",
    created_at=dt.datetime(2026, 11, 24, 3, 0, tzinfo=dt.UTC),
    asset_id="0b6c2d1e-7f00-4a7e-9d2a-5c1e0e3b9a11",
    content_producer="studio-0001",
    produce_id="gen-0001",
)


def noise_image(path: Path, width: int, height: int, *, seed: int = 0, **save: object) -> Path:
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8)).save(path, **save)
    return path


def flat_image(path: Path, width: int, height: int, colour: tuple[int, int, int]) -> Path:
    Image.new("RGB", (width, height), colour).save(path)
    return path


def video(
    path: Path,
    *,
    width: int = 320,
    height: int = 240,
    seconds: float = 3.0,
    fps: int = 10,
    audio: bool = True,
) -> Path:
    """A gradient that moves each frame, with a 220 Hz tone as its sound."""
    with av.open(str(path), "w") as out:
        v = out.add_stream("libx264", rate=fps)
        v.width, v.height, v.pix_fmt = width, height, "yuv420p"
        v.options = {"preset": "ultrafast"}
        yy, xx = np.mgrid[0:height, 0:width]
        for i in range(round(seconds * fps)):
            arr = np.zeros((height, width, 3), np.uint8)
            arr[..., 0] = (xx + i * 4) % 256
            arr[..., 1] = (yy + i * 2) % 256
            arr[..., 2] = 128
            frame = av.VideoFrame.from_ndarray(arr, format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, fps)
            out.mux(v.encode(frame))
        out.mux(v.encode(None))
    if audio:
        _add_audio(path, seconds)
    return path


def _add_audio(path: Path, seconds: float) -> None:
    """Remux ``path`` with a stereo AAC tone beside its video (streams must exist before muxing)."""
    tmp = path.with_suffix(".tmp.mp4")
    with av.open(str(path)) as inp, av.open(str(tmp), "w") as out:
        vin = inp.streams.video[0]
        vout = out.add_stream_from_template(vin)
        aout = out.add_stream("aac", rate=48_000, layout="stereo")
        for packet in inp.demux(vin):
            if packet.dts is None:
                continue
            packet.stream = vout
            out.mux(packet)
        n = int(48_000 * seconds)
        t = np.arange(n) / 48_000
        x = (0.2 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
        for s in range(0, n, 1024):
            fr = av.AudioFrame.from_ndarray(np.stack([x[s : s + 1024]] * 2), format="fltp", layout="stereo")
            fr.sample_rate, fr.pts = 48_000, s
            out.mux(aout.encode(fr))
        out.mux(aout.encode(None))
    tmp.replace(path)


def wav(path: Path, *, seconds: float = 1.0, rate: int = 22_050) -> Path:
    x = (0.3 * np.sin(2 * np.pi * 300 * np.arange(int(rate * seconds)) / rate)).astype(np.float32)
    codec = "pcm_s16le" if path.suffix == ".wav" else "libmp3lame"
    with av.open(str(path), "w") as out:
        s = out.add_stream(codec, rate=rate, layout="mono")
        fr = av.AudioFrame.from_ndarray(x[np.newaxis, :], format="fltp", layout="mono")
        fr.sample_rate, fr.pts = rate, 0
        out.mux(s.encode(fr))
        out.mux(s.encode(None))
    return path


def decoded_audio(path: Path) -> tuple[np.ndarray, int]:
    """Mono float samples of the first audio stream, and the rate."""
    with av.open(str(path)) as c:
        stream = c.streams.audio[0]
        rate = stream.codec_context.sample_rate
        res = av.AudioResampler(format="flt", layout="mono", rate=rate)
        chunks = [r.to_ndarray().reshape(-1) for f in c.decode(stream) for r in res.resample(f)]
    return np.concatenate(chunks), rate


def exiftool(path: Path) -> dict[str, object]:
    """All XMP tags ExifTool (an independent reader) finds, as ``group:tag`` → value."""
    exe = shutil.which("exiftool")
    assert exe is not None, "mark the test @pytest.mark.tool('exiftool')"
    out = subprocess.run([exe, "-j", "-G1", "-n", "-XMP:all", str(path)], check=True, capture_output=True)
    return dict(json.loads(out.stdout)[0])


def signing_pair() -> tuple[bytes, bytes, bytes]:
    """A test CA and an ES256 end-entity certificate, made by Vigil's own certificate code."""
    ca_key, ca = make_ca("Vigil Test CA", days=30)
    key, leaf = make_signer_cert("Vigil Test", ca_key, ca)
    return cert_pem(leaf) + cert_pem(ca), key_pem(key), cert_pem(ca)
