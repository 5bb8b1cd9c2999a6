"""The built-in ``compositor`` backend: an honest algorithmic default, with no trained model.

Still (JPEG): the photos in soft oval vignettes over a dawn sky, with the caption.
Video (MP4, H.264, 6-10 s): a slow zoom over each photo, crossfades between them and into the
sky, the caption fading in over the sky; an approved voice track is muxed as AAC when given.

Its digital source type is IPTC ``compositeSynthetic`` ("composite including synthetic
elements"): the photos are real captures and the sky, vignettes and text are drawn by ordinary
software. Claiming ``compositeWithTrainedAlgorithmicMedia`` would say a generative model made
part of it, which is false; the outputs are still labelled as synthetic composites.

Nothing from the request reaches file metadata: Pillow writes no EXIF/XMP here, and the MP4
carries only the muxer's own tags. The caption is in the pixels only.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Any, ClassVar, cast

import av
import av.error
import numpy as np
from numpy.typing import NDArray
from PIL import Image

from service.errors import GeneratorFailed, MediaRejected
from service.generate import compose
from service.generate.backend import GeneratorBackend
from service.generate.model import GeneratedMedia, GenerationRequest
from service.media import intake
from service.media.model import MediaLimits
from service.settings import Settings
from service.vocabulary import MediaKind, OutputKind, SourceType

STILL_SIZE = (1600, 1200)
VIDEO_SIZE = (1280, 720)
FPS = 24
AUDIO_RATE = 48_000
_ZOOM = 0.12  # each photo grows by 12 % while it is shown
_FADE_S = 0.6  # crossfade between photos
_SKY_FADE_S = 1.0  # crossfade from the last photo into the sky
_SKY_HOLD_S = 1.8  # the sky (with the caption) alone at the end
_VIDEO_PHOTOS = 4


class CompositorBackend(GeneratorBackend):
    name: ClassVar[str] = "compositor"
    version: ClassVar[str] = "1.0"
    digital_source_type: ClassVar[SourceType] = SourceType.COMPOSITE_SYNTHETIC
    outputs: ClassVar[frozenset[OutputKind]] = frozenset(OutputKind)

    @classmethod
    def from_settings(cls, settings: Settings) -> CompositorBackend:
        return cls(limits=MediaLimits.from_settings(settings))

    def generate(self, request: GenerationRequest, *, out_dir: Path) -> GeneratedMedia:
        self.check_request(request)
        photos = [self._load(photo.path, photo.sha256) for photo in request.photos]
        if request.voice is not None and request.output is OutputKind.VIDEO:
            info = intake.inspect(request.voice, self.limits)
            if info.kind is not MediaKind.AUDIO:
                raise MediaRejected("The voice track is not an audio file.")
        with self.spool(request, out_dir) as part:
            if request.output is OutputKind.IMAGE:
                compose.still(photos, request.caption, STILL_SIZE).save(
                    part, format="JPEG", quality=90, optimize=True, progressive=True
                )
            else:
                self._video(photos, request, part)
            return self.accept_output(part, request, out_dir=out_dir)

    def _load(self, path: Path, sha256: str) -> Image.Image:
        try:
            decoded = intake.load_image(path, self.limits)
        except (MediaRejected, OSError) as exc:
            raise MediaRejected(f"Input photo {sha256[:12]} cannot be used: {exc}") from exc
        if decoded.info.sha256 != sha256:
            raise MediaRejected(f"Input photo {sha256[:12]} does not match its SHA-256; the blob is damaged.")
        return decoded.image

    # --- video -----------------------------------------------------------------------------------

    def _video(self, photos: list[Image.Image], request: GenerationRequest, part: Path) -> None:
        total_s = request.video_seconds
        frames = round(total_s * FPS)
        shown = photos[:_VIDEO_PHOTOS]
        span = total_s - _SKY_HOLD_S  # photos (with their fades) fill this; then the sky alone
        segment = span / len(shown)
        sky = np.asarray(compose.sky(VIDEO_SIZE))
        sky_caption = np.asarray(compose.caption(compose.sky(VIDEO_SIZE), request.caption))
        big = (round(VIDEO_SIZE[0] * (1 + _ZOOM)), round(VIDEO_SIZE[1] * (1 + _ZOOM)))
        bases = [np.asarray(self._photo_base(photo, big)) for photo in shown]
        try:
            with av.open(str(part), mode="w", format="mp4", options={"movflags": "+faststart"}) as out:
                video = out.add_stream("libx264", rate=FPS)
                video.width, video.height = VIDEO_SIZE
                video.pix_fmt = "yuv420p"
                video.options = {"preset": "superfast", "crf": "21"}
                # Every stream is declared before the first packet (that writes the header).
                audio = self._audio_stream(out) if request.voice is not None else None
                for index in range(frames):
                    frame = self._frame(index / FPS, bases, segment, span, sky, sky_caption)
                    for packet in video.encode(frame):
                        out.mux(packet)
                for packet in video.encode(None):
                    out.mux(packet)
                if audio is not None and request.voice is not None:
                    self._mux_audio(out, audio, request.voice, total_s)
        except av.error.FFmpegError as exc:
            raise GeneratorFailed(f"The compositor could not encode the video: {exc}") from exc

    @staticmethod
    def _photo_base(photo: Image.Image, size: tuple[int, int]) -> Image.Image:
        """The photo in a large vignette over the sky, drawn bigger than the frame for the zoom."""
        width, height = size
        background = compose.sky(size)
        cell = (int(height * 0.8 * 0.95), int(height * 0.95))
        mask = compose.vignette_mask(cell, 0.08)
        background.paste(compose.cover(photo, cell), ((width - cell[0]) // 2, (height - cell[1]) // 2), mask)
        return background

    @staticmethod
    def _zoomed(base: NDArray[np.uint8], progress: float, fmt: str = "rgb24") -> av.VideoFrame:
        """The centre of ``base`` at zoom ``progress`` (0 = widest), scaled to the frame by swscale.

        Whole-pixel crops: the box shrinks by a few pixels a frame, so rounding is invisible,
        and swscale's bilinear scaler is several times faster than Pillow's filtered resize.
        """
        width, height = VIDEO_SIZE
        scale = 1 + _ZOOM * max(0.0, min(1.0, progress))
        bh, bw = base.shape[:2]
        box_w, box_h = round(bw / scale), round(bh / scale)
        x0, y0 = (bw - box_w) // 2, (bh - box_h) // 2
        crop = np.ascontiguousarray(base[y0 : y0 + box_h, x0 : x0 + box_w])
        frame = av.VideoFrame.from_ndarray(crop, format="rgb24")
        return frame.reformat(width=width, height=height, format=fmt, interpolation="BILINEAR")

    def _frame(
        self,
        t: float,
        bases: list[NDArray[np.uint8]],
        segment: float,
        span: float,
        sky: NDArray[np.uint8],
        sky_caption: NDArray[np.uint8],
    ) -> av.VideoFrame:
        """The frame at ``t`` seconds, in the encoder's pixel format."""
        if t >= span:  # the sky alone; the caption fades in
            return _yuv(_blend(sky, sky_caption, (t - span) / 0.8 + 0.25))
        i = min(len(bases) - 1, int(t // segment))
        progress = (t - i * segment) / (segment + _FADE_S)
        into_next = t - ((i + 1) * segment - _FADE_S)
        into_sky = t - (span - _SKY_FADE_S)
        fading_next = i + 1 < len(bases) and into_next > 0
        if not fading_next and into_sky <= 0:  # most frames: crop, scale and convert in one pass
            return self._zoomed(bases[i], progress, "yuv420p")
        image = _rgb(self._zoomed(bases[i], progress))
        if fading_next:
            image = _blend(image, _rgb(self._zoomed(bases[i + 1], 0.0)), into_next / _FADE_S)
        if into_sky > 0:
            image = _blend(image, sky, into_sky / _SKY_FADE_S)
        return _yuv(image)

    @staticmethod
    def _audio_stream(out: Any) -> Any:
        stream = out.add_stream("aac", rate=AUDIO_RATE, layout="stereo")
        stream.time_base = Fraction(1, AUDIO_RATE)
        return stream

    def _mux_audio(self, out: Any, stream: Any, voice: Path, total_s: float) -> None:
        """The approved voice track as AAC, cut at the video's end (never looped or stretched)."""
        resampler = av.AudioResampler(format="fltp", layout="stereo", rate=AUDIO_RATE, frame_size=1024)
        limit = int(total_s * AUDIO_RATE)
        written = 0
        with av.open(str(voice), mode="r", metadata_errors="ignore") as source:
            for decoded in source.decode(audio=0):
                decoded.pts = None
                for frame in resampler.resample(decoded):
                    if written >= limit:
                        break
                    frame.pts = written
                    frame.time_base = Fraction(1, AUDIO_RATE)
                    written += frame.samples
                    for packet in stream.encode(frame):
                        out.mux(packet)
                if written >= limit:
                    break
        for packet in stream.encode(None):
            out.mux(packet)


def _blend(a: NDArray[np.uint8], b: NDArray[np.uint8], weight: float) -> NDArray[np.uint8]:
    """``a`` crossfaded into ``b`` by ``weight`` (0..1), in integer arithmetic."""
    k = round(256 * max(0.0, min(1.0, weight)))
    if k == 0:
        return a
    if k == 256:
        return b
    mixed = (a.astype(np.uint16) * (256 - k) + b.astype(np.uint16) * k) >> 8
    return mixed.astype(np.uint8)


def _rgb(frame: av.VideoFrame) -> NDArray[np.uint8]:
    return cast("NDArray[np.uint8]", frame.to_ndarray())


def _yuv(pixels: NDArray[np.uint8]) -> av.VideoFrame:
    return av.VideoFrame.from_ndarray(pixels, format="rgb24").reformat(format="yuv420p")
