"""HEIC (every iPhone photo) and AVIF: recognised from their bytes, decoded, hashed and checked like
any picture; data after their last box is refused as it is for other formats."""

from __future__ import annotations

import io
from pathlib import Path

import httpx
import pytest
from PIL import Image

from service.auth import Role
from service.errors import MediaRejected
from service.match.hashes import hamming, pdq
from service.media import sniff
from service.media.intake import HEIC_READABLE, decode_image, inspect
from tests.conftest import KeyMaker, bearer
from tests.media import helpers
from tests.media.test_intake import LIMITS

needs_heic = pytest.mark.skipif(not HEIC_READABLE, reason="needs the optional pillow-heif (make install)")


def _encoded(fmt: str) -> bytes:
    out = io.BytesIO()
    helpers.photo(640, 480).save(out, fmt, quality=80)
    return out.getvalue()


@pytest.mark.parametrize(
    ("fmt", "name"), [pytest.param("HEIF", "heic", marks=needs_heic), ("AVIF", "avif")], ids=["heic", "avif"]
)
def test_a_heic_or_avif_photo_is_recognised_decoded_and_hashed(tmp_path: Path, fmt: str, name: str) -> None:
    data = _encoded(fmt)
    found = sniff(data[:64])
    assert not isinstance(found, str)
    assert found.name == name
    path = tmp_path / f"photo.{name}"
    path.write_bytes(data)
    info = inspect(path, LIMITS)
    assert (info.width, info.height) == (640, 480)
    decoded = decode_image(info)
    assert decoded.image.size == (640, 480)
    # The same picture as a JPEG hashes close to it: a bank entry made from either matches both.
    jpeg = Image.open(io.BytesIO(helpers.jpeg_bytes(helpers.photo(640, 480)))).convert("RGB")
    assert hamming(pdq(decoded.image).value, pdq(jpeg).value) <= 31

    junk = tmp_path / f"junk.{name}"
    junk.write_bytes(data + b"<script>alert(1)</script>")
    with pytest.raises(MediaRejected, match="polyglot"):
        inspect(junk, LIMITS)


def test_bare_heif_sequences_are_named_not_taken() -> None:
    head = b"\x00\x00\x00\x18ftypmsf1\x00\x00\x00\x00mif1msf1"
    assert sniff(head) == "msf1"
    generic = b"\x00\x00\x00\x1cftypmif1\x00\x00\x00\x00mif1avifmiaf"
    found = sniff(generic)
    assert not isinstance(found, str)
    assert found.name == "avif"


@needs_heic
async def test_a_platform_checks_an_iphone_photo(client: httpx.AsyncClient, make_key: KeyMaker) -> None:
    r = await client.post(
        "/v1/check", files={"file": ("IMG_0001.HEIC", _encoded("HEIF"), "image/heic")},
        headers=bearer(make_key(Role.PLATFORM)),
    )  # fmt: skip
    assert r.status_code == 200, r.text
    assert r.json()["decision"] in ("allow", "label")
    assert r.json()["provenance"]["state"] == "absent"


async def test_an_unsupported_type_lists_what_is_taken(client: httpx.AsyncClient, make_key: KeyMaker) -> None:
    r = await client.post(
        "/v1/media/inspect", files={"file": ("x.pdf", b"%PDF-1.7\n" + b"0" * 100, "application/pdf")},
        headers=bearer(make_key(Role.PLATFORM)),
    )  # fmt: skip
    assert r.status_code == 415
    message = r.json()["error"]["message"]
    assert "pdf" in message
    assert "HEIC, AVIF" in message
    assert "M4A" in message
