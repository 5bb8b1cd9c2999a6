"""Screening in the generation flow: every text keeps its source name, empty texts are skipped,
each classifier that ran is recorded with its version (its state when it could not run), and
sound nobody can hear is ``speech``, not configured."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import pytest
from PIL import Image

from service.classify.model import Modality, Scores
from service.classify.registry import Classifier
from service.composition import screener
from service.errors import ModelUnavailable
from service.media.intake import inspect
from service.pipeline.screening import Screening
from service.policy.model import TextSource
from service.services import Services
from service.vocabulary import Category, SignalState
from tests.certain_text import CERTAIN, use_certain_text
from tests.media.helpers import wav_bytes


def test_each_score_names_its_text_and_empty_texts_are_skipped(services: Services) -> None:
    use_certain_text(services)
    screening = screener(services).text(
        [(TextSource.PROMPT, "a prompt"), (TextSource.SCRIPT, None), (TextSource.CAPTION, "  ")],
    )
    assert {s.origin for s in screening.scores} == {"prompt"}
    assert {s.score for s in screening.scores} == {CERTAIN}
    assert screening.states == {"text_model": SignalState.OK, "lexicon": SignalState.OK}
    # A plugin text classifier does not read Vigil's lexicon: only its own version is recorded.
    assert screening.versions == {"certain-text": "certain-1"}


def test_the_built_in_classifier_records_its_version_and_the_lexicons(services: Services) -> None:
    screening = screener(services).text(
        [(TextSource.PROMPT, "Grandfather in his garden"), (TextSource.SCRIPT, "We miss you.")]
    )
    assert [s.origin for s in screening.scores if s.category == "war_glorification"] == ["prompt", "script"]
    versions = screening.versions
    assert set(versions) == {"text-probe", "lexicon"}
    assert "+probes-" in versions["text-probe"]
    assert versions["lexicon"] == services.classifiers.lexicon_version()
    assert versions["lexicon"].startswith("lexicon-")


class _Broken(Classifier):
    name: ClassVar[str] = "broken-text"
    modality: ClassVar[Modality] = Modality.TEXT

    @property
    def version(self) -> str:
        return "broken-1"

    def status(self) -> tuple[SignalState, str]:
        return SignalState.OK, ""

    def classify(self, items: Sequence[Any]) -> list[Scores]:
        raise ModelUnavailable("the text model fell over")


def test_a_text_classifier_that_fails_is_unavailable_never_clean(services: Services) -> None:
    services.classifiers.text = _Broken()
    screening = screener(services).text([(TextSource.PROMPT, "a prompt")])
    assert screening.scores == []
    assert screening.states == {"text_model": SignalState.UNAVAILABLE, "lexicon": SignalState.UNAVAILABLE}
    assert screening.versions == {"broken-text": "unavailable"}


def test_sound_is_speech_that_no_model_hears(services: Services, tmp_path: Path) -> None:
    path = tmp_path / "voice_sample.wav"
    path.write_bytes(wav_bytes())
    screening = Screening()
    screener(services).speech(screening, inspect(path, services.limits))
    assert screening.states == {"speech": SignalState.NOT_CONFIGURED}
    assert screening.versions == {"speech": "not_configured"}


def test_audit_fields_carry_versions_as_codes(services: Services) -> None:
    screening = Screening(versions={"a plugin": "v 1 (beta)", "text-probe": "enc+probes-abc"})
    assert screening.audit_fields()["classifier_versions"] == {
        "a_plugin": "v_1__beta_",
        "text-probe": "enc+probes-abc",
    }


@pytest.mark.tool("tesseract")
def test_words_printed_on_a_generated_output_are_read_and_scored_as_ocr(services, tmp_path):
    """Every generated output is read before release: a slogan on it is scored under `ocr`, and
    the words are kept for the reviewer."""
    from PIL import ImageDraw, ImageFont

    from tests.check.test_ocr import FONT

    img = Image.new("RGB", (1000, 420), "white")
    draw = ImageDraw.Draw(img)
    draw.text((40, 60), "JOIN THE ARMY", fill="black", font=ImageFont.truetype(str(FONT), 80))
    draw.text((40, 220), "GLORY TO THE HEROES", fill="black", font=ImageFont.truetype(str(FONT), 80))
    path = tmp_path / "poster.png"
    img.save(path)
    screening = Screening()
    screener(services).words(screening, inspect(path, services.limits))
    assert screening.states["ocr"].value == "ok"
    assert screening.versions["ocr"].startswith("tesseract:")
    assert any("ARMY" in words.upper() for words in screening.words), screening.words
    assert {s.origin for s in screening.scores} == {"ocr"}  # scored like any text, under its source
    assert {s.category for s in screening.scores} == {c.value for c in Category}

    blank = tmp_path / "blank.png"
    Image.new("RGB", (800, 600), (120, 160, 200)).save(blank)
    quiet = Screening()
    screener(services).words(quiet, inspect(blank, services.limits))
    assert (quiet.words, quiet.scores, quiet.states["ocr"].value) == ([], [], "ok")
