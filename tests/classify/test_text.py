"""Text screening: glorifying text in English, Russian and Ukrainian scores high, memorials and
news score low (sentences written for this test, none of them in the seed set), and the
lexicon's context rules hold."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import numpy as np
import pytest

from service.classify.encoder import sentence_case
from service.classify.lexicon import load_lexicon
from service.classify.probe_train import load_examples
from service.classify.registry import DEFAULT_POLICY_DIR, ClassifyConfig
from service.classify.text import TextClassifier, text_encoder
from service.errors import ConfigError, InputError
from service.policy.load import load_policies
from service.vocabulary import Category, SignalState

HIGH = 0.6
LOW = 0.3
# The lowest score at which the shipped policy sends a text to a person.
POLICY = load_policies(DEFAULT_POLICY_DIR).for_market("default")
REVIEW_AT = min(c.review_at for c in POLICY.categories.values())


@pytest.fixture(scope="module")
def text_classifier(tmp_path_factory: pytest.TempPathFactory) -> TextClassifier:
    root = tmp_path_factory.mktemp("models")
    return TextClassifier(config=ClassifyConfig(policy_dir=DEFAULT_POLICY_DIR, model_root=root))


GLORIFYING = [
    (
        "en",
        Category.WAR_GLORIFICATION,
        "Our unstoppable soldiers crush the enemy; this war is our glory, on to victory!",
    ),
    (
        "en",
        Category.COMBATANT_MARTYRDOM,
        "The fallen paratrooper walks up a staircase of light into heaven, angels saluting.",
    ),
    (
        "en",
        Category.DEHUMANISATION,
        "The enemy are filthy vermin, not people; exterminate every one of them.",
    ),
    ("ru", Category.WAR_GLORIFICATION, "ZА ПОБЕДУ! Наши парни лучшие, своих не бросаем!"),
    ("ru", Category.COMBATANT_MARTYRDOM, "Наш боец ушёл в небо, ангелы встретили героя."),
    ("ru", Category.DEHUMANISATION, "Укропы опять бегут, давить их всех."),
    ("uk", Category.COMBATANT_MARTYRDOM, "Наш воїн піднявся в небо, янголи зустріли героя."),
    ("uk", Category.DEHUMANISATION, "Рашисти знову лізуть, ця русня не люди."),
    ("uk", Category.EXTREMIST_SYMBOLS, "Намалюйте на стіні 1488 і sieg heil для нашого відео."),
    (  # a farewell video's prompt, as the studios are asked for them
        "ru",
        Category.COMBATANT_MARTYRDOM,
        "Оживи фото: он в форме, отдаёт честь, за спиной развевается флаг, потом поднимается по"
        " ступеням к небу. Подпись: «Герой СВО. Навсегда в строю».",
    ),
    (
        "uk",
        Category.COMBATANT_MARTYRDOM,
        "Анімація: мій брат у шоломі з автоматом іде крізь дим до світла, ангели зустрічають його."
        " Текст «Загинув за Україну — живий навіки».",
    ),
]

BENIGN = [
    ("en", "In memory of my grandfather: he loved his bees and his old radio. We miss him."),
    ("en", "The agency reported heavy fighting near the river; two bridges were damaged, officials said."),
    ("en", "Please make a gentle video of my late husband playing guitar for our daughter."),
    ("ru", "Светлая память нашей бабушке, она пекла лучшие пироги на свете."),
    ("ru", "По данным спасателей, после обстрела без света остались тысячи домов."),
    ("uk", "Вічна пам'ять нашому дідусеві, він любив риболовлю та онуків."),
    ("uk", "За даними місцевої влади, після удару пошкоджено школу, поранених немає."),
    # a family's own prompt for a memorial of a soldier, asking for no war in it
    ("ru", "Прошу не добавлять никаких флагов и лозунгов. Он не хотел воевать. Пусть просто обнимет детей."),
    ("uk", "Прошу не додавати жодних прапорів і гасел. Він не хотів воювати. Нехай просто обійме дітей."),
]


@pytest.mark.parametrize(("lang", "category", "text"), GLORIFYING)
def test_glorifying_text_scores_high(
    text_classifier: TextClassifier, lang: str, category: Category, text: str
) -> None:
    result = text_classifier.classify([text])[0]
    assert result.state is SignalState.OK
    assert result.scores[category] >= HIGH, (lang, dict(result.scores))


@pytest.mark.parametrize(("lang", "text"), BENIGN)
def test_memorial_and_news_text_scores_low(text_classifier: TextClassifier, lang: str, text: str) -> None:
    result = text_classifier.classify([text])[0]
    assert result.state is SignalState.OK
    assert max(result.scores.values()) < LOW, (lang, dict(result.scores))
    assert result.hits == ()


def test_a_greeting_of_both_sides_in_a_widows_post_decides_nothing(text_classifier: TextClassifier) -> None:
    text = "Сорок дней, как тебя нет, любимый. Дети спрашивают, когда папа вернётся. Героям слава."
    result = text_classifier.classify([text])[0]
    assert [h.term_id for h in result.hits] == ["both-slava-geroyam"]
    assert result.review is False
    assert max(result.scores.values()) < REVIEW_AT


def test_a_quoted_slogan_in_a_news_report_is_capped(text_classifier: TextClassifier) -> None:
    result = text_classifier.classify(["Журналисты сообщают, что на заборе написали «Zа победу»."])[0]
    assert "ru-za-pobedu" in [h.term_id for h in result.hits]
    assert result.review is False
    assert result.scores[Category.WAR_GLORIFICATION] < REVIEW_AT


def test_a_one_sided_slogan_asks_for_a_person(text_classifier: TextClassifier) -> None:
    result = text_classifier.classify(
        ["Вечная слава героям СВО! Они отдали жизнь за Родину, вступайте в ряды!"]
    )[0]
    assert result.review is True
    assert "ru-specoperaciya-glory" in [h.term_id for h in result.hits]


@pytest.mark.parametrize(
    "text",
    [
        "Мій син не піде в Юнармію. Діти мають гратися у футбол, а не вчитися стріляти.",
        "Our town council voted today on a plan to rename the street after the Yunarmiya youth "
        "movement; residents protested.",
    ],
)
def test_a_term_in_a_text_the_heads_find_ordinary_asks_for_nobody(
    text_classifier: TextClassifier, text: str
) -> None:
    # the lexicon alone would send these (no contrast cue of its own matches them) ...
    alone = load_lexicon(DEFAULT_POLICY_DIR / "lexicon").scan(text)
    assert any(hit.review for hit in alone.hits)
    # ... the heads read the whole text as ordinary: the term is reported, nobody is asked
    result = text_classifier.classify([text])[0]
    assert [h.term_id for h in result.hits] == [h.term_id for h in alone.hits]
    assert result.review is False
    assert max(result.scores.values()) < REVIEW_AT


def test_results_have_no_truth_value(text_classifier: TextClassifier) -> None:
    result = text_classifier.classify(["a quiet day"])[0]
    with pytest.raises(TypeError):
        bool(result)


def test_held_out_seed_lines_are_not_in_the_training_split() -> None:
    examples = load_examples(DEFAULT_POLICY_DIR / "classify" / "corpus")
    held = [e for e in examples if e.held_out]
    assert 0.1 < len(held) / len(examples) < 0.35
    assert {e.lang for e in examples} == {"en", "ru", "uk"}
    assert {e.slice for e in examples} >= {"private_memorial", "news", "history", "anti_war", "fiction"}


def test_missing_probe_file_is_unavailable_not_clean(tmp_path: Path) -> None:
    config = ClassifyConfig(
        policy_dir=DEFAULT_POLICY_DIR, model_root=tmp_path, text_probes=tmp_path / "none.json"
    )
    result = TextClassifier(config=config).classify(["ZА ПОБЕДУ"])[0]
    assert result.state is SignalState.UNAVAILABLE
    assert result.scores == {}
    assert "vigil classify train" in result.detail


def test_lexicon_refuses_duplicate_ids_and_unknown_categories(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(
        "terms:\n  - {id: x, category: war_glorification, lang: en, patterns: [a], weight: 0.5}\n"
        "  - {id: x, category: war_glorification, lang: en, patterns: [b], weight: 0.5}\n"
    )
    with pytest.raises(ConfigError, match=r"terms\[1\]\.id: duplicate"):
        load_lexicon(tmp_path)
    (tmp_path / "a.yaml").write_text(
        "terms:\n  - {id: x, category: heroism, lang: en, patterns: [a], weight: 0.5}\n"
    )
    with pytest.raises(ConfigError, match=r"terms\[0\]\.category: unknown category 'heroism'"):
        load_lexicon(tmp_path)


def test_bad_training_lines_are_reported_with_numbers(tmp_path: Path) -> None:
    data = tmp_path / "seed.jsonl"
    data.write_text('{"text": "ok", "labels": []}\nnot json\n{"text": "x", "labels": ["nope"]}\n')
    with pytest.raises(InputError, match=r"2 bad line\(s\): seed.jsonl line 2: .*; seed.jsonl line 3: "):
        load_examples(data)


def test_a_glorifying_passage_deep_in_a_long_script_is_found(text_classifier: TextClassifier) -> None:
    calm = "The family gathers in the kitchen, pours tea and talks about the garden and the weather. " * 20
    passage = "Then the narrator cries: our glorious army crushes the enemy, this holy war is our pride!"
    result = text_classifier.classify([calm + passage + " " + calm])[0]
    assert result.state is SignalState.OK
    assert result.scores[Category.WAR_GLORIFICATION] >= HIGH
    assert text_classifier.classify([calm])[0].scores[Category.WAR_GLORIFICATION] < LOW


def test_a_texts_scores_are_the_same_alone_and_among_others(text_classifier: TextClassifier) -> None:
    """A platform that checks a caption alone and a generation that screens it with its prompt and
    script get the same scores for it: what else is classified with a text changes nothing."""
    caption = "Grandad fell in '43, grandson in '24. Same road, same heaven, same eternal glory."
    alone = text_classifier.classify([caption])[0]
    beside = [
        "Вічна пам'ять нашому дідусеві, він любив риболовлю та онуків.",
        "ZА ПОБЕДУ! Наши парни лучшие, своих не бросаем! " * 3,
        "ok",
        caption.upper(),
        "The agency reported heavy fighting near the river; two bridges were damaged, officials said.",
    ]
    for n in range(len(beside) + 1):
        among = text_classifier.classify([*beside[:n], caption, *beside[n:]])[n]
        assert dict(among.scores) == pytest.approx(dict(alone.scores), abs=1e-6)
        assert among.review == alone.review


def test_a_text_in_capitals_is_read_in_sentence_case() -> None:
    assert sentence_case("ВЕЧНАЯ СЛАВА ГЕРОЯМ! ВСТУПАЙ В РЯДЫ") == "Вечная слава героям! Вступай в ряды"
    assert sentence_case("HEROES NEVER DIE.\nJOIN US… NOW") == "Heroes never die.\nJoin us… Now"
    # mixed case, a few capitals, short codes: as written
    for text in ("Our dad served in the ВДВ and came home", "Mum, I LOVE you so much", "СВО", "ZOV"):
        assert sentence_case(text) == text


SHOUTED = [
    ("en", "Dad, we miss you every day. Your garden still blooms.", False),
    ("en", "War is the only place a man feels alive. Sign up and join the brotherhood!", True),
    ("ru", "Вечная слава героям! Они отдали жизнь за родину, вступай в ряды!", True),
    ("ru", "Светлая память папе. Мы тебя любим и ждём дома каждый день.", False),
    ("uk", "Смерть на фронті — найкраща доля для справжнього чоловіка!", True),
    ("uk", "Ні війні! Поверніть наших татів додому живими.", False),
]


@pytest.mark.parametrize(("lang", "text", "flagged"), SHOUTED)
def test_capitals_change_nothing(
    text_classifier: TextClassifier, lang: str, text: str, flagged: bool
) -> None:
    """Posters, stickers and words read off a picture are often all capitals: the same words in
    capitals get the same scores and the same review flag as in sentence case."""
    quiet = text_classifier.classify([text])[0]
    shouted = text_classifier.classify([text.upper()])[0]
    assert dict(shouted.scores) == pytest.approx(dict(quiet.scores), abs=1e-6), lang
    assert shouted.review == quiet.review
    assert (max(shouted.scores.values()) >= REVIEW_AT or shouted.review) is flagged, dict(shouted.scores)


def _embed(tmp_path: Path, backend: Literal["torch", "onnx", "onnx-int8"], *, bf16: bool = False) -> Any:
    config = ClassifyConfig(
        policy_dir=DEFAULT_POLICY_DIR, model_root=tmp_path, text_backend=backend, cpu_bf16=bf16
    )
    texts = [GLORIFYING[0][2], BENIGN[0][1], "Наш боец ушёл в небо, ангелы встретили героя."]
    # enough texts for several batches, run side by side
    texts += [f"{text} ({n})" for n in range(6) for text in (GLORIFYING[1][2], BENIGN[1][1])]
    return text_encoder(config).embed(texts)


def test_every_backend_embeds_alike(tmp_path: Path) -> None:
    """ONNX fp32 and bfloat16 agree with PyTorch fp32; int8 weights move the embeddings a little
    (which is why probes are trained for int8 or fp32, not both)."""
    reference = _embed(tmp_path, "torch")
    assert np.min(np.sum(reference * _embed(tmp_path, "onnx"), axis=1)) > 0.9999
    assert np.min(np.sum(reference * _embed(tmp_path, "torch", bf16=True), axis=1)) > 0.999
    assert np.min(np.sum(reference * _embed(tmp_path, "onnx-int8"), axis=1)) > 0.98


def test_probes_trained_for_int8_refuse_the_fp32_encoder(tmp_path: Path) -> None:
    fp32 = TextClassifier(
        config=ClassifyConfig(policy_dir=DEFAULT_POLICY_DIR, model_root=tmp_path, text_backend="onnx")
    )
    result = fp32.classify(["ZА ПОБЕДУ"])[0]
    assert result.state is SignalState.UNAVAILABLE  # never scored by heads made for other embeddings
    assert "multilingual-e5-small+mid-last+sentence-case+int8" in result.detail
    assert "vigil classify train" in result.detail
