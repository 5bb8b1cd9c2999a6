"""Label a video: the full label over the opening seconds, then a small persistent badge.

Frames are decoded, the pre-rendered mark is alpha-blended into its box (in the decoded YUV
planes), and the result is encoded as H.264 (libx264) in MP4. The audio track is kept
(re-encoded to AAC so the notice can be mixed into its opening where the profile asks).
Colours are measured once per mark, on the first frame that shows it. If the bundled FFmpeg has
no libx264, MPEG-4 Part 2 is used instead and the result says so.
"""

from __future__ import annotations

from dataclasses import replace
from fractions import Fraction
from pathlib import Path
from typing import cast

import av
import av.error
import numpy as np
import numpy.typing as npt
from av.audio.stream import AudioStream
from av.video.frame import PictureType
from av.video.stream import VideoStream

from service.errors import MediaRejected, public_detail
from service.labels.audio import mix_in, notice_samples
from service.labels.model import Box, Mark, MarketProfile, MarkKind
from service.labels.render import Layout, build_mark, layout

X264_OPTIONS = {"preset": "veryfast", "crf": "20"}


def _encoder() -> tuple[str, str | None]:
    try:
        av.codec.Codec("libx264", "w")
    except av.error.FFmpegError:
        return "mpeg4", "libx264 is not in this FFmpeg build: encoded as MPEG-4 Part 2 instead of H.264"
    except ValueError:  # PyAV raises UnknownCodecError (a ValueError) for unknown names
        return "mpeg4", "libx264 is not in this FFmpeg build: encoded as MPEG-4 Part 2 instead of H.264"
    return "libx264", None


def _plane(frame: av.VideoFrame, index: int) -> npt.NDArray[np.uint8]:
    """A writable (height × width) view of one plane of a yuv420p frame (no copy)."""
    plane = frame.planes[index]
    rows: npt.NDArray[np.uint8] = np.frombuffer(memoryview(plane), dtype=np.uint8)
    return rows.reshape(plane.height, plane.line_size)[:, : plane.width]


def _even(lay: Layout) -> Layout:
    """Chroma is subsampled 2×2: put the box on even coordinates with even sides."""
    b = lay.box
    x, y = b.x - b.x % 2, b.y - b.y % 2
    box = Box(
        x, y, b.width + (b.x - x) + (b.width + b.x - x) % 2, b.height + (b.y - y) + (b.height + b.y - y) % 2
    )
    return replace(lay, box=box)


class _MarkState:
    """A mark's layout and, once the first frame that shows it was measured, its patch in YUV.

    Marks are blended straight into the decoded yuv420p planes: converting every frame to RGB
    and back would cost more than decoding it. The plate, text and icon are greys, so the patch
    is luma plus alpha; chroma only fades towards neutral under the patch.
    """

    def __init__(self, lay: Layout) -> None:
        self.layout = _even(lay)
        self.mark: Mark | None = None
        empty: npt.NDArray[np.uint16] = np.zeros((0, 0), dtype=np.uint16)
        self.luma, self.alpha, self.alpha_half = empty, empty, empty
        self.first_t: float | None = None
        self.last_t: float | None = None

    def _prepare(self, y_region: npt.NDArray[np.uint8], full_range: bool) -> None:
        grey = y_region.astype(np.float32) if full_range else (y_region.astype(np.float32) - 16) * (255 / 219)
        rgb = np.repeat(np.clip(grey, 0, 255).astype(np.uint8)[..., np.newaxis], 3, axis=2)
        patch, self.mark = build_mark(rgb, self.layout)
        rgba = np.asarray(patch)
        g = rgba[..., 0].astype(np.float32)
        self.luma = np.rint(g if full_range else 16 + g * (219 / 255)).astype(np.uint16)
        self.alpha = rgba[..., 3].astype(np.uint16)
        h, w = self.alpha.shape
        self.alpha_half = self.alpha.reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3)).astype(np.uint16)

    def apply(self, frame: av.VideoFrame, t: float) -> None:
        b = self.layout.box
        y_plane = _plane(frame, 0)
        region = y_plane[b.y : b.y + b.height, b.x : b.x + b.width]
        if self.mark is None:
            self._prepare(region, full_range=frame.format.name == "yuvj420p" or frame.color_range == 2)
        a = self.alpha
        region[...] = ((self.luma * a + region.astype(np.uint16) * (255 - a) + 127) // 255).astype(np.uint8)
        a2 = self.alpha_half
        for index in (1, 2):
            chroma = _plane(frame, index)[b.y // 2 : (b.y + b.height) // 2, b.x // 2 : (b.x + b.width) // 2]
            chroma[...] = ((128 * a2 + chroma.astype(np.uint16) * (255 - a2) + 127) // 255).astype(np.uint8)
        self.first_t = t if self.first_t is None else self.first_t
        self.last_t = t

    def result(self, frame_s: float) -> Mark | None:
        if self.mark is None or self.first_t is None or self.last_t is None:
            return None
        return replace(self.mark, start_s=self.first_t, end_s=self.last_t + frame_s)


def label_video(
    src: Path, dst: Path, profile: MarketProfile, *, text: str, locale: str
) -> tuple[tuple[Mark, ...], float, tuple[str, ...]]:
    """Write the labelled MP4; returns the marks shown, the audio notice seconds, and notes."""
    codec, note = _encoder()
    notes: list[str] = [note] if note else []
    notice_s = 0.0
    try:
        with av.open(str(src), mode="r", metadata_errors="ignore") as inp:
            if not inp.streams.video:
                raise MediaRejected("The file has no video stream.")
            vin = inp.streams.video[0]
            vin.thread_type = "AUTO"
            ain = inp.streams.audio[0] if inp.streams.audio else None
            width, height = vin.codec_context.width & ~1, vin.codec_context.height & ~1
            rate = vin.average_rate or Fraction(25)
            spec, vspec = profile.image, profile.video
            label = _MarkState(layout(width, height, spec, text))
            badge = _MarkState(
                layout(
                    width,
                    height,
                    spec,
                    text,
                    kind=MarkKind.BADGE,
                    text_fraction=vspec.badge_text_fraction,
                    min_text_px=vspec.badge_min_text_px,
                )
            )
            with av.open(str(dst), mode="w", format="mp4", options={"movflags": "+faststart"}) as out:
                vout = cast(VideoStream, out.add_stream(codec, rate=rate))
                vout.width, vout.height, vout.pix_fmt = width, height, "yuv420p"
                vout.thread_type = "AUTO"
                if codec == "libx264":
                    vout.options = dict(X264_OPTIONS)
                aout: AudioStream | None = None
                to_float: av.AudioResampler | None = None
                notice = np.zeros(0, dtype=np.float32)
                if ain is not None:
                    a_rate = ain.codec_context.sample_rate or 48_000
                    a_layout = ain.codec_context.layout.name or "stereo"
                    aout = out.add_stream("aac", rate=a_rate, layout=a_layout)
                    to_float = av.AudioResampler(format="fltp", layout=a_layout, rate=a_rate)
                    if profile.audio.in_video:
                        notice = notice_samples(profile.audio, a_rate, locale)
                        notice_s = notice.size / a_rate
                elif profile.audio.in_video:
                    notes.append("the video has no audio track: no audible notice was added")
                a_seen = 0
                index = 0
                streams = [s for s in (vin, ain) if s is not None]
                for packet in inp.demux(*streams):
                    for frame in packet.decode():
                        if isinstance(frame, av.VideoFrame):
                            t = float(frame.time) if frame.pts is not None else index / float(rate)
                            pts, time_base = frame.pts, frame.time_base
                            if frame.format.name not in ("yuv420p", "yuvj420p") or (
                                (frame.width, frame.height) != (width, height)
                            ):
                                frame = frame.reformat(width=width, height=height, format="yuv420p")
                            else:
                                frame.make_writable()  # decoder buffers are shared with its references
                            (label if t < vspec.label_seconds else badge).apply(frame, t)
                            frame.pts, frame.time_base = pts, time_base
                            frame.pict_type = PictureType.NONE  # let the encoder choose frame types
                            out.mux(vout.encode(frame))
                            index += 1
                        elif isinstance(frame, av.AudioFrame) and aout is not None and to_float is not None:
                            for chunk in to_float.resample(frame):
                                planar = cast(npt.NDArray[np.float32], chunk.to_ndarray())
                                mix_in(planar, notice, a_seen)
                                mixed = av.AudioFrame.from_ndarray(
                                    planar, format="fltp", layout=chunk.layout.name
                                )
                                mixed.sample_rate, mixed.pts = chunk.sample_rate, a_seen
                                a_seen += planar.shape[1]
                                out.mux(aout.encode(mixed))
                out.mux(vout.encode(None))
                if aout is not None:
                    out.mux(aout.encode(None))
    except av.error.FFmpegError as exc:
        raise MediaRejected(f"The video cannot be decoded or encoded: {public_detail(exc)}.") from exc
    if index == 0:
        raise MediaRejected("The video has no decodable frame.")
    frame_s = 1.0 / float(rate)
    marks = tuple(m for m in (label.result(frame_s), badge.result(frame_s)) if m is not None)
    return marks, notice_s, tuple(notes)
