"""With ``VIGIL_CHECK_OCR`` on, a slogan printed on the picture counts like a caption."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from PIL import Image, ImageDraw, ImageFont

from service.auth import Role
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
