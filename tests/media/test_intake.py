"""Safe intake: types from bytes, limits from headers before decoding, hostile files refused."""

from __future__ import annotations

import io
import tracemalloc
from pathlib import Path

import pytest
from PIL import ExifTags, Image, ImageOps

from service.errors import MediaRejected, PayloadTooLarge, UnsupportedMediaType
from service.media import MediaLimits, sniff
from service.media.intake import decode_image, inspect, iter_frames, load_image, spool
from service.vocabulary import MediaKind
from tests.media import helpers

LIMITS = MediaLimits(
    max_bytes=50_000_000, max_pixels=40_000_000, max_side=16_384, max_seconds=60, max_frames=5000
)


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "jpeg"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "png"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "webp"),
        (b"RIFF\x00\x00\x00\x00WAVEfmt ", "wav"),
        (b"GIF89a\x01\x00", "gif"),
        (b"\x00\x00\x00\x18ftypisom\x00\x00", "mp4"),
        (b"\x00\x00\x00\x18ftypqt  \x00\x00", "mov"),
        (b"\x00\x00\x00\x18ftypM4A \x00\x00", "m4a"),
        (b"ID3\x04\x00\x00\x00\x00", "mp3"),
        (b"fLaC\x00\x00\x00\x22", "flac"),
        (b"%PDF-1.7\n", "pdf"),
        (b"PK\x03\x04\x14\x00", "zip"),
        (b"<!DOCTYPE html><html>", "html/xml"),
        (b"\x00\x01\x02\x03\x04\x05", "unknown"),
    ],
)
def test_type_comes_from_the_bytes(head, expected):
    found = sniff(head)
    assert (found if isinstance(found, str) else found.name) == expected


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_a_jpeg_named_pdf_is_still_a_jpeg(tmp_path):
    info = inspect(write(tmp_path, "report.pdf", helpers.jpeg_bytes()), LIMITS)
    assert info.type.name == "jpeg"
    assert (info.width, info.height) == (640, 480)


def test_decompression_bomb_is_refused_without_allocating_it(tmp_path):
    path = write(tmp_path, "bomb_50000x50000.png", helpers.png_bomb())
    assert path.stat().st_size < 10_000
    tracemalloc.start()
    try:
        with pytest.raises(MediaRejected, match="50000×50000"):
            load_image(path, LIMITS)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 20 * 1024 * 1024  # the full image would be 7.5 GB


def test_truncated_jpeg_is_refused_on_decode(tmp_path):
    data = helpers.jpeg_bytes()
    info = inspect(write(tmp_path, "truncated.jpg", data[: len(data) // 2]), LIMITS)
    with pytest.raises(MediaRejected, match="truncated or corrupt"):
        decode_image(info)


def test_jpeg_zip_polyglot_is_refused(tmp_path):
    path = write(tmp_path, "polyglot.jpg", helpers.jpeg_bytes() + helpers.zip_bytes())
    with pytest.raises(MediaRejected, match="polyglot"):
        inspect(path, LIMITS)


def test_png_with_trailing_bytes_is_refused(tmp_path):
    path = write(tmp_path, "trailing.png", helpers.png_bytes() + b"<script>alert(1)</script>")
    with pytest.raises(MediaRejected, match="after its end"):
        inspect(path, LIMITS)


def test_unsupported_type_names_what_was_detected(tmp_path):
    with pytest.raises(UnsupportedMediaType) as caught:
        inspect(write(tmp_path, "photo.jpg", b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"), LIMITS)
    assert caught.value.details["detected"] == "pdf"


def test_huge_dimensions_are_refused(tmp_path):
    buf = io.BytesIO()
    Image.new("L", (20_000, 10)).save(buf, "PNG")
    with pytest.raises(MediaRejected, match="longest side"):
        inspect(write(tmp_path, "wide.png", buf.getvalue()), LIMITS)


def test_spool_refuses_past_the_limit_and_leaves_nothing(tmp_path):
    with pytest.raises(PayloadTooLarge):
        spool(io.BytesIO(b"x" * 5000), directory=tmp_path / "spool", max_bytes=4096)
    assert list((tmp_path / "spool").iterdir()) == []


def test_video_is_probed_and_sampled_at_one_fps(tmp_path):
    path = helpers.mp4_file(tmp_path / "clip.mp4", seconds=3.0, fps=10)
    info = inspect(path, LIMITS)
    assert info.kind is MediaKind.VIDEO
    assert (info.width, info.height) == (160, 120)
    assert info.duration_s == pytest.approx(3.0, abs=0.2)
    frames = list(iter_frames(info, fps=1.0, limits=LIMITS))
    assert [round(f.t) for f in frames] == [0, 1, 2]


def test_video_over_the_duration_limit_is_refused(tmp_path):
    path = helpers.mp4_file(tmp_path / "long.mp4", seconds=3.0, fps=10)
    short = MediaLimits(max_bytes=10**9, max_pixels=10**8, max_side=10_000, max_seconds=1.0, max_frames=10**6)
    with pytest.raises(MediaRejected, match="limit is 1 s"):
        inspect(path, short)


def test_wav_is_audio(tmp_path):
    info = inspect(write(tmp_path, "voice.wav", helpers.wav_bytes()), LIMITS)
    assert info.kind is MediaKind.AUDIO
    assert info.duration_s == pytest.approx(1.0, abs=0.05)


def test_garbage_after_a_video_header_is_refused(tmp_path):
    path = write(tmp_path, "garbage.mp4", b"\x00\x00\x00\x18ftypisom" + b"\x00" * 16 + b"\x13\x37" * 500)
    with pytest.raises(MediaRejected):
        inspect(path, LIMITS)


@pytest.mark.parametrize("orientation", [None, 1, 2, 3, 4, 5, 6, 7, 8])
def test_a_decoded_picture_stands_as_its_exif_orientation_says(
    tmp_path: Path, orientation: int | None
) -> None:
    """Every EXIF orientation (mirrored, turned, both, or none) is undone on decode, as a viewer
    shows the photo; a picture with no orientation is its pixels as stored."""
    stored = Image.new("RGB", (6, 4), (0, 0, 0))
    stored.putpixel((0, 0), (255, 0, 0))  # a red corner, top left as stored
    stored.putpixel((5, 3), (0, 0, 255))  # a blue one, bottom right
    exif = Image.Exif()
    if orientation is not None:
        exif[ExifTags.Base.Orientation] = orientation
    path = tmp_path / "turned.png"
    stored.save(path, exif=exif)
    with Image.open(path) as reread:
        expected = ImageOps.exif_transpose(reread).convert("RGB")
    decoded = decode_image(inspect(path, LIMITS))
    assert decoded.image.size == expected.size == ((4, 6) if orientation in (5, 6, 7, 8) else (6, 4))
    assert decoded.full_size == decoded.image.size
    assert decoded.image.tobytes() == expected.tobytes()
    if orientation in (None, 1):
        assert decoded.image.tobytes() == stored.tobytes()
