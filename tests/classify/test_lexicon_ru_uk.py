"""The shipped lexicon on Russian and Ukrainian text (and some English): one-side endorsement
raises a score to review level and asks for a person, never a block; lone letters, homonyms and
political labels stay silent; both-sides greetings and contrast cues (memorial, news, history,
anti-war, games) cap a hit and ask for nobody: they never decide alone. Lexicon only: no text
encoder is loaded here.

Sentences are written for this test (none come from the training corpora)."""

from __future__ import annotations

from functools import cache

import pytest
import yaml

from service.classify.lexicon import Lexicon, LexiconResult, load_lexicon, normalise
from service.classify.registry import DEFAULT_POLICY_DIR
from service.vocabulary import Category

LEXICON_DIR = DEFAULT_POLICY_DIR / "lexicon"


@cache
def lexicon() -> Lexicon:
    return load_lexicon(LEXICON_DIR)


def scan(text: str) -> LexiconResult:
    return lexicon().scan(text)


def hits(text: str) -> dict[str, bool]:
    """term id -> review flag"""
    return {h.term_id: h.review for h in scan(text).hits}


def weight(term_id: str) -> float:
    return next(t.weight for t in lexicon().terms if t.id == term_id)


def category(term_id: str) -> Category:
    return next(t.category for t in lexicon().terms if t.id == term_id)


# One side's endorsement: the term hits, asks for a person, and raises its category to the
# term's weight (review band, below any block threshold).
ENDORSEMENT = [
    # СВО named with endorsement
    ("Слава героям СВО! Наши парни лучшие.", "ru-specoperaciya-glory"),
    ("Вечная слава героям СВО!", "ru-specoperaciya-glory"),
    ("Герои СВО — гордость страны, молюсь за каждого.", "ru-specoperaciya-glory"),
    ("Я за СВО, и весь наш двор тоже.", "ru-specoperaciya-glory"),
    ("Поддерживаем СВО полностью, до конца!", "ru-specoperaciya-glory"),
    ("СВО — дело чести каждого мужчины!", "ru-specoperaciya-glory"),
    ("slava geroyam SVO, bratya", "ru-specoperaciya-glory"),
    # Z/V as endorsement
    ("Zа наших! Своих не бросаем!", "ru-za-nashikh"),
    ("ZА ПОБЕДУ! Наши парни лучшие.", "ru-za-pobedu"),
    ("Za pobedu i za Rossiyu", "ru-za-pobedu"),
    ("za nashih, bratya, do kontsa", "ru-za-nashikh"),
    ("#ZаНаших #ZаПобеду", "ru-za-nashikh"),
    ("#ZаНаших", "any-z-marking"),
    ("ZaVтра будет наша победа", "any-z-marking"),
    ("Vперёд, братья, только Vперёд!", "any-z-marking"),
    ("СVОих не бросаем", "any-z-marking"),
    ("Наклейка на заднее стекло: Z 🇷🇺", "any-z-marking"),
    ("Z! Наши пацаны лучшие", "any-z-marking"),
    ("Слава Z! Поддерживаю V!", "any-z-marking"),
    ("Я за Z и точка.", "any-z-marking"),
    ("Z — это мы!", "any-z-marking"),
    ("ZOV 🧡🖤 до полной победы", "any-z-marking"),
    ("🆉 на аву всем в чате", "any-z-marking"),
    # war cries
    ("Своих не бросаем! Россия своих не бросает.", "ru-svoikh-ne-brosaem"),
    ("1941-1945 можем повторить", "ru-mozhem-povtorit"),
    ("Можем повторить! Деды воевали — и мы повторим.", "ru-war-cry"),
    ("Вперёд на Киев!", "ru-war-cry"),
    ("На Берлин!", "ru-war-cry"),
    ("Колонна с надписью «На Киев» на каждой машине.", "ru-war-cry"),
    ("За наших пацанов!", "ru-za-nashikh-cry"),
    ("Гойда, братья!", "ru-goyda"),
    # dehumanisation, both directions
    ("Хохлы опять бегут.", "ru-dehuman-ukr"),
    ("Укропы опять бегут, давить их всех.", "ru-dehuman-ukr"),
    ("Укры — это диагноз.", "ru-dehuman-ukr"),
    ("Бандерлоги снова воют.", "ru-dehuman-ukr"),
    ("Русня знову лізе на наші поля.", "uk-dehuman-rus"),
    ("Свинособаки знову обстріляли місто.", "uk-dehuman-rus"),
    ("Кацапи знову прийшли грабувати.", "uk-dehuman-rus"),
    ("Москалі як таргани — скільки не трави, лізуть.", "uk-dehuman-rus"),
    ("Орки — не люди, це м’ясо.", "uk-dehuman-rus"),
    ("Орків треба знищувати, всіх до одного.", "uk-dehuman-rus"),
    ("Смерть оркам!", "uk-dehuman-rus"),
    ("Рашисти — не люди.", "any-not-human"),
    ("Укронацисты — животные.", "any-not-human"),
    ("Вони не люди, брате, запам'ятай.", "any-not-human"),
    ("Хороший русский — мёртвый русский.", "any-good-dead"),
    ("Хороший украинец — мертвый украинец.", "any-good-dead"),
    ("Хохол добрий — хохол мертвий.", "any-good-dead"),
    ("Это недочеловеки, а не соседи.", "any-subhuman"),
    ("Ці недолюдки знову стріляли по школі.", "any-subhuman"),
    # extremist slogans, codes and unit cults
    ("Слава нації! Смерть ворогам!", "uk-slava-natsii"),
    ("Слава нации! Смерть врагам!", "ru-slava-natsii"),
    ("Намалюй 1488 на стіні гаража.", "any-nazi-codes"),
    ("Зиг хайль, братья!", "any-nazi-codes"),
    ("Всім взводом зіганули на фоні прапора.", "any-nazi-codes"),
    ("ДШРГ «Русич» — в строю.", "ru-rusich-cult"),
    ("Кровь, честь, родина, отвага!", "ru-wagner-cult"),
    ("КРОВЬ. ЧЕСТЬ. РОДИНА. ОТВАГА.", "ru-wagner-cult"),
    ("Вагнер назавжди. Кров. Честь. Батьківщина. Відвага.", "ru-wagner-cult"),
    ("Шеврон: тотенкопф и руны СС, для заказа.", "any-white-power"),
    ("Слава білій нації!", "any-white-power"),
    ("14 слов знаешь? То-то же.", "any-white-power"),
    # recruitment and contract wording, RU and UK
    ("Подпиши контракт с Минобороны — единовременная выплата 400 000 рублей!", "ru-recruit-poster"),
    ("Контракт с Минобороны: зарплата от 210 тысяч.", "ru-recruit-wording"),
    ("Пункт отбора на военную службу по контракту работает без выходных.", "ru-recruit-poster"),
    ("Служба по контракту — твой выбор!", "ru-recruit-poster"),
    ("Вступайте в ряды Вооружённых сил!", "ru-recruit-poster"),
    ("Единовременная выплата при заключении контракта — 2 млн.", "ru-recruit-wording"),
    ("Служба по контракту: выплаты, льготы, уважение.", "ru-recruit-wording"),
    ("Вступай до лав ЗСУ!", "uk-recruit-poster"),
    ("Штурмові бригади набирають добровольців.", "uk-recruit-poster"),
    ("Контракт 18-24: мільйон гривень і рік служби.", "uk-recruit-poster"),
    ("Долучайся до війська — разом переможемо.", "uk-recruit-poster"),
    ("Служба за контрактом, одноразова виплата після підписання контракту.", "uk-recruit-wording"),
    ("Не чекай повістки — обери свою бригаду.", "uk-recruit-poster"),
    ("ВСЕ НА ФРОНТ! Отечество в опасности!", "ru-recruit-poster"),
    # militarised minors
    ("Юнармия провела парад, дети в форме с автоматами.", "ru-yunarmiya"),
    ("Юнармейцы приняли присягу на плацу.", "ru-yunarmiya"),
    ("У ліцеї посвята в юнармійці, діти склали присягу.", "uk-yunarmiya"),
    ("Первоклассники в камуфляже с автоматами стоят строем.", "ru-children-arms"),
    ("Малеча в касках з автоматами марширує сценою.", "uk-children-arms"),
    ("Провели в садике «Зарницу для малышей»: ползали и бросали «гранаты».", "any-youth-war-games"),
    # martyrdom framing
    ("Наш боец ушёл в небо, ангелы встретили героя.", "ru-martyr-heaven"),
    ("Наш воїн піднявся в небо, янголи зустріли героя.", "uk-martyr-heaven"),
]


@pytest.mark.parametrize(("text", "term_id"), ENDORSEMENT)
def test_one_side_endorsement_raises_to_review_level(text: str, term_id: str) -> None:
    found = hits(text)
    assert term_id in found, (text, found)
    assert found[term_id] is True, "one side's endorsement asks for a person"
    w = weight(term_id)
    assert 0.5 <= w <= 0.9
    assert scan(text).boosts[category(term_id)] >= w


# Spellings: ё/е, і/и, the three apostrophes, Latin look-alikes, full-width and bold letters,
# Latin transliteration.
SPELLINGS = [
    ("Слaва героям СВО!", "ru-specoperaciya-glory"),  # Latin a
    ("CЛABA ГEPOЯM CBO", "ru-specoperaciya-glory"),  # Latin C A B E P O M
    ("XOXЛЫ опять лезут", "ru-dehuman-ukr"),  # Latin X O
    ("УKPOПЫ", "ru-dehuman-ukr"),
    ("PУCHЯ", "uk-dehuman-rus"),
    ("ZA ПОБЕДУ", "ru-za-pobedu"),  # all-Latin ZA
    ("ZA HAШИХ", "ru-za-nashikh"),
    ("Ｚа наших!", "ru-za-nashikh"),  # full-width Z
    ("𝐙а победу!", "ru-za-pobedu"),  # mathematical bold Z
    ("Вперед на Киев!", "ru-war-cry"),  # е for ё
    ("Хороший русский — мертвый русский", "any-good-dead"),
    ("Слава нацiї! Смерть ворогам!", "uk-slava-natsii"),  # Latin i
    ("Вічна пам'ять героям", "both-vechnaya-pamyat-geroyam"),
    ("Вічна пам’ять героям", "both-vechnaya-pamyat-geroyam"),
    ("Вічна памʼять героям", "both-vechnaya-pamyat-geroyam"),
    ("Героï не вмирають", "both-geroi-ne-umirayut"),  # Latin ï
    ("ГEPOИ HE УMИPAЮT", "both-geroi-ne-umirayut"),
    ("Гeроям слaва", "both-slava-geroyam"),
    ("heroiam slava", "both-slava-geroyam"),
    ("svoih ne brosaem", "ru-svoikh-ne-brosaem"),
    ("Khokhly again", "ru-dehuman-ukr"),
    ("RUSNYA", "uk-dehuman-rus"),
]


@pytest.mark.parametrize(("text", "term_id"), SPELLINGS)
def test_common_spellings_and_transliterations_hit(text: str, term_id: str) -> None:
    assert term_id in hits(text), (text, hits(text))


# Hard negatives: lone letters, homonyms, surnames, sport, travel, pensions, dissent, national
# salutes, political labels in news, games. Nothing may hit.
HARD_NEGATIVES = [
    # a lone Z or V in ordinary text
    "Поколение Z не помнит мир без интернета.",
    "Мы — поколение Z, и нам это нравится!",
    "Мама вздыхает: «Поколение Z такое»",
    "Отложите точку по оси Z и постройте проекцию.",
    "Z-тест показал значимое различие, p < 0.05.",
    "We ran a Z-test on the two samples.",
    "Take vitamin V with food, twice a day.",
    "Витамин V? Такого не существует, есть витамин D.",
    "Gen Z loves short videos!",
    "Почему на технике рисуют буквы Z и V? Объясняем.",
    # homonyms and surnames
    "Добавьте укроп и петрушку, посолите по вкусу.",
    "Пучок укропа, два огурца, сметана.",
    "Рецепт: добавить укропчику и зелёного лука.",
    "Хохлома — народный промысел, роспись по дереву.",
    "У хохлатой синицы на голове заметный хохол.",
    "Андрей Хохлов забил победный гол.",
    "Геннадий Москаль дал интервью.",
    "Он нелюдимый, живёт один в лесу.",
    "Нелюдное место у реки, тишина.",
    "Ув'язнені утримувались у нелюдських умовах.",
    "В 1488 году Бартоломеу Диаш обогнул мыс Доброй Надежды.",
    "Купил чёрные солнцезащитные очки.",
    "Порошок для белых тканей, 3 кг.",
    "У представителей белой расы риск меланомы выше.",
    "Перескажи эту новость в 14 словах.",
    "Summarise this in 14 words.",
    "В этом зигзаге есть своя логика.",
    "Наш магазин «Русич» открыт с 9 до 21.",
    "Во время похода мы прятались в укрытии, звери были рядом.",
    "Русские животные: медведь, волк, лиса.",
    "Это не люди, а роботы-пылесосы, не бойся.",
    # travel, sport, science, pensions, volunteering, job ads
    "Купил билеты на Киев! Едем в субботу.",
    "Рейс на Берлин задерживается на два часа.",
    "Болеем за наших! Сборная, вперёд!",
    "Мы можем повторить эксперимент завтра.",
    "Единовременная выплата пенсионерам составит 10 тысяч рублей.",
    "Вступай в ряды доноров крови!",
    "Бригада отделочников ищет работу, недорого.",
    "Пункт відбору проб води працює з 8:00.",
    "Гостиница «Зарница» у моря, номера от 3000 рублей.",
    "Мужики все на фронт ушли, в деревне пусто.",
    "Мы своих не кидаємо, — каже волонтерка про евакуацію поранених.",
    # dissent and plain patriotism
    "Я не поддерживаю СВО и никогда не поддерживал.",
    "Спасибо деду за Победу! С Днём Победы, дорогие ветераны.",
    "Слава Україні! Дякую всім, хто донатить на ЗСУ.",
    # political labels and bare mentions of the СВО in news
    "Рашисти вдарили по Харкову вночі.",
    "Укронацисты обстреляли окраину Донецка, пишет губернатор.",
    "Участник СВО получил квартиру в новом доме.",
    "В зоне СВО продолжаются бои.",
    # fiction and games
    "Орки в этой игре сильнее людей, а гномы лучше всех куют.",
    "Orcs in this game hit harder than humans.",
]


@pytest.mark.parametrize("text", HARD_NEGATIVES)
def test_hard_negatives_do_not_hit(text: str) -> None:
    result = scan(text)
    assert result.hits == (), (text, [h.term_id for h in result.hits])
    assert result.boosts == {}


# Both sides' greetings and memorial formulas: they hit, ask for nobody, and never raise a score
# above both_sides_cap.
BOTH_SIDES = [
    ("Слава Україні! Героям слава!", "both-slava-geroyam"),
    ("Героям слава!", "both-slava-geroyam"),
    ("Вечная слава героям!", "both-slava-geroyam"),
    ("Вічна слава героям.", "both-slava-geroyam"),
    ("Slava Ukraini! Heroiam slava!", "both-slava-geroyam"),
    ("Герои не умирают.", "both-geroi-ne-umirayut"),
    ("Герої не вмирають!", "both-geroi-ne-umirayut"),
    ("Вечная память героям.", "both-vechnaya-pamyat-geroyam"),
    ("Победа будет за нами!", "both-pobeda-za-nami"),
    ("Перемога буде за нами!", "both-pobeda-za-nami"),
]


@pytest.mark.parametrize(("text", "term_id"), BOTH_SIDES)
def test_both_sides_slogans_never_decide_alone(text: str, term_id: str) -> None:
    result = scan(text)
    assert hits(text) == {term_id: False}
    assert max(result.boosts.values()) <= lexicon().both_sides_cap


def test_heroyam_slava_hits_only_the_both_sides_term() -> None:
    """The CLI contract: "Героям слава!" hits one term, the both-sides one."""
    assert list(hits("Героям слава!")) == ["both-slava-geroyam"]


# Contrast cues: memorial, news, history, anti-war and game wording cap every hit in the text.
IN_CONTEXT = [
    ("Мой муж погиб под Бахмутом. Похоронили без тела. Героям слава.", "both-slava-geroyam"),
    ("Сьогодні 40 днів, як тебе немає. Поховали без тіла. Героям слава.", "both-slava-geroyam"),
    ("Царство небесное, сынок. Герои не умирают.", "both-geroi-ne-umirayut"),
    ("Вечная слава героям, павшим за Родину. Помним, скорбим.", "both-slava-geroyam"),
    ("Вечная слава героям СВО. Помним, скорбим.", "ru-specoperaciya-glory"),
    ("Журналисты сообщают, что на заборе написали «Zа победу».", "ru-za-pobedu"),
    ("По данным ТАСС, герои СВО получат новые награды.", "ru-specoperaciya-glory"),
    ("Повідомляють, що в Мелітополі відкрили пункт відбору.", "uk-recruit-wording"),
    ("Экскурсовод: плакат «Родина-мать зовёт!» создан в 1941 году.", "ru-recruit-poster"),
    ("Суд заочно засудив колаборанта, який вербував дітей до «Юнармії».", "uk-yunarmiya"),
    ("Нет войне! «Zа наших» пишут те, кто сам не пойдёт.", "ru-za-nashikh"),
    ("Ні війні. Скільки ще «Слава нації» треба прокричати?", "uk-slava-natsii"),
    ("Рецензия: в игре орков нужно убивать огнём, иначе они регенерируют.", "uk-dehuman-rus"),
]


@pytest.mark.parametrize(("text", "term_id"), IN_CONTEXT)
def test_a_contrast_cue_caps_every_hit_and_asks_for_nobody(text: str, term_id: str) -> None:
    result = scan(text)
    found = hits(text)
    assert term_id in found, (text, found)
    assert not any(found.values()), found
    assert max(result.boosts.values()) <= lexicon().context_cap


def test_a_widows_post_with_heroyam_slava_stays_below_review_band() -> None:
    text = (
        "Полгода, как тебя нет, мой родной. Похоронили без тела, только китель и письмо дочки. "
        "Все пишут «Героям слава», а я просто хочу услышать, как ты ворчишь про борщ."
    )
    result = scan(text)
    assert hits(text) == {"both-slava-geroyam": False}
    assert result.boosts[Category.WAR_GLORIFICATION] <= lexicon().context_cap < 0.5


def test_a_news_line_mentioning_the_svo_does_not_hit() -> None:
    text = (
        "Как сообщает ТАСС, участники СВО из региона получат единовременную выплату на ремонт "
        "жилья; в зоне СВО за сутки отражено пять атак."
    )
    assert scan(text).hits == ()


def test_a_game_review_does_not_hit() -> None:
    text = (
        "Обзор игры: орки штурмуют крепость волнами, у каждого персонажа своя ветка навыков, "
        "а финальный босс — настоящий зверь. Геймплей бодрый, сюжет слабый. 7 из 10."
    )
    assert scan(text).hits == ()


def test_the_same_slogan_endorsed_and_remembered() -> None:
    endorsed = scan("Вечная слава героям СВО! Zа наших!")
    remembered = scan("Вечная слава героям СВО. Помним, скорбим, 40 дней.")
    assert endorsed.boosts[Category.WAR_GLORIFICATION] >= 0.85
    assert remembered.boosts[Category.WAR_GLORIFICATION] <= lexicon().context_cap


def test_slurs_weigh_the_same_in_both_directions() -> None:
    assert weight("ru-dehuman-ukr") == weight("uk-dehuman-rus")
    assert category("ru-dehuman-ukr") is category("uk-dehuman-rus") is Category.DEHUMANISATION


def test_no_term_blocks_alone() -> None:
    """Every weight stays below its category's block_at in the default policy, and below 1."""
    doc = yaml.safe_load((DEFAULT_POLICY_DIR / "default.yaml").read_text(encoding="utf-8"))
    block_at = {
        Category(name): spec.get("block_at")
        for name, spec in doc["categories"].items()
        if name in {c.value for c in Category}
    }
    for term in lexicon().terms:
        assert term.weight < 1.0, term.id
        limit = block_at.get(term.category)
        if limit is not None:
            assert term.weight < float(limit), (term.id, term.weight, limit)
    assert lexicon().both_sides_cap <= 0.5
    assert lexicon().context_cap <= lexicon().both_sides_cap


def _top_level_alternation(pattern: str) -> bool:
    depth, in_class, escaped = 0, False, False
    for ch in pattern:
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif in_class:
            in_class = ch != "]"
        elif ch == "[":
            in_class = True
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "|" and depth == 0:
            return True
    return False


def _shipped_patterns() -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for path in sorted(LEXICON_DIR.glob("*.yaml")):
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for lang, words in (doc.get("contrast_cues") or {}).items():
            out += [(f"{path.name}: contrast_cues.{lang}", str(w)) for w in words]
        for term in doc.get("terms") or []:
            out += [(f"{path.name}: {term['id']}", str(p)) for p in term["patterns"]]
    return out


def test_patterns_are_written_already_normalised_and_whole_word_safe() -> None:
    """The loader casefolds each pattern (\\W would become \\w) and wraps it in word guards
    (a top-level "|" would leave the inner alternatives unguarded)."""
    problems = [
        (where, p) for where, p in _shipped_patterns() if normalise(p) != p or _top_level_alternation(p)
    ]
    assert problems == []


def test_russian_and_ukrainian_are_covered_in_every_category() -> None:
    langs: dict[Category, set[str]] = {}
    for term in lexicon().terms:
        langs.setdefault(term.category, set()).add(term.lang)
    for cat in Category:
        covered = langs.get(cat, set())
        assert covered & {"ru", "any"}, cat
        assert covered & {"uk", "any"}, cat


def test_a_slogan_quoted_in_commentary_is_cited_not_said() -> None:
    text = "«Zа наших» пишут люди, которые ни дня не были на фронте и своих детей туда не отпустят."
    result = scan(text)
    assert hits(text) == {"ru-za-nashikh": False, "any-z-marking": False}
    assert max(result.boosts.values()) <= lexicon().context_cap
    english = "'Za pobedu' stickers are peeling off the cars in our town. Three funerals on my street."
    assert hits(english) == {"ru-za-pobedu": False}


def test_a_poster_that_is_only_the_quoted_slogan_still_asks_for_a_person() -> None:
    assert hits("«Zа наших!»") == {"ru-za-nashikh": True, "any-z-marking": True}
    # said outside the quotes as well: the quote does not excuse the rest
    assert hits("Zа наших! Пусть пишут «хватит», а мы своих не бросаем до конца")["ru-za-nashikh"] is True


def test_the_one_pass_search_finds_a_term_exactly_where_each_pattern_would() -> None:
    """A text is searched for every term at once before term by term: over the corpus, as written
    and in capitals, it finds something exactly where one of the patterns matches (the term with a
    back-reference, «хороший москаль — мёртвый москаль», included)."""
    from service.classify.probe_train import load_examples

    texts = [e.content for e in load_examples(DEFAULT_POLICY_DIR / "classify" / "corpus")][::7]
    texts += [t.upper() for t in texts] + [
        "Хороший москаль — мёртвый москаль",
        "хороший москаль мёртвый кацап",
    ]
    lex = lexicon()
    patterns = [p for term in lex.terms for p in term.patterns]
    assert lex.any_term.alone, "the back-referencing pattern is searched on its own"
    found = 0
    for text in texts:
        norm = normalise(text)
        each = any(p.search(norm) for p in patterns)
        assert lex.any_term.search(norm) is each, text
        assert lex.any_cue.search(norm) is any(c.search(norm) for c in lex.contrast_cues), text
        found += each
    assert 0 < found < len(texts)
    assert "any-good-dead" in hits("Хороший москаль — мёртвый москаль")
