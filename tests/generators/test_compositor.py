"""The compositor's outputs decode as what they claim: a JPEG, an H.264 MP4 of the asked length."""

from __future__ import annotations

import hashlib
from pathlib import Path

import av
import pytest
from PIL import Image

from service.errors import MediaRejected
from service.generate.compositor import FPS, STILL_SIZE, VIDEO_SIZE, CompositorBackend
from service.generate.model import GeneratedMedia, GenerationRequest, PhotoRef
from service.settings import Settings
from service.vocabulary import OutputKind, SourceType
from tests.generators.conftest import CAPTION, PROMPT


@pytest.fixture(scope="module")
def compositor(tmp_path_factory: pytest.TempPathFactory) -> CompositorBackend:
    return CompositorBackend.from_settings(Settings(data_dir=tmp_path_factory.mktemp("data")))


@pytest.fixture(scope="module")
def video_with_voice(
    compositor: CompositorBackend,
    photos: tuple[PhotoRef, ...],
    voice: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> GeneratedMedia:
    request = GenerationRequest(
        "video-1", OutputKind.VIDEO, photos, PROMPT, caption=CAPTION, voice=voice, video_seconds=6.0
    )
    return compositor.generate(request, out_dir=tmp_path_factory.mktemp("quarantine"))


def test_still_is_a_clean_jpeg(
    compositor: CompositorBackend, photos: tuple[PhotoRef, ...], tmp_path: Path
) -> None:
    made = compositor.generate(
        GenerationRequest("still-1", OutputKind.IMAGE, photos, PROMPT, caption=CAPTION), out_dir=tmp_path
    )
    assert made.media_type == "image/jpeg"
    assert made.path == tmp_path / "still-1.jpg"
    assert made.digital_source_type is SourceType.COMPOSITE_SYNTHETIC
    assert made.info.sha256 == hashlib.sha256(made.path.read_bytes()).hexdigest()
    with Image.open(made.path) as image:
        assert image.format == "JPEG"
        assert image.size == STILL_SIZE
        image.load()
        assert not image.getexif()
        assert not {"exif", "xmp", "comment", "icc_profile"} & set(image.info)
        top = image.getpixel((STILL_SIZE[0] // 2, 5))
        bottom = image.getpixel((STILL_SIZE[0] // 2, STILL_SIZE[1] - 5))
    assert isinstance(top, tuple)
    assert isinstance(bottom, tuple)
    assert top[2] > top[0]  # the sky: blue above
    assert bottom[0] > bottom[2]  # warm at the horizon


def test_video_is_h264_of_the_asked_length(video_with_voice: GeneratedMedia) -> None:
    assert video_with_voice.media_type == "video/mp4"
    assert video_with_voice.path.name == "video-1.mp4"
    with av.open(str(video_with_voice.path)) as container:
        video = container.streams.video[0]
        assert video.codec_context.name == "h264"
        assert (video.codec_context.width, video.codec_context.height) == VIDEO_SIZE
        assert container.duration is not None
        assert 6.0 <= container.duration / av.time_base <= 6.1
        frames = sum(1 for _ in container.decode(video))
    assert frames == 6 * FPS


def test_video_carries_the_voice_as_aac(video_with_voice: GeneratedMedia) -> None:
    assert video_with_voice.info.has_audio
    with av.open(str(video_with_voice.path)) as container:
        audio = container.streams.audio[0]
        assert audio.codec_context.name == "aac"
        assert audio.codec_context.sample_rate == 48_000
        seconds = sum(frame.samples for frame in container.decode(audio)) / 48_000
    assert 2.9 <= seconds <= 3.1  # the 3 s track, not stretched or padded


def test_no_personal_data_in_the_files(video_with_voice: GeneratedMedia) -> None:
    data = video_with_voice.path.read_bytes()
    for word in (b"Ivan", b"Petrov", b"portrait_", b"approved_voice"):
        assert word not in data
    with av.open(str(video_with_voice.path)) as container:
        assert set(container.metadata) <= {"major_brand", "minor_version", "compatible_brands", "encoder"}


def test_a_damaged_photo_is_refused(compositor: CompositorBackend, tmp_path: Path) -> None:
    broken = tmp_path / "truncated_portrait.jpg"
    broken.write_bytes(b"\xff\xd8\xff\xe0" + b"\0" * 64)
    ref = PhotoRef(hashlib.sha256(broken.read_bytes()).hexdigest(), broken)
    with pytest.raises(MediaRejected, match="cannot be used"):
        compositor.generate(
            GenerationRequest("bad-1", OutputKind.IMAGE, (ref,), PROMPT), out_dir=tmp_path / "q"
        )
    assert not (tmp_path / "q").exists() or list((tmp_path / "q").iterdir()) == []


def test_a_photo_that_does_not_match_its_hash_is_refused(
    compositor: CompositorBackend, photos: tuple[PhotoRef, ...], tmp_path: Path
) -> None:
    swapped = PhotoRef(photos[1].sha256, photos[0].path)
    with pytest.raises(MediaRejected, match="does not match its SHA-256"):
        compositor.generate(
            GenerationRequest("bad-2", OutputKind.IMAGE, (swapped,), PROMPT), out_dir=tmp_path
        )


def test_a_retry_clears_the_parts_a_killed_attempt_left(
    compositor: CompositorBackend, photos: tuple[PhotoRef, ...], tmp_path: Path
) -> None:
    """A worker killed mid-encode leaves ``.<id>.*.part`` behind; the retry removes it, and an
    accepted output leaves no part of its own."""
    stale = tmp_path / ".still-9.abc123.part"
    stale.write_bytes(b"half an encode")
    other = tmp_path / ".still-10.def456.part"  # another request's part is not this retry's to take
    other.write_bytes(b"in progress")
    made = compositor.generate(
        GenerationRequest("still-9", OutputKind.IMAGE, photos, PROMPT, caption=CAPTION), out_dir=tmp_path
    )
    assert made.path == tmp_path / "still-9.jpg"
    assert sorted(p.name for p in tmp_path.glob("*.part")) == [other.name]
