"""Photos as phones write them: data after the JPEG's end that the file itself declares (Samsung
SEFT, Motion Photo video, MPF secondary images) is accepted and only the primary image is
decoded; undeclared trailing data is still refused as a possible polyglot."""

from __future__ import annotations

import io
import struct
from pathlib import Path

import pytest
from PIL import Image

from service.errors import MediaRejected
from service.media.intake import decode_image, inspect
from service.media.trailers import jpeg_layout
from tests.media import helpers
from tests.media.test_intake import LIMITS

# The last 67 bytes of exif-rotn-1.jpg, a Samsung phone photo in facebook/ThreatExchange
# (pdq/data/reg-test-input/exif-rotn/, BSD licence): its SEFT trailer, one block
# ("Image_UTC_Data", the capture time), the SEFH directory, its length and "SEFT". The photo
# itself is 3 MB; its trailer is what matters here, so it is appended to a small picture.
SAMSUNG_SEFT = bytes.fromhex(
    "0000010a0e000000496d6167655f5554435f44617461313531303131303835353737305345464867000000010000"
    "000000010a23000000230000001800000053454654"
)


def _write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _with_xmp(xmp: str) -> bytes:
    buf = io.BytesIO()
    helpers.photo().save(buf, "JPEG", quality=90, xmp=xmp.encode())
    return buf.getvalue()


def _mp4(tmp_path: Path) -> bytes:
    return helpers.mp4_file(tmp_path / "clip.mp4", seconds=1.0).read_bytes()


def test_the_samsung_trailer_is_accepted_and_the_primary_image_decoded(tmp_path: Path) -> None:
    photo = helpers.jpeg_bytes()
    assert len(SAMSUNG_SEFT) == 67
    data = photo + SAMSUNG_SEFT
    info = inspect(_write(tmp_path, "samsung.jpg", data), LIMITS)
    assert (info.width, info.height) == (640, 480)
    assert decode_image(info).image.size == (640, 480)
    layout = jpeg_layout(data)
    assert layout is not None
    assert (layout.end, layout.declared_by, layout.undeclared(data)) == (len(photo), ("seft",), 0)


def test_a_motion_photo_video_declared_by_micro_video_offset_is_accepted(tmp_path: Path) -> None:
    video = _mp4(tmp_path)
    xmp = (
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description xmlns:GCamera="http://ns.google.com/photos/1.0/camera/" GCamera:MicroVideo="1" '
        f'GCamera:MicroVideoVersion="1" GCamera:MicroVideoOffset="{len(video)}"/></rdf:RDF></x:xmpmeta>'
    )
    info = inspect(_write(tmp_path, "motion.jpg", _with_xmp(xmp) + video), LIMITS)
    assert decode_image(info).image.size == (640, 480)
    # Declared shorter than what follows: the bytes before the video are nobody's.
    with pytest.raises(MediaRejected, match="nothing in it declares"):
        inspect(_write(tmp_path, "motion-junk.jpg", _with_xmp(xmp) + b"junk" * 10 + video), LIMITS)


def test_a_motion_photo_declared_by_a_container_directory_is_accepted(tmp_path: Path) -> None:
    video = _mp4(tmp_path)
    xmp = (
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description xmlns:Container="http://ns.google.com/photos/1.0/container/" '
        'xmlns:Item="http://ns.google.com/photos/1.0/container/item/"><Container:Directory><rdf:Seq>'
        '<rdf:li rdf:parseType="Resource">'
        '<Container:Item Item:Mime="image/jpeg" Item:Semantic="Primary"/></rdf:li>'
        '<rdf:li rdf:parseType="Resource">'
        f'<Container:Item Item:Mime="video/mp4" Item:Semantic="MotionPhoto" Item:Length="{len(video)}"/>'
        "</rdf:li></rdf:Seq></Container:Directory></rdf:Description></rdf:RDF></x:xmpmeta>"
    )
    info = inspect(_write(tmp_path, "pixel.jpg", _with_xmp(xmp) + video), LIMITS)
    assert (info.width, info.height) == (640, 480)


def test_mpf_secondary_images_are_accepted(tmp_path: Path) -> None:
    buf = io.BytesIO()
    first, second = helpers.photo(seed=1), helpers.photo(320, 240, seed=2)
    first.save(buf, "MPO", save_all=True, append_images=[second], quality=90)
    data = buf.getvalue()
    layout = jpeg_layout(data)
    assert layout is not None
    assert (layout.declared_by, layout.undeclared(data)) == (("mpf",), 0)
    info = inspect(_write(tmp_path, "mpo.jpg", data), LIMITS)
    with Image.open(info.path) as img:
        assert img.size == (640, 480)  # the primary image is what is screened


@pytest.mark.parametrize(
    "trailer",
    [
        helpers.zip_bytes(),
        b"<script>alert(1)</script>",
        b"junk before a real trailer" + SAMSUNG_SEFT,  # SEFT declares its block, not the junk
        SAMSUNG_SEFT[:-30] + struct.pack("<I", 10_000) + b"SEFT",  # a directory that is not there
    ],
    ids=["zip", "script", "junk-then-seft", "broken-seft"],
)
def test_undeclared_trailing_data_is_still_refused(tmp_path: Path, trailer: bytes) -> None:
    with pytest.raises(MediaRejected, match="polyglot"):
        inspect(_write(tmp_path, "polyglot.jpg", helpers.jpeg_bytes() + trailer), LIMITS)


def test_zero_padding_after_the_image_is_accepted(tmp_path: Path) -> None:
    info = inspect(_write(tmp_path, "padded.jpg", helpers.jpeg_bytes() + b"\x00" * 512), LIMITS)
    assert info.width == 640
