"""Video screening through the real intake: ~1 fps plus scene cuts, near-duplicates skipped,
max / top-k mean with the arg-max frames (and their timestamps) kept as evidence."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from service.classify.classifiers import Classifiers
from service.classify.model import CATEGORIES
from service.classify.registry import DEFAULT_POLICY_DIR, ClassifyConfig
from service.classify.video import FramePlan, select_frames
from service.errors import UnsupportedMediaType
from service.media.intake import inspect, iter_frames
from service.media.model import MediaLimits
from service.vocabulary import SignalState
from tests.media.helpers import wav_bytes

LIMITS = MediaLimits(
    max_bytes=50 << 20, max_pixels=10_000_000, max_side=4096, max_seconds=60, max_frames=5000
)


def write_video(
    path: Path, colours: list[tuple[int, int, int]], *, fps: int = 8, noise: bool = False
) -> Path:
    """One colour per quarter-second segment (so a change of colour is a scene cut)."""
    rng = np.random.default_rng(0)
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = 64, 64, "yuv420p"
        for colour in colours:
            for _ in range(fps // 4):
                arr = np.full((64, 64, 3), colour, dtype=np.uint8)
                if noise:
                    arr = np.clip(arr + rng.integers(0, 3, arr.shape), 0, 255).astype(np.uint8)
                for packet in stream.encode(av.VideoFrame.from_ndarray(arr, format="rgb24")):
                    container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def test_static_video_keeps_one_frame_and_cuts_add_frames(tmp_path: Path) -> None:
    still = inspect(write_video(tmp_path / "still_four_seconds.mp4", [(200, 30, 30)] * 16), LIMITS)
    kept = select_frames(iter_frames(still, fps=4.0, limits=LIMITS), FramePlan())
    assert len(kept) == 1  # the same picture every second is scored once

    # red for 1 s, a cut to blue at 1.25 s (between two 1 fps samples), green from 2 s
    colours = [(200, 30, 30)] * 5 + [(30, 30, 200)] * 3 + [(30, 200, 30)] * 4
    cuts = inspect(write_video(tmp_path / "cut_between_samples.mp4", colours), LIMITS)
    kept = select_frames(iter_frames(cuts, fps=4.0, limits=LIMITS), FramePlan())
    times = [round(f.t, 2) for f in kept]
    assert times[0] == 0.0
    assert 1.25 in times  # the cut, seen between the 1 s and 2 s samples
    assert len(kept) == 3


def test_video_scores_aggregate_with_evidence_frames(clip_config: ClassifyConfig, tmp_path: Path) -> None:
    colours = [(200, 30, 30)] * 4 + [(30, 30, 200)] * 4 + [(240, 240, 240)] * 4
    info = inspect(write_video(tmp_path / "three_scenes.mp4", colours), LIMITS)
    classifiers = Classifiers.from_config(clip_config)
    result = classifiers.classify_video(info, limits=LIMITS)
    assert result.state is SignalState.OK
    assert result.detail == "3 frames scored"
    assert {e.category for e in result.evidence} == set(CATEGORIES)
    for evidence in result.evidence:
        assert evidence.frame_index is not None
        assert evidence.t is not None
        assert evidence.score == result.scores[evidence.category]
        assert result.topk_mean[evidence.category] <= result.scores[evidence.category]
    # the evidence points at real frames: scoring that frame alone gives the same number
    best = result.evidence[0]
    frame = next(f for f in iter_frames(info, fps=4.0, limits=LIMITS) if abs(f.t - (best.t or 0)) < 1e-6)
    alone = classifiers.classify_image(frame.image)
    assert abs(alone.scores[best.category] - best.score) < 1e-5


def test_video_without_an_image_model_is_not_configured(tmp_path: Path) -> None:
    config = ClassifyConfig(policy_dir=DEFAULT_POLICY_DIR, model_root=tmp_path)
    info = inspect(write_video(tmp_path / "unscreened.mp4", [(10, 10, 10)] * 4), LIMITS)
    result = Classifiers.from_config(config).classify_video(info, limits=LIMITS)
    assert result.state is SignalState.NOT_CONFIGURED
    assert result.scores == {}


def test_an_image_file_goes_through_the_image_path(clip_config: ClassifyConfig, tmp_path: Path) -> None:
    path = tmp_path / "poster.png"
    Image.new("RGB", (50, 70), (180, 20, 20)).save(path)
    result = Classifiers.from_config(clip_config).classify_video(inspect(path, LIMITS), limits=LIMITS)
    assert result.state is SignalState.OK
    assert result.evidence == ()


def test_signals_name_a_missing_image_model_for_the_verdict(tmp_path: Path) -> None:
    config = ClassifyConfig(policy_dir=DEFAULT_POLICY_DIR, model_root=tmp_path)
    signals = Classifiers.from_config(config).signals()
    assert signals["clip-zero-shot"][0] is SignalState.NOT_CONFIGURED
    assert "VIGIL_CLASSIFY_IMAGE_MODEL" in signals["clip-zero-shot"][1]
    assert signals["text-probe"][0] is SignalState.OK


def test_audio_has_no_frames_to_screen(tmp_path: Path) -> None:
    path = tmp_path / "voice_only.wav"
    path.write_bytes(wav_bytes())
    config = ClassifyConfig(policy_dir=DEFAULT_POLICY_DIR, model_root=tmp_path)
    with pytest.raises(UnsupportedMediaType, match="has no frames to screen"):
        Classifiers.from_config(config).classify_video(inspect(path, LIMITS), limits=LIMITS)


def test_sound_is_speech_that_no_shipped_model_hears(tmp_path: Path) -> None:
    path = tmp_path / "voice_only.wav"
    path.write_bytes(wav_bytes())
    classifiers = Classifiers.from_config(ClassifyConfig(policy_dir=DEFAULT_POLICY_DIR, model_root=tmp_path))
    result = classifiers.classify_speech(inspect(path, LIMITS))
    assert (result.classifier, result.state, dict(result.scores)) == (
        "speech",
        SignalState.NOT_CONFIGURED,
        {},
    )
    assert "transcript" in result.detail
    assert classifiers.signals()["speech"][0] is SignalState.NOT_CONFIGURED


def test_the_lexicon_version_is_a_hash_of_its_files(tmp_path: Path) -> None:
    import shutil

    from service.classify.lexicon import lexicon_version

    copy = tmp_path / "lexicon"
    shutil.copytree(DEFAULT_POLICY_DIR / "lexicon", copy)
    first = lexicon_version(copy)
    assert first == lexicon_version(DEFAULT_POLICY_DIR / "lexicon")
    assert first.startswith("lexicon-")
    edited = next(copy.glob("*.yaml"))
    edited.write_text(edited.read_text() + "\n# an operator's edit\n")
    assert lexicon_version(copy) != first
