"""The http backend against a real generator on loopback, including its faults."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from service.errors import GeneratorFailed
from service.generate.http import HttpBackend
from service.generate.model import GenerationRequest, PhotoRef
from service.settings import Settings
from service.vocabulary import OutputKind, SourceType
from tests.generators.conftest import CAPTION, PROMPT, GeneratorServer


def request(
    photos: tuple[PhotoRef, ...], output: OutputKind = OutputKind.IMAGE, voice: Path | None = None
) -> GenerationRequest:
    return GenerationRequest("gen-7", output, photos, PROMPT, caption=CAPTION, script="hello", voice=voice)


@pytest.fixture
def backend(gen_settings: Settings) -> HttpBackend:
    return HttpBackend.from_settings(gen_settings)


def test_sends_the_documented_request_and_keeps_the_answer(
    backend: HttpBackend,
    generator_server: GeneratorServer,
    photos: tuple[PhotoRef, ...],
    voice: Path,
    tmp_path: Path,
) -> None:
    made = backend.generate(request(photos, voice=voice), out_dir=tmp_path)
    assert made.media_type == "image/jpeg"
    assert made.info.width == 320
    assert made.digital_source_type is SourceType.COMPOSITE_WITH_TRAINED_ALGORITHMIC_MEDIA
    [sent] = generator_server.requests
    assert sent["fields"] == ["photo0", "photo1", "photo2", "request", "voice"]
    spec = sent["spec"]
    assert spec["request_id"] == "gen-7"
    assert spec["output"] == "image"
    assert spec["prompt"] == PROMPT
    assert spec["caption"] == CAPTION
    assert spec["script"] == "hello"
    assert spec["photos"] == [{"sha256": p.sha256, "field": f"photo{i}"} for i, p in enumerate(photos)]
    assert spec["voice"] == {"field": "voice"}


def test_video_answer(backend: HttpBackend, photos: tuple[PhotoRef, ...], tmp_path: Path) -> None:
    made = backend.generate(request(photos, OutputKind.VIDEO), out_dir=tmp_path)
    assert made.media_type == "video/mp4"
    assert made.path.name == "gen-7.mp4"


def test_declared_source_type_is_kept(
    backend: HttpBackend, generator_server: GeneratorServer, photos: tuple[PhotoRef, ...], tmp_path: Path
) -> None:
    generator_server.source_type = SourceType.TRAINED_ALGORITHMIC_MEDIA.value
    made = backend.generate(request(photos), out_dir=tmp_path)
    assert made.digital_source_type is SourceType.TRAINED_ALGORITHMIC_MEDIA


@pytest.mark.parametrize(
    ("fault", "reason"),
    [
        ("sleep", "timed out after 0.5 s"),
        ("500", "the generator answered 500"),
        ("garbage", "media the intake refuses (media_rejected)"),
        ("huge", "larger than the limit of 100000 bytes (200000 declared)"),
        ("huge_undeclared", "larger than the limit of 100000 bytes"),
        ("wrong_kind", "returned jpeg for a video request"),
    ],
)
def test_faults_fail_with_the_reason_after_the_retries(
    fault: str,
    reason: str,
    backend: HttpBackend,
    generator_server: GeneratorServer,
    photos: tuple[PhotoRef, ...],
    tmp_path: Path,
) -> None:
    generator_server.script = [fault] * 3
    output = OutputKind.VIDEO if fault == "wrong_kind" else OutputKind.IMAGE
    with pytest.raises(GeneratorFailed) as caught:
        backend.generate(request(photos, output), out_dir=tmp_path)
    assert len(generator_server.requests) == 3  # the first try and two retries
    assert "failed 3 time(s)" in caught.value.message
    assert reason in caught.value.message
    assert list(tmp_path.iterdir()) == []  # nothing left in quarantine


def test_a_transient_fault_is_retried_to_success(
    backend: HttpBackend, generator_server: GeneratorServer, photos: tuple[PhotoRef, ...], tmp_path: Path
) -> None:
    generator_server.script = ["500", "garbage"]
    made = backend.generate(request(photos), out_dir=tmp_path)
    assert made.media_type == "image/jpeg"
    assert len(generator_server.requests) == 3


def test_a_refused_request_is_not_retried(
    backend: HttpBackend, generator_server: GeneratorServer, photos: tuple[PhotoRef, ...], tmp_path: Path
) -> None:
    generator_server.script = ["400"]
    with pytest.raises(GeneratorFailed, match="status 400"):
        backend.generate(request(photos), out_dir=tmp_path)
    assert len(generator_server.requests) == 1


def test_an_unreachable_generator_fails_after_retries(
    gen_settings: Settings, photos: tuple[PhotoRef, ...], tmp_path: Path
) -> None:
    backend = HttpBackend.from_settings(
        gen_settings.model_copy(update={"generator_url": "http://127.0.0.1:9/"})
    )
    started = time.monotonic()
    with pytest.raises(GeneratorFailed, match="could not reach the generator"):
        backend.generate(request(photos), out_dir=tmp_path)
    assert time.monotonic() - started < 5
