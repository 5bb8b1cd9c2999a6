"""Market profiles are data: all four load, and a malformed file fails naming file and key."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import pytest
import yaml

from service.errors import ProfileError, UnknownProfile
from service.labels import AudioNoticeKind, MetadataLayer, get_profile, load_profiles
from tests.labels.helpers import MARKETS


def test_the_four_public_profiles_load() -> None:
    profiles = load_profiles(MARKETS)
    assert sorted(profiles) == ["cn", "default", "eu", "us-ca"]
    for profile in profiles.values():
        assert {"en", "ru", "uk", "zh"} <= set(profile.image.texts)
        assert profile.image.placement.value == "top-right"
        assert profile.image.min_contrast >= 4.5


def test_china_profile_follows_gb_45438() -> None:
    cn = load_profiles(MARKETS)["cn"]
    assert math.isclose(cn.image.min_text_fraction, 0.05)
    assert cn.video.label_seconds >= 2.0
    assert cn.audio.kind is AudioNoticeKind.TONE
    assert MetadataLayer.AIGC in cn.layers
    assert cn.image.text_for("zh") == "人工智能生成"


def test_california_profile_writes_the_latent_disclosure() -> None:
    assert MetadataLayer.CA_LATENT in load_profiles(MARKETS)["us-ca"].layers


def test_unknown_profile_lists_the_known_ones() -> None:
    with pytest.raises(UnknownProfile) as err:
        get_profile(load_profiles(MARKETS), "mars")
    assert "cn, default, eu, us-ca" in err.value.message


def _broken(tmp_path: Path, edit: object) -> Path:
    directory = tmp_path / "markets"
    shutil.copytree(MARKETS, directory)
    data = yaml.safe_load((directory / "cn.yaml").read_text(encoding="utf-8"))
    edit(data)  # type: ignore[operator]
    (directory / "cn.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return directory


@pytest.mark.parametrize(
    ("edit", "key"),
    [
        (lambda d: d["image"]["text"].pop("zh"), "image.text.zh"),
        (lambda d: d["video"].pop("label_seconds"), "video.label_seconds"),
        (lambda d: d["image"].pop("min_text_fraction"), "image.min_text_fraction"),
        (lambda d: d["metadata"].pop("layers"), "metadata.layers"),
        (lambda d: d.pop("audio"), "audio"),
    ],
)
def test_missing_key_is_a_load_error_naming_file_and_key(tmp_path: Path, edit: object, key: str) -> None:
    with pytest.raises(ProfileError) as err:
        load_profiles(_broken(tmp_path, edit))
    assert err.value.message.startswith(f"cn.yaml: {key}: missing")
    assert err.value.details["key"] == key


@pytest.mark.parametrize(
    ("edit", "fragment"),
    [
        (lambda d: d["image"].update(min_text_fraction="big"), "image.min_text_fraction: expected a number"),
        (
            lambda d: d["image"].update(placement="bottom-left"),
            "image.placement: 'bottom-left' is not one of",
        ),
        (lambda d: d["metadata"].update(layers=["aigc", "exif"]), "metadata.layers[1]: 'exif' is not one of"),
        (lambda d: d["video"].update(colour="red"), "video.colour: unknown key"),
        (lambda d: d.update(name="CN"), "name: must be lower case"),
    ],
)
def test_wrong_values_are_load_errors(tmp_path: Path, edit: object, fragment: str) -> None:
    with pytest.raises(ProfileError) as err:
        load_profiles(_broken(tmp_path, edit))
    assert fragment in err.value.message


def test_eu_profile_speaks_its_notice() -> None:
    assert load_profiles(MARKETS)["eu"].audio.kind is AudioNoticeKind.SPOKEN


def test_text_the_shipped_fonts_cannot_draw_is_a_load_error(tmp_path: Path) -> None:
    with pytest.raises(ProfileError) as err:
        load_profiles(_broken(tmp_path, lambda d: d["image"]["text"].update(ko="AI 생성")))
    assert "image.text.ko: the shipped fonts have no glyph for '생성'" in err.value.message
