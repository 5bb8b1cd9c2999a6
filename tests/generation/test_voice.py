"""Voice: a voice sample needs the voice_clone scope; an approved one is muxed into the video,
after the audio notice where the market profile asks for one."""

from __future__ import annotations

import io
import wave
from pathlib import Path

import av
import httpx
import numpy as np
import pytest

from service.policy.load import CATEGORIES as CATEGORY_NAMES
from service.services import Services
from service.settings import Settings
from tests.certain_text import use_certain_text
from tests.conftest import KeyMaker, bearer
from tests.generation.conftest import run_jobs, screened_policies
from tests.generation.helpers import consented_subject, spec, submit


@pytest.fixture
def settings(settings: Settings, tmp_path: Path) -> Settings:
    """An operator who releases outputs no image model and no speech model screened."""
    policies = screened_policies(tmp_path, unheard_speech="ignore")
    return settings.model_copy(update={"policies_dir": policies, "video_seconds": 6.0})


def approved_voice_wav(seconds: float = 2.0) -> bytes:
    rate = 16_000
    t = np.arange(int(rate * seconds)) / rate
    samples = (np.sin(2 * np.pi * 220 * t) * 12_000).astype("<i2")
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(samples.tobytes())
    return out.getvalue()


def _voice_spec(sid: str) -> dict[str, object]:
    return spec(
        sid,
        output="video",
        subjects=[{"subject_id": sid, "appears_as": "likeness"}, {"subject_id": sid, "appears_as": "voice"}],
    )


async def test_voice_without_the_voice_clone_scope_is_denied(
    client: httpx.AsyncClient, make_key: KeyMaker
) -> None:
    h = bearer(make_key("studio"))
    sid = await consented_subject(client, h, modalities=["likeness_still", "likeness_animated"])
    r = await submit(client, h, _voice_spec(sid), voice=approved_voice_wav())
    assert r.status_code == 202, r.text
    assert r.json()["status"] == "denied"
    got = (await client.get(f"/v1/generations/{r.json()['id']}", headers=h)).json()
    assert any("voice_clone" in reason["detail"] for reason in got["reasons"]), got["reasons"]


async def test_a_voice_sample_must_be_audio_and_match_the_spec(
    client: httpx.AsyncClient, make_key: KeyMaker
) -> None:
    h = bearer(make_key("studio"))
    sid = await consented_subject(client, h)
    not_audio = await submit(client, h, _voice_spec(sid), voice=b"RIFF....WAVEnot really")
    assert not_audio.status_code in (415, 422)
    no_voice_subject = await submit(client, h, spec(sid, output="video"), voice=approved_voice_wav())
    assert no_voice_subject.status_code == 422
    missing_voice = await submit(client, h, _voice_spec(sid))
    assert missing_voice.status_code == 422


async def test_an_approved_voice_is_muxed_into_the_released_video(
    client: httpx.AsyncClient, make_key: KeyMaker, services: Services
) -> None:
    h = bearer(make_key("studio"))
    sid = await consented_subject(client, h)
    r = await submit(client, h, _voice_spec(sid), voice=approved_voice_wav())
    assert r.json()["status"] == "queued", r.text
    run_jobs(services, timeout=120)
    got = (await client.get(f"/v1/generations/{r.json()['id']}", headers=h)).json()
    assert got["status"] == "released", got
    assert got["output"]["mime"] == "video/mp4"
    # Nobody heard the voice track: the operator released it anyway, and the record says so.
    [speech] = [x for x in got["reasons"] if x["rule"] == "signal.speech.not_configured"]
    assert "decided on the remaining signals" in speech["detail"]
    assert got["classifier_versions"]["speech"] == "not_configured"
    out = await client.get(got["output"]["url"], headers=h)
    with av.open(io.BytesIO(out.content)) as container:
        assert container.streams.video
        assert container.streams.audio
        assert float(container.duration or 0) / av.time_base >= 5.5


async def test_with_the_shipped_speech_rule_a_voice_track_waits_for_a_person_and_its_script_is_screened(
    client: httpx.AsyncClient, make_key: KeyMaker, services: Services, tmp_path: Path
) -> None:
    services.policy.root = screened_policies(tmp_path / "shipped_speech")  # speech: generation review
    services.policy.reload()
    use_certain_text(services)  # every text scores 0.99: the script's reasons must say "script"
    h = bearer(make_key("studio"))
    sid = await consented_subject(client, h)
    body = {**_voice_spec(sid), "script": "Words the cloned voice says at the end."}
    r = await submit(client, h, body, voice=approved_voice_wav())
    assert r.json()["status"] == "queued", r.text
    run_jobs(services, timeout=120)
    got = (await client.get(f"/v1/generations/{r.json()['id']}", headers=h)).json()
    assert got["status"] == "held", got
    rules = {x["rule"]: x for x in got["reasons"]}
    assert "review" in rules["signal.speech.not_configured"]["detail"]
    script_reasons = [
        x for x in got["reasons"] if x["rule"].startswith("score.") and x["detail"].endswith("(script)")
    ]
    assert {x["rule"] for x in script_reasons} == {f"score.{c}.review" for c in CATEGORY_NAMES}
    assert not any(x["rule"].endswith(".block") for x in got["reasons"])
