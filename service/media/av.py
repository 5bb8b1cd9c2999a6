"""Video and audio through PyAV: probe with limits, then sample frames.

Container headers can lie about duration and frame counts, so the limits are enforced again
while decoding, on the timestamps actually seen.
"""

from __future__ import annotations

from collections.abc import Iterator

import av
import av.error

from service.errors import MediaRejected, public_detail
from service.media.model import Frame, MediaInfo, MediaLimits
from service.vocabulary import MediaKind


def inspect_av(info: MediaInfo, limits: MediaLimits) -> MediaInfo:
    try:
        with av.open(str(info.path), mode="r", metadata_errors="ignore") as container:
            video = next(iter(container.streams.video), None)
            audio = next(iter(container.streams.audio), None)
            if info.kind is MediaKind.VIDEO and video is None:
                raise MediaRejected(f"The {info.type.name} file has no video stream.")
            if info.kind is MediaKind.AUDIO and audio is None:
                raise MediaRejected(f"The {info.type.name} file has no audio stream.")
            duration = container.duration / av.time_base if container.duration else None
            width = height = frames = None
            if video is not None and info.kind is MediaKind.VIDEO:
                width, height = video.codec_context.width, video.codec_context.height
                limits.check_dimensions(width, height, "video frame")
                frames = video.frames or None
                # Decoding one frame proves the stream is real before anyone queues work on it.
                first = next(container.decode(video), None)
                if first is None:
                    raise MediaRejected("The video has no decodable frame.")
            elif audio is not None:
                next(container.decode(audio), None)
    except av.error.FFmpegError as exc:
        raise MediaRejected(f"The {info.type.name} file cannot be decoded: {public_detail(exc)}.") from exc
    if duration is not None and duration > limits.max_seconds:
        raise MediaRejected(f"The media lasts {duration:.1f} s; the limit is {limits.max_seconds:.0f} s.")
    if frames is not None and frames > limits.max_frames:
        raise MediaRejected(f"The video has {frames} frames; the limit is {limits.max_frames}.")
    return MediaInfo(
        path=info.path,
        type=info.type,
        size=info.size,
        sha256=info.sha256,
        width=width,
        height=height,
        duration_s=duration,
        frame_count=frames,
        has_audio=audio is not None,
    )


def sample_frames(info: MediaInfo, *, fps: float, limits: MediaLimits) -> Iterator[Frame]:
    step = 1.0 / fps
    next_t = 0.0
    index = 0
    try:
        with av.open(str(info.path), mode="r", metadata_errors="ignore") as container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            for decoded, frame in enumerate(container.decode(stream)):
                t = float(frame.time) if frame.pts is not None else decoded / float(stream.average_rate or 25)
                if t > limits.max_seconds or decoded >= limits.max_frames:
                    raise MediaRejected("The video runs past the duration or frame limit while decoding.")
                if t + 1e-6 >= next_t:
                    yield Frame(index=index, t=t, image=frame.to_image())  # type: ignore[no-untyped-call]
                    index += 1
                    next_t += step
                    while next_t <= t:
                        next_t += step
    except av.error.FFmpegError as exc:
        raise MediaRejected(f"The video cannot be decoded: {public_detail(exc)}.") from exc
