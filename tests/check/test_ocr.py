"""With ``VIGIL_CHECK_OCR`` on, a slogan printed on the picture counts like a caption."""

from __future__ import annotations

from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from service.auth import Role
from service.classify.registry import DEFAULT_POLICY_DIR
from service.policy.load import load_policies
from service.settings import Settings
from tests.conftest import KeyMaker, bearer

FONT = Path(__file__).resolve().parents[2] / "service" / "labels" / "assets" / "DejaVuSans-Bold.ttf"

pytestmark = pytest.mark.tool("tesseract")


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(
        data_dir=tmp_path / "data", database_url=database_url, log_json=False, db_pool_min=1, check_ocr=True
    )


def poster(path: Path, words: str) -> Path:
    img = Image.new("RGB", (900, 400), "white")
    ImageDraw.Draw(img).text((40, 150), words, fill="black", font=ImageFont.truetype(str(FONT), 72))
    img.save(path, "JPEG", quality=90)
    return path


async def test_a_slogan_on_the_picture_goes_to_review(
    client: httpx.AsyncClient, make_key: KeyMaker, tmp_path: Path
) -> None:
    upload = poster(tmp_path / "poster_za_pobedu.jpg", "ZA POBEDU")
    r = await client.post(
        "/v1/check",
        files={"file": (upload.name, upload.read_bytes(), "image/jpeg")},
        headers=bearer(make_key(Role.PLATFORM)),
    )
    assert r.status_code == 200, r.text
    verdict = r.json()
    assert verdict["decision"] == "review"
    hits = [x for x in verdict["reasons"] if x["rule"].startswith("lexicon.")]
    assert hits
    assert all(x["detail"].endswith("(ocr)") for x in hits), hits  # read from the picture
    assert "ocr" not in verdict["missing_signals"]
    assert verdict["classifier_versions"]["ocr"].startswith("tesseract:")
    assert "ocr" in {s["source"] for s in verdict["scores_by_source"]}


def slogan_on_a_photo(path: Path, words: str) -> Path:
    """A caption burned into a photograph: white letters with a dark outline over a busy scene."""
    rng = np.random.default_rng(3)
    base = rng.integers(40, 200, size=(30, 40, 3), dtype=np.uint8)
    img = Image.fromarray(base).resize((1200, 800), Image.Resampling.BICUBIC)
    ImageDraw.Draw(img).text(
        (80, 640),
        words,
        fill="white",
        font=ImageFont.truetype(str(FONT), 54),
        stroke_width=3,
        stroke_fill="black",
    )
    img.save(path, "JPEG", quality=80)
    return path


async def test_by_default_the_words_on_a_photo_reach_the_reviewer(
    client: httpx.AsyncClient, make_key: KeyMaker, tmp_path: Path
) -> None:
    """Words are read on every check by default: a slogan printed over a photograph routes the
    upload to a person, and the reviewer reads the words on the item."""
    upload = slogan_on_a_photo(tmp_path / "photo_with_slogan.jpg", "Вечная слава героям СВО!")
    platform = bearer(make_key(Role.PLATFORM))
    r = await client.post(
        "/v1/check", files={"file": (upload.name, upload.read_bytes(), "image/jpeg")}, headers=platform
    )
    verdict = r.json()
    assert verdict["decision"] == "review", verdict
    assert any(x["detail"].endswith("(ocr)") for x in verdict["reasons"]), verdict["reasons"]
    detail = (
        await client.get(f"/v1/flags/{verdict['flag_id']}", headers=bearer(make_key(Role.REVIEWER)))
    ).json()
    [words] = [t for t in detail["context"]["texts"] if t["source"] == "ocr"]
    assert words["heading"] == "Words read from the picture"
    assert "слава героям" in words["text"].lower()
    # each score read off the picture shows the reviewer the ocr signal's own review point
    ocr_review_at = load_policies(DEFAULT_POLICY_DIR).for_market("default").signals["ocr"].review_at
    read = [s for s in detail["context"]["scores"] if s["source"] == "ocr"]
    assert read
    assert {s["threshold"] for s in read} == {ocr_review_at}


async def test_a_photo_without_words_is_looked_at_and_stays_allowed(
    client: httpx.AsyncClient, make_key: KeyMaker, tmp_path: Path
) -> None:
    rng = np.random.default_rng(9)
    upload = tmp_path / "holiday.jpg"
    Image.fromarray(rng.integers(0, 255, size=(24, 32, 3), dtype=np.uint8)).resize(
        (1200, 900), Image.Resampling.BICUBIC
    ).save(upload, "JPEG", quality=85)
    r = await client.post(
        "/v1/check",
        files={"file": (upload.name, upload.read_bytes(), "image/jpeg")},
        headers=bearer(make_key(Role.PLATFORM)),
    )
    verdict = r.json()
    assert verdict["decision"] == "allow", verdict
    assert "ocr" not in verdict["missing_signals"]  # it was looked at, and nothing was there
    assert verdict["classifier_versions"]["ocr"].startswith("tesseract:")
    assert not [s for s in verdict["scores_by_source"] if s["source"] == "ocr"]


def captioned_video(path: Path, caption: str, *, seconds: int = 4, fps: int = 8) -> Path:
    """A clip of a moving scene with a caption burned in from the third second on."""
    import av

    rng = np.random.default_rng(5)
    font = ImageFont.truetype(str(FONT), 30)
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = 640, 360, "yuv420p"
        for i in range(seconds * fps):
            base = rng.integers(30, 200, size=(9, 16, 3), dtype=np.uint8)
            frame = Image.fromarray(base).resize((640, 360), Image.Resampling.BICUBIC)
            if i >= 2 * fps:
                ImageDraw.Draw(frame).rectangle((0, 290, 640, 340), fill=(10, 10, 10))
                ImageDraw.Draw(frame).text((20, 298), caption, font=font, fill="white")
            for packet in stream.encode(av.VideoFrame.from_image(frame)):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


async def test_a_caption_burned_into_a_video_is_read_and_its_frame_kept_for_the_reviewer(
    client: httpx.AsyncClient, make_key: KeyMaker, tmp_path: Path
) -> None:
    upload = captioned_video(tmp_path / "farewell.mp4", "ВЕЧНАЯ СЛАВА ГЕРОЯМ СВО!")
    r = await client.post(
        "/v1/check",
        files={"file": (upload.name, upload.read_bytes(), "video/mp4")},
        headers=bearer(make_key(Role.PLATFORM)),
    )
    assert r.status_code == 200, r.text
    verdict = r.json()
    assert verdict["decision"] == "review", verdict
    from_words = [x for x in verdict["reasons"] if x["detail"].endswith("(ocr)")]
    assert from_words, verdict["reasons"]
    reviewer = bearer(make_key(Role.REVIEWER))
    detail = (await client.get(f"/v1/flags/{verdict['flag_id']}", headers=reviewer)).json()
    [words] = [t for t in detail["context"]["texts"] if t["source"] == "ocr"]
    assert "СЛАВА ГЕРОЯМ СВО" in words["text"]
    fired = [e for s in detail["context"]["scores"] if s["source"] == "ocr" for e in s["evidence"]]
    frames = [e for e in fired if e.get("frame_sha256")]
    assert frames, fired  # the frame that sent it to review, kept for the reviewer
    assert all(e["timestamp_s"] >= 2.0 for e in frames)  # the caption appears at 2 s
    picture = await client.get(
        f"/v1/flags/{verdict['flag_id']}/media/{frames[0]['frame_sha256']}", headers=reviewer
    )
    assert picture.status_code == 200
    assert picture.headers["content-type"].startswith("image/")
