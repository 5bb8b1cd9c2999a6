"""Benchmark of disclosure labelling; prints one JSON object.

Figures (targets from the issue beside them):
- label a 1 MP JPEG (decode, burn the mark, encode, XMP): p50/p95 over repeated runs. The issue's
  target (≤ 40 ms p50) is for label + sign, so this also times Vigil's own signer
  (``service.provenance.sign_file``, ES256, thumbnails off, no TSA) right after labelling;
- label a 10 s 720p 30 fps video with stereo audio for the `cn` profile (label 2 s, then badge,
  audio notice mixed in, H.264 out): wall time, target ≤ 10 s.
CPU times (all threads) are printed beside wall times, and the load average with them: on a
shared machine the wall time says more about the neighbours than about the code.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import statistics
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from service.labels import Disclosure, label_file, load_profiles
from service.provenance import SignSpec, sign_file
from service.provenance.certs import init_signing
from service.provenance.signer import VigilSigner
from service.provenance.trust import TrustStore
from service.vocabulary import SourceType

REPO = Path(__file__).resolve().parents[1]
IMAGE_RUNS = 40
DISCLOSURE = Disclosure(
    provider="Vigil Bench",
    system_name="vigil-compositor",
    system_version="0.1.0",
    created_at=dt.datetime(2026, 11, 24, tzinfo=dt.UTC),
    asset_id="bench-0001",
)


def photo_like(width: int, height: int) -> Image.Image:
    """Smooth gradients plus grain: compresses like a photo, unlike pure noise."""
    yy, xx = np.mgrid[0:height, 0:width]
    rng = np.random.default_rng(1)
    arr = np.stack(
        [(xx * 255 // width), (yy * 255 // height), ((xx + yy) * 127 // (width + height)) + 64], -1
    )
    arr = np.clip(arr + rng.normal(0, 12, arr.shape), 0, 255).astype(np.uint8)
    return Image.fromarray(arr)


def make_video(path: Path, *, width: int = 1280, height: int = 720, seconds: int = 10, fps: int = 30) -> None:
    with av.open(str(path), "w") as out:
        v = out.add_stream("libx264", rate=fps)
        v.width, v.height, v.pix_fmt = width, height, "yuv420p"
        v.options = {"preset": "ultrafast"}
        a = out.add_stream("aac", rate=48_000, layout="stereo")
        yy, xx = np.mgrid[0:height, 0:width]
        for i in range(seconds * fps):
            arr = np.zeros((height, width, 3), np.uint8)
            arr[..., 0], arr[..., 1], arr[..., 2] = (xx + i * 4) % 256, (yy + i * 2) % 256, 128
            frame = av.VideoFrame.from_ndarray(arr, format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, fps)
            out.mux(v.encode(frame))
        n = 48_000 * seconds
        x = (0.2 * np.sin(2 * np.pi * 220 * np.arange(n) / 48_000)).astype(np.float32)
        for s in range(0, n, 1024):
            af = av.AudioFrame.from_ndarray(np.stack([x[s : s + 1024]] * 2), format="fltp", layout="stereo")
            af.sample_rate, af.pts = 48_000, s
            out.mux(a.encode(af))
        out.mux(a.encode(None))
        out.mux(v.encode(None))


def pct(values: list[float], q: float) -> float:
    return round(sorted(values)[min(len(values) - 1, int(q * len(values)))], 2)


def main() -> None:
    profiles = load_profiles(REPO / "policies" / "markets")
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        src = tmp / "photo.jpg"
        photo_like(1000, 1000).save(src, quality=90)
        keys = init_signing(tmp / "keys", "Vigil Bench")
        signer = VigilSigner.from_files(keys.chain, keys.key)
        trust = TrustStore.from_pem(vigil_ca=keys.ca)
        spec = SignSpec(
            source_type=SourceType.TRAINED_ALGORITHMIC_MEDIA.value,
            software_agent="vigil-bench",
            asset_id="bench-0001",
        )
        label_file(src, tmp / "warm.jpg", profiles["eu"], locale="en", disclosure=DISCLOSURE)  # fonts cached
        label_ms: list[float] = []
        label_cpu_ms: list[float] = []
        both_ms: list[float] = []
        for i in range(IMAGE_RUNS):
            dst = tmp / f"l{i}.jpg"
            c0, t0 = time.process_time(), time.perf_counter()
            label_file(src, dst, profiles["eu"], locale="en", disclosure=DISCLOSURE)
            t1, c1 = time.perf_counter(), time.process_time()
            label_cpu_ms.append((c1 - c0) * 1000)
            # Vigil's own signer, as releases sign (verification of the result excluded here).
            sign_file(dst, tmp / f"s{i}.jpg", spec, signer=signer, trust=trust, verify=False)
            t2 = time.perf_counter()
            label_ms.append((t1 - t0) * 1000)
            both_ms.append((t2 - t0) * 1000)

        video_src = tmp / "clip.mp4"
        make_video(video_src)
        c0, t0 = time.process_time(), time.perf_counter()
        result = label_file(
            video_src, tmp / "clip_labelled.mp4", profiles["cn"], locale="zh", disclosure=DISCLOSURE
        )
        video_s, video_cpu_s = time.perf_counter() - t0, time.process_time() - c0

    print(
        json.dumps(
            {
                "image_1mp_jpeg_label_ms_p50": pct(label_ms, 0.5),
                "image_1mp_jpeg_label_ms_p95": pct(label_ms, 0.95),
                "image_1mp_jpeg_label_cpu_ms_p50": pct(label_cpu_ms, 0.5),
                "image_1mp_jpeg_label_plus_c2pa_sign_ms_p50": pct(both_ms, 0.5),
                "image_1mp_jpeg_label_plus_c2pa_sign_ms_p95": pct(both_ms, 0.95),
                "image_target_label_plus_sign_ms_p50": 40,
                "image_runs": IMAGE_RUNS,
                "image_sign_note": "provenance sign_file: ES256, thumbnails off, no TSA, not re-verified",
                "video_10s_720p30_label_s": round(video_s, 2),
                "video_10s_720p30_label_cpu_s": round(video_cpu_s, 2),
                "video_target_s": 10,
                "video_profile": "cn",
                "video_marks": [m.kind.value for m in result.marks],
                "video_audio_notice_s": result.audio_notice_s,
                "video_encoder_notes": list(result.notes) or ["libx264 veryfast crf 20"],
                "image_label_ms_mean": round(statistics.fmean(label_ms), 2),
                "load_average_1m": round(os.getloadavg()[0], 2),
                "cpu_count": os.cpu_count(),
            }
        )
    )


if __name__ == "__main__":
    main()
