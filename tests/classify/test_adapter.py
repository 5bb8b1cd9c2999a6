"""The text encoder's low-rank adapter: merged exactly, named by its hash, refused when it does not
fit or is damaged (screening then says unavailable), and trained end to end by ``finetune``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from service.classify import adapter as lora
from service.classify import e5
from service.classify.encoder import TextEncoder
from service.classify.registry import DEFAULT_POLICY_DIR, ClassifyConfig
from service.classify.text import TextClassifier
from service.errors import ConfigError
from service.vocabulary import SignalState


def _tiny_adapter(path: Path, *, rows: int = 384, cols: int = 384, seed: int = 1) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    key = "encoder.layer.0.attention.self.query"
    matrices = {
        f"{key}.A": rng.normal(size=(lora.RANK, cols)).astype(np.float32) * 0.01,
        f"{key}.B": rng.normal(size=(rows, lora.RANK)).astype(np.float32) * 0.01,
    }
    lora.save(path, matrices)
    return matrices


def test_merge_adds_b_times_a_and_refuses_what_does_not_fit() -> None:
    rng = np.random.default_rng(0)
    state = {
        "l.weight": rng.normal(size=(6, 5)).astype(np.float32),
        "other.weight": np.ones((2, 2), np.float32),
    }
    a, b = rng.normal(size=(2, 5)).astype(np.float32), rng.normal(size=(6, 2)).astype(np.float32)
    merged = lora.merge(state, {"l.A": a, "l.B": b})
    assert np.allclose(merged["l.weight"], state["l.weight"] + b @ a, atol=1e-6)
    assert merged["other.weight"] is state["other.weight"]
    with pytest.raises(ConfigError, match="not"):
        lora.merge(state, {"l.A": a[:, :4], "l.B": b})
    with pytest.raises(ConfigError, match="does not have"):
        lora.merge(state, {"missing.A": a, "missing.B": b})


def test_the_adapted_encoder_is_named_and_converted_by_the_adapters_hash(tmp_path: Path) -> None:
    adapter = tmp_path / "adapter.npz"
    matrices = _tiny_adapter(adapter)
    tag = lora.tag(adapter)
    encoder = TextEncoder(model_root=tmp_path / "models", adapter=adapter)
    assert encoder.name == f"{e5.NAME}+{tag}+mid-last+sentence-case"
    plain = e5.ensure_converted(tmp_path / "plain")
    adapted = e5.ensure_converted(tmp_path / "adapted", adapter=adapter)
    marker = json.loads((adapted / "converted-from.json").read_text())
    assert marker["adapter_sha256"].startswith(tag.removeprefix("vigil-"))
    assert e5.weights_tag(adapted).endswith(tag)
    assert not e5.weights_tag(plain).endswith(tag)
    from safetensors.numpy import load_file

    key = "encoder.layer.0.attention.self.query.weight"
    delta = (
        load_file(str(adapted / "model.safetensors"))[key] - load_file(str(plain / "model.safetensors"))[key]
    )
    expected = (
        matrices["encoder.layer.0.attention.self.query.B"]
        @ matrices["encoder.layer.0.attention.self.query.A"]
    )
    assert np.allclose(delta, expected, atol=1e-4)  # the adapter is stored in float16
    # Another adapter at the same place: converted again, never the stale weights.
    _tiny_adapter(adapter, seed=2)
    e5.ensure_converted(tmp_path / "adapted", adapter=adapter)
    assert (
        json.loads((adapted / "converted-from.json").read_text())["adapter_sha256"]
        != marker["adapter_sha256"]
    )


def test_a_damaged_adapter_makes_text_screening_unavailable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    adapter = tmp_path / "adapter.npz"
    adapter.write_bytes(b"PK\x03\x04 not an adapter")
    monkeypatch.setattr("service.classify.encoder._SHARED", {})
    config = ClassifyConfig(
        policy_dir=DEFAULT_POLICY_DIR, model_root=tmp_path / "models", text_adapter=adapter
    )
    result = TextClassifier(config=config).classify(["ZА ПОБЕДУ"])[0]
    assert result.state is SignalState.UNAVAILABLE
    assert result.detail


@pytest.mark.slow
def test_finetune_trains_an_adapter_and_calibrated_heads_the_classifier_loads(tmp_path: Path) -> None:
    from service.classify.training import finetune_text

    corpus = tmp_path / "corpus.jsonl"
    lines = []
    for i in range(12):
        lines.append({"text": f"Glory to our heroes, join the assault brigade today {i}!", "lang": "en",
                      "labels": ["propaganda_poster"], "slice": "positive", "form": "caption"})  # fmt: skip
        lines.append({"text": f"Happy birthday, grandma, we baked your cake {i}.", "lang": "en",
                      "labels": [], "slice": "family", "form": "caption"})  # fmt: skip
    corpus.write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    config = ClassifyConfig(policy_dir=DEFAULT_POLICY_DIR, model_root=tmp_path / "models")
    adapter, probes = tmp_path / "text_adapter.npz", tmp_path / "text_probes.json"
    said: list[str] = []
    report = finetune_text(config, corpus, adapter, probes, epochs=1, progress=said.append)
    assert report.written == (adapter, probes)
    assert any(line.startswith("epoch 1/1") for line in said)
    trained = json.loads(probes.read_text())
    assert trained["encoder"] == f"{e5.NAME}+{lora.tag(adapter)}+mid-last+sentence-case+int8"
    assert trained["trained"]["method"] == "lora-adapter"
    assert trained["trained"]["held_out_included"] is False
    classifier = TextClassifier(
        config=ClassifyConfig(
            policy_dir=DEFAULT_POLICY_DIR,
            model_root=tmp_path / "models",
            text_adapter=adapter,
            text_probes=probes,
        )
    )
    [result] = classifier.classify(["Join the assault brigade, glory to the heroes!"])
    assert result.state is SignalState.OK, result.detail
    assert lora.tag(adapter) in result.version
