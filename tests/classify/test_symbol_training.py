"""The symbol verifier's training pictures: symbols drawn by many hands, clutter it learns from."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from service.classify import symbol_synth as synth
from service.classify.symbols import load_refs

ROOT = Path(__file__).resolve().parents[2]


def _ink(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("L")) < 200


def test_a_symbol_is_painted_by_many_hands_not_only_as_drawn() -> None:
    z = next(r for r in load_refs(ROOT / "policies" / "symbols") if r.id == "z_marking")
    rng = np.random.default_rng(0)
    drawn = _ink(z.image).sum()
    inks = []
    same = 0
    for _ in range(200):
        varied = synth.varied(rng, z.image, z.id)
        same += varied is z.image
        inks.append(_ink(varied).sum() / drawn)
    assert 0.2 < same / 200 < 0.5  # the shipped drawing stays a good share of the positives
    assert min(inks) > 0.1  # never rubbed out
    assert min(inks) < 0.6  # thinner strokes, down to a brushed line
    assert max(inks) > 1.2  # and bolder ones


def test_clutter_names_where_it_stamped_so_training_can_learn_from_it() -> None:
    rng = np.random.default_rng(3)
    before = np.full((600, 800, 3), 128, np.uint8)
    img = Image.fromarray(before)
    boxes = synth.clutter(rng, img, 4)
    assert len(boxes) == 4
    changed = np.abs(np.asarray(img).astype(int) - before).sum(-1) > 60
    covered = np.zeros_like(changed)
    for x, y, w, h in boxes:
        assert w > 0
        assert h > 0
        assert changed[y : y + h, x : x + w].any()  # each box holds ink
        covered[y : y + h, x : x + w] = True
    assert changed[~covered].sum() < 0.01 * changed.sum()  # and the boxes hold the ink
