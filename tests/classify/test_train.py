"""`vigil classify train`: the shipped text probes are reproducible; image probes and
calibration are fitted for the model in the store and change its scores."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from service.classify.image import ClipClassifier
from service.classify.probe_train import load_examples, split
from service.classify.registry import DEFAULT_POLICY_DIR, ClassifyConfig
from service.classify.text import TextClassifier
from service.classify.training import train_image, train_text
from service.policy.load import load_policies
from service.vocabulary import Category, SignalState

SHIPPED = DEFAULT_POLICY_DIR / "classify" / "text_probes.json"
# The lowest score at which the shipped policy sends a text to a person.
POLICY = load_policies(DEFAULT_POLICY_DIR).for_market("default")
REVIEW_AT = min(c.review_at for c in POLICY.categories.values())


@pytest.mark.timeout(1800)  # the whole corpus embedded and every head fitted: 3 to 14 minutes on 2 cores
def test_training_reproduces_the_shipped_text_probes(tmp_path: Path) -> None:
    config = ClassifyConfig(policy_dir=DEFAULT_POLICY_DIR, model_root=tmp_path)
    out = tmp_path / "probes.json"
    corpus = DEFAULT_POLICY_DIR / "classify" / "corpus"
    report = train_text(config, corpus, out, include_held_out=False)
    assert report.trained_on < report.examples  # the held-out split stays out
    fresh, shipped = json.loads(out.read_text()), json.loads(SHIPPED.read_text())
    assert fresh["encoder"] == shipped["encoder"] == "multilingual-e5-small+mid-last+sentence-case+int8"
    assert fresh["trained"]["texts_sha256"] == shipped["trained"]["texts_sha256"]
    assert fresh["trained"]["per_language"] == shipped["trained"]["per_language"]
    # Same data, same seed: the same decisions on texts neither was trained on. Not the same
    # digits: floating-point sums differ in their last bits between processors' vector
    # instructions and between thread counts, and the hidden layer's training carries such
    # differences on (fitted on another processor than the shipped file, 2 of these 200 texts
    # crossed the review point and their scores moved by 0.012 at the median, 0.26 at most).
    held = [e.content for e in split(load_examples(corpus))[1]][:200]
    again = TextClassifier(
        config=ClassifyConfig(policy_dir=DEFAULT_POLICY_DIR, model_root=tmp_path, text_probes=out)
    )
    before = TextClassifier(config=ClassifyConfig(policy_dir=DEFAULT_POLICY_DIR, model_root=tmp_path))
    pairs = list(zip(again.classify(held), before.classify(held), strict=True))
    moved = sorted(max(abs(a.scores[c] - b.scores[c]) for c in Category) for a, b in pairs)
    flagged = [(max(a.scores.values()) >= REVIEW_AT, max(b.scores.values()) >= REVIEW_AT) for a, b in pairs]
    crossed = sum(x != y for x, y in flagged)
    assert crossed <= 6, crossed  # 97 % of the decisions the same
    assert moved[len(moved) // 2] < 0.03, moved[len(moved) // 2]


def test_image_probes_trained_from_labelled_jsonl(clip_config: ClassifyConfig, tmp_path: Path) -> None:
    lines = []
    for i in range(24):
        red = i % 2 == 0
        name = f"{'poster' if red else 'garden'}_{i}.png"
        shade = 150 + 4 * i
        Image.new("RGB", (40, 40), (shade, 20, 20) if red else (20, shade, 20)).save(tmp_path / name)
        labels = ["propaganda_poster", "war_glorification"] if red else []
        lines.append(json.dumps({"image": name, "labels": labels}))
    lines.append(json.dumps({"image": "symbol.png", "labels": [c.value for c in Category]}))
    lines.append(json.dumps({"image": "symbol2.png", "labels": [c.value for c in Category]}))
    Image.new("RGB", (40, 40), (250, 250, 0)).save(tmp_path / "symbol.png")
    Image.new("RGB", (40, 40), (240, 240, 10)).save(tmp_path / "symbol2.png")
    data = tmp_path / "labelled.jsonl"
    data.write_text("\n".join(lines) + "\n")

    report = train_image(clip_config, data, include_held_out=True)
    assert [p.name for p in report.written] == ["image_probes.json", "calibration.yaml"]

    classifier = ClipClassifier(config=clip_config)
    red, green = classifier.classify(
        [Image.new("RGB", (40, 40), (200, 20, 20)), Image.new("RGB", (40, 40), (20, 200, 20))]
    )
    assert red.state is green.state is SignalState.OK
    assert red.scores[Category.PROPAGANDA_POSTER] > 0.5 > green.scores[Category.PROPAGANDA_POSTER]
