"""Text inside images: a slogan painted on a poster reaches the text classifier (Tesseract,
installed by .ci/run); without an engine the signal is not_configured."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFont

from service.classify.model import Category, SignalState
from service.classify.ocr import TesseractOcr
from service.classify.registry import DEFAULT_POLICY_DIR, ClassifyConfig
from service.classify.screening import Classifiers

FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")


def poster(text: str) -> Image.Image:
    image = Image.new("RGB", (900, 200), "white")
    ImageDraw.Draw(image).text((30, 60), text, fill="black", font=ImageFont.truetype(str(FONT), 64))
    return image


@pytest.mark.tool("tesseract", "dejavu")
def test_a_slogan_on_a_poster_is_read_and_scored(tmp_path: Path) -> None:
    classifiers = Classifiers.from_config(ClassifyConfig(policy_dir=DEFAULT_POLICY_DIR, model_root=tmp_path))
    read = classifiers.ocr.read(poster("HEROES NEVER DIE"))
    assert read.state is SignalState.OK
    assert "HEROES NEVER DIE" in read.text
    result = classifiers.classify_image_text(poster("HEROES NEVER DIE"))
    assert result.state is SignalState.OK
    assert [h.term_id for h in result.hits] == ["both-geroi-ne-umirayut"]
    assert result.review is False  # a phrase of both sides never decides alone
    assert result.scores[Category.COMBATANT_MARTYRDOM] >= 0.5


def test_without_an_engine_ocr_is_not_configured(tmp_path: Path) -> None:
    classifiers = Classifiers.from_config(ClassifyConfig(policy_dir=DEFAULT_POLICY_DIR, model_root=tmp_path))
    classifiers.ocr = TesseractOcr(binary=None)
    result = classifiers.classify_image_text(poster("anything"))
    assert result.state is SignalState.NOT_CONFIGURED
    assert classifiers.signals()["ocr"][0] is SignalState.NOT_CONFIGURED
