"""Video: the label over the opening seconds, then a badge; audio: the notice at the start."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from service.errors import LabelRefused
from service.labels import AudioNoticeKind, MarkKind, label_file, load_profiles
from tests.labels.helpers import DISCLOSURE, MARKETS, REPO, decoded_audio, video, wav

PROFILES = load_profiles(MARKETS)


def _frames(path: Path) -> list[tuple[float, np.ndarray]]:
    with av.open(str(path)) as c:
        return [(float(f.time), f.to_ndarray(format="rgb24")) for f in c.decode(video=0)]


def _dominant_hz(samples: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(samples.size)))
    return float(np.fft.rfftfreq(samples.size, 1 / rate)[int(np.argmax(spectrum))])


@pytest.fixture(scope="module")
def labelled(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, object]:
    tmp = tmp_path_factory.mktemp("video")
    src = video(tmp / "src.mp4", seconds=3.0, fps=10)
    dst = tmp / "out.mp4"
    return src, dst, label_file(src, dst, PROFILES["cn"], locale="zh", disclosure=DISCLOSURE)


def test_opening_frames_carry_the_label_for_the_profiles_duration(labelled: tuple) -> None:
    src, dst, result = labelled
    label, badge = result.marks
    assert (label.kind, badge.kind) == (MarkKind.LABEL, MarkKind.BADGE)
    assert label.start_s == 0.0
    assert label.end_s >= PROFILES["cn"].video.label_seconds
    assert badge.box.width < label.box.width  # the badge is the small persistent mark
    before, after = _frames(src), _frames(dst)
    assert len(after) == len(before) == 30

    def differs(box: object, i: int) -> float:
        b = box  # type: ignore[assignment]
        a = after[i][1][b.y : b.y + b.height, b.x : b.x + b.width].astype(int)
        s = before[i][1][b.y : b.y + b.height, b.x : b.x + b.width].astype(int)
        return float(np.abs(a - s).mean())

    # The left part of the label box is not under the badge: it shows the label only while it runs.
    text_part = type(label.box)(label.box.x, label.box.y, label.box.width - badge.box.width, label.box.height)
    for i, (t, _) in enumerate(after):
        assert differs(badge.box, i) > 25, f"no mark at t={t}"
        if t < 2.0:
            assert differs(text_part, i) > 25, f"label missing at t={t}"
        else:
            assert differs(text_part, i) < 12, f"label still shown at t={t}"
    # The label measures ≥ 5 % of the shorter side (GB 45438) in every opening frame.
    assert label.text_px >= 0.05 * 240


def test_video_is_h264_mp4_with_its_audio_and_the_notice(labelled: tuple) -> None:
    _, dst, result = labelled
    with av.open(str(dst)) as c:
        assert c.format.name.startswith("mov,mp4")
        assert c.streams.video[0].codec_context.name == "h264"
        assert len(c.streams.audio) == 1
        assert float(c.duration / av.time_base) == pytest.approx(3.0, abs=0.2)
    samples, rate = decoded_audio(dst)
    assert result.audio_notice is AudioNoticeKind.TONE
    assert result.audio_notice_s > 1.0
    assert _dominant_hz(samples[int(0.02 * rate) : int(0.14 * rate)], rate) == pytest.approx(880, abs=15)
    assert _dominant_hz(samples[int(2.0 * rate) : int(2.5 * rate)], rate) == pytest.approx(220, abs=15)


def test_video_without_audio_gets_no_notice_and_says_so(tmp_path: Path) -> None:
    src = video(tmp_path / "silent.mp4", seconds=1.0, audio=False)
    result = label_file(src, tmp_path / "out.mp4", PROFILES["cn"], locale="en", disclosure=DISCLOSURE)
    assert result.audio_notice is AudioNoticeKind.NONE
    assert any("no audio track" in n for n in result.notes)


def test_video_too_small_for_a_legible_label_is_refused(tmp_path: Path) -> None:
    src = video(tmp_path / "tiny.mp4", width=64, height=48, seconds=0.5, audio=False)
    dst = tmp_path / "out.mp4"
    with pytest.raises(LabelRefused):
        label_file(src, dst, PROFILES["cn"], locale="zh", disclosure=DISCLOSURE)
    assert not dst.exists()


@pytest.mark.parametrize("ext", ["wav", "mp3"])
def test_audio_starts_with_the_short_long_short_short_tone(tmp_path: Path, ext: str) -> None:
    src = wav(tmp_path / f"voice.{ext}", seconds=1.0)
    dst = tmp_path / f"out.{ext}"
    result = label_file(src, dst, PROFILES["default"], locale="en", disclosure=DISCLOSURE)
    assert result.audio_notice is AudioNoticeKind.TONE
    before, _ = decoded_audio(src)
    after, rate = decoded_audio(dst)
    assert after.size / rate == pytest.approx(before.size / rate + result.audio_notice_s, abs=0.1)
    # The rhythm: tone bursts of 0.15, 0.45, 0.15, 0.15 s separated by silence.
    step = int(0.01 * rate)
    head = after[: (int(1.45 * rate) // step) * step]
    envelope = np.abs(head).reshape(-1, step).max(axis=1) > 0.05
    edges = np.flatnonzero(np.diff(np.concatenate([[0], envelope.astype(int), [0]])))
    bursts = [(e2 - e1) / 100 for e1, e2 in zip(edges[::2], edges[1::2], strict=False)]
    assert len(bursts) == 4
    assert bursts == pytest.approx([0.15, 0.45, 0.15, 0.15], abs=0.04)
    assert _dominant_hz(after[int(0.02 * rate) : int(0.14 * rate)], rate) == pytest.approx(880, abs=15)


def test_video_in_another_pixel_format_is_converted_and_labelled(tmp_path: Path) -> None:
    src = tmp_path / "src444.mp4"
    with av.open(str(src), "w") as out:
        v = out.add_stream("libx264", rate=10)
        v.width, v.height, v.pix_fmt = 320, 240, "yuv444p"
        v.options = {"preset": "ultrafast"}
        for i in range(10):
            frame = av.VideoFrame.from_ndarray(np.full((240, 320, 3), 200, np.uint8), format="rgb24")
            frame.pts = i
            out.mux(v.encode(frame))
        out.mux(v.encode(None))
    dst = tmp_path / "out.mp4"
    result = label_file(src, dst, PROFILES["eu"], locale="en", disclosure=DISCLOSURE)
    (label,) = result.marks  # 1 s < 2 s of label: no badge yet
    assert label.plate_rgb == (20, 20, 20)  # light picture → dark plate
    frames = _frames(dst)
    assert len(frames) == 10
    b = label.box
    corner = frames[5][1][b.y + 2 : b.y + b.height - 2, b.x + 2 : b.x + b.width - 2]
    assert np.median(corner) < 60  # the dark plate is there


@pytest.mark.parametrize(("locale", "clip"), [("en", "en"), ("ru", "ru"), ("zh-CN", "zh"), ("pt", "en")])
def test_spoken_notice_in_the_labels_language(tmp_path: Path, locale: str, clip: str) -> None:
    src = wav(tmp_path / "voice.wav", seconds=1.0, rate=16_000)
    dst = tmp_path / "out.wav"
    result = label_file(src, dst, PROFILES["eu"], locale=locale, disclosure=DISCLOSURE)
    assert result.audio_notice is AudioNoticeKind.SPOKEN
    spoken, rate = decoded_audio(REPO / "service/labels/assets/notices" / f"{clip}.wav")
    assert result.audio_notice_s == pytest.approx(spoken.size / rate + 0.3, abs=0.01)
    after, out_rate = decoded_audio(dst)
    assert out_rate == 16_000
    assert after.size / out_rate == pytest.approx(1.0 + result.audio_notice_s, abs=0.05)
    head = after[: spoken.size]
    # The clip is at the start, peak-normalised: it correlates with the shipped recording.
    assert np.corrcoef(head, spoken)[0, 1] > 0.95
