"""Audible notice: a spoken clip or the short-long-short-short tone, prepended to WAV and MP3.

GB 45438-2025 lets an audio label be spoken or rhythmic; the rhythm short-long-short-short is
its example. The tone is generated (880 Hz, raised-cosine edges so it does not click); spoken
clips ship in ``assets/notices/<locale>.wav`` (see PROVENANCE.txt there). Either is rendered
at the file's own sample rate and channel count. The same samples are mixed into the opening of a
video's audio track where the profile asks for it (``audio.in_video``).
"""

from __future__ import annotations

from pathlib import Path
from typing import cast

import av
import av.error
import numpy as np
import numpy.typing as npt
from av.audio.stream import AudioStream

from service.errors import MediaRejected, UnsupportedMediaType, public_detail
from service.labels.model import AudioNoticeKind, AudioNoticeSpec

# (seconds on, seconds off) — short, long, short, short
PATTERN = ((0.15, 0.10), (0.45, 0.10), (0.15, 0.10), (0.15, 0.30))
TONE_HZ = 880.0
RAMP_S = 0.01
ENCODERS = {"wav": ("wav", "pcm_s16le", "s16"), "mp3": ("mp3", "libmp3lame", "fltp")}


def tone(rate: int, gain: float) -> npt.NDArray[np.float32]:
    """The notice as mono float32 samples in [-gain, gain]."""
    parts: list[npt.NDArray[np.float32]] = []
    ramp = max(1, int(RAMP_S * rate))
    for on_s, off_s in PATTERN:
        n = int(on_s * rate)
        t = np.arange(n, dtype=np.float32) / rate
        beep = (np.sin(2 * np.pi * TONE_HZ * t) * gain).astype(np.float32)
        edge = (0.5 - 0.5 * np.cos(np.linspace(0, np.pi, ramp, dtype=np.float32))).astype(np.float32)
        beep[:ramp] *= edge
        beep[-ramp:] *= edge[::-1]
        parts.extend((beep, np.zeros(int(off_s * rate), dtype=np.float32)))
    return np.concatenate(parts).astype(np.float32)


NOTICES = Path(__file__).parent / "assets" / "notices"


def clip_path(locale: str) -> Path | None:
    """The spoken notice for ``locale`` (``None`` when none ships)."""
    path = NOTICES / f"{locale}.wav"
    return path if path.is_file() else None


def spoken(locale: str, rate: int, gain: float) -> npt.NDArray[np.float32]:
    """The spoken notice for ``locale`` (falling back to en) as mono float32, peak = ``gain``."""
    path = clip_path(locale) or clip_path("en")
    if path is None:
        raise MediaRejected("No spoken notice ships with this installation; use the tone.")
    with av.open(str(path)) as clip:
        stream = clip.streams.audio[0]
        to_mono = av.AudioResampler(format="flt", layout="mono", rate=rate)
        parts = [r.to_ndarray().reshape(-1) for f in clip.decode(stream) for r in to_mono.resample(f)]
        parts.extend(r.to_ndarray().reshape(-1) for r in to_mono.resample(None))
    samples = np.concatenate(parts).astype(np.float32)
    peak = float(np.abs(samples).max()) or 1.0
    pause = np.zeros(int(0.3 * rate), dtype=np.float32)
    return np.concatenate([samples * (gain / peak), pause]).astype(np.float32)


def notice_samples(spec: AudioNoticeSpec, rate: int, locale: str) -> npt.NDArray[np.float32]:
    if spec.kind is AudioNoticeKind.NONE:
        return np.zeros(0, dtype=np.float32)
    if spec.kind is AudioNoticeKind.SPOKEN:
        return spoken(locale, rate, spec.gain)
    return tone(rate, spec.gain)


def mix_in(planar: npt.NDArray[np.float32], notice: npt.NDArray[np.float32], offset: int) -> None:
    """Mix ``notice`` (mono) into ``planar`` (channels × samples, starting at sample ``offset``)."""
    start, end = max(0, offset), min(offset + planar.shape[1], notice.size)
    if start >= end:
        return
    seg = notice[start:end]
    span = slice(start - offset, end - offset)
    # Duck the programme under the notice so the notice is heard, then add it.
    planar[:, span] = planar[:, span] * 0.35 + seg[np.newaxis, :]
    np.clip(planar, -1.0, 1.0, out=planar)


def label_audio(src: Path, dst: Path, spec: AudioNoticeSpec, *, media: str, locale: str) -> float:
    """Write ``dst`` = notice + the programme of ``src``; returns the notice length in seconds."""
    if media not in ENCODERS:
        raise UnsupportedMediaType(f"Audio notices are written to WAV and MP3, not {media}.")
    fmt, codec, sample_fmt = ENCODERS[media]
    try:
        with av.open(str(src), mode="r", metadata_errors="ignore") as inp:
            if not inp.streams.audio:
                raise MediaRejected("The file has no audio stream.")
            in_stream = inp.streams.audio[0]
            rate = in_stream.codec_context.sample_rate or 44_100
            layout = in_stream.codec_context.layout.name or "mono"
            channels = in_stream.codec_context.channels or 1
            to_float = av.AudioResampler(format="fltp", layout=layout, rate=rate)
            chunks = [
                resampled.to_ndarray()
                for frame in inp.decode(in_stream)
                for resampled in to_float.resample(frame)
            ]
            chunks.extend(f.to_ndarray() for f in to_float.resample(None))
    except av.error.FFmpegError as exc:
        raise MediaRejected(f"The audio cannot be decoded: {public_detail(exc)}.") from exc
    programme = np.concatenate(chunks, axis=1) if chunks else np.zeros((channels, 0), np.float32)
    notice = notice_samples(spec, rate, locale)
    samples = np.concatenate(
        [np.repeat(notice[np.newaxis, :], programme.shape[0], axis=0), programme], axis=1
    )
    options = {"id3v2_version": "0", "write_xing": "1"} if fmt == "mp3" else {}
    with av.open(str(dst), mode="w", format=fmt, options=options) as out:
        stream = cast(AudioStream, out.add_stream(codec, rate=rate, layout=layout))
        block = 1152 if fmt == "mp3" else 4096
        to_out = av.AudioResampler(format=sample_fmt, layout=layout, rate=rate)
        for i in range(0, samples.shape[1], block):
            frame = av.AudioFrame.from_ndarray(
                np.ascontiguousarray(samples[:, i : i + block]), format="fltp", layout=layout
            )
            frame.sample_rate = rate
            frame.pts = i
            for converted in to_out.resample(frame):
                out.mux(stream.encode(converted))
        for converted in to_out.resample(None):
            out.mux(stream.encode(converted))
        out.mux(stream.encode(None))
    return notice.size / rate
