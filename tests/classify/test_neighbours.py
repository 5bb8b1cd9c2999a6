"""The labelled neighbours beside the text heads: a text among positive lines reads positive,
out-of-fold logits never see their own line, and the stored file reads back and is pinned
(an altered file is refused: test_ngrams.py)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from service.classify.neighbours import NeighbourModel, fit_neighbours
from service.classify.probes import ProbeSet
from service.classify.registry import DEFAULT_POLICY_DIR
from service.errors import ConfigError

SHIPPED = DEFAULT_POLICY_DIR / "classify" / "text_probes.json"


def _clusters(n: int = 120, dim: int = 32) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    centre = rng.normal(size=(2, dim)) * 3
    y = np.arange(n) % 2
    return centre[y] + rng.normal(size=(n, dim)), y.astype(np.float64)


def test_a_text_among_positive_lines_reads_positive_and_the_out_of_fold_vote_separates() -> None:
    x, y = _clusters()
    model, oof = fit_neighbours(x, y, folds=5)
    assert (oof[y == 1] > 0).all()
    assert (oof[y == 0] < 0).all()
    near_positive = x[y == 1][:3] + 0.1
    near_negative = x[y == 0][:3] - 0.1
    assert (model.logits(near_positive) > 2).all()
    assert (model.logits(near_negative) < -2).all()


def test_out_of_fold_logits_do_not_read_the_line_itself() -> None:
    # one positive among negatives: its own vote would call it positive, its neighbours do not
    x, _ = _clusters()
    y = np.zeros(len(x))
    y[0] = 1.0
    model, oof = fit_neighbours(x, y, folds=5)
    assert oof[0] < 0
    assert model.logits(x[:1])[0] > oof[0]


def test_the_stored_file_reads_back_and_is_pinned(tmp_path: Path) -> None:
    x, y = _clusters()
    model, _ = fit_neighbours(x, y, folds=5)
    path = tmp_path / "n.npz"
    sha = model.save(path)
    again = NeighbourModel.load(path, sha, x.shape[1])
    assert np.allclose(again.logits(x), model.logits(x), atol=0.3)
    with pytest.raises(ConfigError, match="SHA-256 differs"):
        NeighbourModel.load(path, "0" * 64, x.shape[1])
    with pytest.raises(ConfigError, match="other embeddings"):
        NeighbourModel.load(path, sha, x.shape[1] + 1)


def test_the_shipped_probes_read_their_pinned_neighbours() -> None:
    probes = ProbeSet.load(SHIPPED)
    assert probes.neighbours is not None
    assert probes.any_category is not None
    assert probes.any_category.neighbour_weight > 0
    trained = json.loads(SHIPPED.read_text())["trained"]
    assert len(probes.neighbours.positive) == trained["examples"]


def test_a_probe_file_that_weighs_neighbours_it_does_not_pin_is_refused(tmp_path: Path) -> None:
    body = json.loads(SHIPPED.read_text())
    body["neighbours"] = None
    (tmp_path / SHIPPED.name).write_text(json.dumps(body))
    shutil.copy(SHIPPED.with_name(body["ngrams"]["file"]), tmp_path / body["ngrams"]["file"])
    with pytest.raises(ConfigError, match="weighs neighbours"):
        ProbeSet.load(tmp_path / SHIPPED.name)
