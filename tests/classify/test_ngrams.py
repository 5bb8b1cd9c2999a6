"""The lexical half of the text heads: character n-grams are read alike whatever the case, the
n-gram model and the neighbours are pinned by the probe file (another file makes text screening
unavailable, never silently different), and the any-category probe sets how strong a text's
scores are."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from service.classify.ngrams import BUCKETS, NgramModel, count_rows, fit_ngram_model, pieces
from service.classify.probes import ProbeSet, scaled_to
from service.classify.registry import DEFAULT_POLICY_DIR, ClassifyConfig
from service.classify.text import TextClassifier
from service.errors import ConfigError
from service.vocabulary import Category, SignalState

SHIPPED = DEFAULT_POLICY_DIR / "classify" / "text_probes.json"


def test_pieces_are_every_padded_2_to_5_gram_lowercased() -> None:
    assert pieces("СВО") == pieces("сво")
    # " сво " has 4 bigrams, 3 trigrams, 2 four-grams and 1 five-gram
    assert sum(pieces("СВО").values()) == 10
    assert sum(pieces("a").values()) == 3  # " a " is two bigrams and one trigram
    assert sum(pieces("a b").values()) == sum(pieces("a").values()) + sum(pieces("b").values())
    assert all(0 <= bucket < BUCKETS for bucket in pieces("Вічна слава героям! 🌹 ZOV"))


def test_a_model_learns_a_word_and_keeps_its_folds_apart() -> None:
    texts = [f"join the {w} brigade today" for w in ("storm", "iron", "wolf", "steel")] * 10 + [
        f"the {w} bakery opens today" for w in ("corner", "old", "new", "river")
    ] * 10
    y = np.array([[1.0] if "brigade" in t else [0.0] for t in texts])
    model, oof = fit_ngram_model(texts, y, ["propaganda_poster"], folds=5)
    assert oof.shape == (80, 1)
    assert (oof[:40, 0] > 0).all()
    assert (oof[40:, 0] < 0).all()
    logits = model.logits(["the brigade needs you", "fresh bread at the bakery"])
    assert logits[0, 0] > 0 > logits[1, 0]
    assert count_rows([""]).shape == (1, BUCKETS)  # an empty text is a row of nothing, not an error
    assert model.logits([""]).shape == (1, 1)


def test_the_shipped_probes_carry_a_pinned_ngram_model() -> None:
    probes = ProbeSet.load(SHIPPED)
    assert probes.ngrams is not None
    assert probes.any_category is not None
    assert set(probes.ngrams.categories) == {c.value for c in Category} | {"any"}
    pinned = json.loads(SHIPPED.read_text())["ngrams"]
    with pytest.raises(ConfigError, match="SHA-256 differs"):
        NgramModel.load(SHIPPED.with_name(pinned["file"]), "0" * 64)


@pytest.mark.parametrize(
    ("beside", "named"),
    [("text_probes.ngrams.npz", "n-gram model"), ("text_probes.neighbours.npz", "neighbours")],
)
def test_an_altered_pinned_file_makes_text_screening_unavailable(
    tmp_path: Path, beside: str, named: str
) -> None:
    for path in SHIPPED.parent.glob("text_probes.*"):
        shutil.copy(path, tmp_path / path.name)
    data = bytearray((tmp_path / beside).read_bytes())
    data[len(data) // 2] ^= 0xFF
    (tmp_path / beside).write_bytes(bytes(data))
    config = ClassifyConfig(
        policy_dir=DEFAULT_POLICY_DIR, model_root=tmp_path / "models", text_probes=tmp_path / SHIPPED.name
    )
    result = TextClassifier(config=config).classify(["Вечная слава героям СВО!"])[0]
    assert result.state is SignalState.UNAVAILABLE
    assert result.scores == {}
    assert named in result.detail
    assert "vigil classify train" in result.detail


def test_the_strongest_category_takes_the_any_category_strength() -> None:
    per = {
        Category.WAR_GLORIFICATION: np.array([0.4, 0.0, 0.9]),
        Category.PROPAGANDA_POSTER: np.array([0.2, 0.0, 0.3]),
    }
    scaled = scaled_to(np.array([0.95, 0.1, 0.05]), per)
    assert scaled[Category.WAR_GLORIFICATION].tolist() == pytest.approx([0.95, 0.1, 0.05])
    assert scaled[Category.PROPAGANDA_POSTER].tolist() == pytest.approx([0.475, 0.1, 0.05 / 3])
