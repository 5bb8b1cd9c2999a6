"""Text inside images: a slogan painted on a poster reaches the text classifier (Tesseract,
installed by .ci/run); without an engine the signal is not_configured."""

from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from service.classify.classifiers import Classifiers
from service.classify.glyphs import looks_like_z
from service.classify.lexicon import load_lexicon
from service.classify.linecut import line_crop, outlined
from service.classify.ocr import TesseractOcr, harmonise_script, mixed_script, tidy_letters
from service.classify.registry import DEFAULT_POLICY_DIR, ClassifyConfig
from service.classify.textfind import TextBox, find_text, grey_array
from service.vocabulary import Category, SignalState

FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")
PLAIN = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")


def poster(text: str) -> Image.Image:
    image = Image.new("RGB", (900, 200), "white")
    ImageDraw.Draw(image).text((30, 60), text, fill="black", font=ImageFont.truetype(str(FONT), 64))
    return image


@pytest.mark.tool("tesseract", "dejavu")
def test_a_slogan_on_a_poster_is_read_and_scored(tmp_path: Path) -> None:
    classifiers = Classifiers.from_config(ClassifyConfig(policy_dir=DEFAULT_POLICY_DIR, model_root=tmp_path))
    read = classifiers.ocr.read(poster("HEROES NEVER DIE"))
    assert read.state is SignalState.OK
    assert "HEROES NEVER DIE" in read.text
    result = classifiers.classify_image_text(poster("HEROES NEVER DIE"))
    assert result.state is SignalState.OK
    assert [h.term_id for h in result.hits] == ["both-geroi-ne-umirayut"]
    assert result.review is False  # a phrase of both sides never decides alone
    # ... but it is seen: the category is raised at least to the lexicon's cap for such phrases
    # (the lower one where the heads read the rest as ordinary)
    lexicon = load_lexicon(DEFAULT_POLICY_DIR / "lexicon")
    assert result.scores[Category.COMBATANT_MARTYRDOM] >= min(lexicon.both_sides_cap, lexicon.context_cap)


def test_without_an_engine_ocr_is_not_configured(tmp_path: Path) -> None:
    classifiers = Classifiers.from_config(ClassifyConfig(policy_dir=DEFAULT_POLICY_DIR, model_root=tmp_path))
    classifiers.ocr = TesseractOcr(binary=None)
    result = classifiers.classify_image_text(poster("anything"))
    assert result.state is SignalState.NOT_CONFIGURED
    assert classifiers.signals()["ocr"][0] is SignalState.NOT_CONFIGURED


@pytest.mark.parametrize(
    ("read", "tidied"),
    [
        # letters of other Cyrillic alphabets lose their marks; joining punctuation becomes a space
        ("КОЖНА ВФРОЖА:МӦГИЛА::НАША МЕДАЛЬ", "КОЖНА ВФРОЖА МОГИЛА НАША МЕДАЛЬ"),
        ("с,автоматом на 23 февраля будӯщий", "с автоматом на 23 февраля будущий"),
        # the three alphabets' own marked letters, apostrophes, times and ordinary commas stay
        ("їжак, йод, ёлка, Ґанок, п'ять, don't, 10:30", "їжак, йод, ёлка, Ґанок, п'ять, don't, 10:30"),
    ],
)
def test_read_lines_are_tidied_into_the_three_alphabets(read: str, tidied: str) -> None:
    assert tidy_letters(read) == tidied


@pytest.mark.parametrize(
    ("read", "harmonised"),
    [
        # Cyrillic look-alikes inside English words, as the reader returns them
        ("Tried to hide іп the treeline", "Tried to hide in the treeline"),
        ("Duck ѕеаѕоп'ѕ over so now I hunt", "Duck season's over so now I hunt"),
        ("the гаts will be тоwed down", "the rats will be mowed down"),
        # Latin look-alikes inside Russian and Ukrainian words
        ("Вечная слава героям CBO", "Вечная слава героям СВО"),
        ("Сгенерируй mem: разбомблённая многоэтажка", "Сгенерируй мем: разбомблённая многоэтажка"),
        # Z and V have no look-alike; a word with letters of its own script stays as written
        ("ZА НАШИХ, ЗА ПОБЕДУ", "ZА НАШИХ, ЗА ПОБЕДУ"),
        ("ZOB ПРЕДКІВ. ЙДЕМО ДО КІНЦЯ", "ZОВ ПРЕДКІВ. ЙДЕМО ДО КІНЦЯ"),
        ("ZOBEMO СВОЇХ! ПУНКТ ВІДБОРУ", "ZОВЕМО СВОЇХ! ПУНКТ ВІДБОРУ"),
        ("They chanted Слава Україні at the funeral", "They chanted Слава Україні at the funeral"),
        ("Зустріч випускників 2024 · Kyiv", "Зустріч випускників 2024 · Kyiv"),
    ],
)
def test_look_alike_letters_are_put_back_in_the_lines_script(read: str, harmonised: str) -> None:
    assert harmonise_script(read) == harmonised


@pytest.mark.parametrize(
    ("read", "cyrillic"),
    [
        ("Stop calling our soldiers angels апа cyborgs, every опе of уои", False),  # read again in English
        ("Наклеил ZOV", True),  # read again in Cyrillic; the surer reading is kept
        ("ZA НАШИХ, ЗА ПОБЕДУ, ЗА ДОНБАСС", None),  # two Latin letters in a Cyrillic line: left as read
        ("HEROES NEVER DIE", None),
    ],
)
def test_a_line_read_in_both_scripts_is_read_again_in_its_own(read: str, cyrillic: bool | None) -> None:
    assert mixed_script(read) is cyrillic


def _on_photo(name: str, size: tuple[int, int] | None = (1200, 800)) -> Image.Image:
    import skimage.data

    photo = Image.fromarray(getattr(skimage.data, name)()).convert("RGB")
    return photo if size is None else photo.resize(size)


@pytest.mark.tool("tesseract", "tesseract-cyrillic", "dejavu")
@pytest.mark.parametrize(
    ("style", "words"),
    [
        ("lower_third", "Вічна слава героям, що віддали життя"),
        ("burned_in", "Слава героям СВО!"),
        ("poster", "HEROES NEVER DIE. JOIN THE RANKS"),
    ],
)
def test_words_printed_on_a_photograph_are_read(style: str, words: str) -> None:
    """The line finder picks out the words wherever they are printed; Ukrainian letters (і, ї, є)
    and Russian ones are read in one pass, whichever the script."""
    image = _on_photo("coffee")
    draw = ImageDraw.Draw(image)
    font = ImageFont.truetype(str(FONT), 44)
    if style == "lower_third":
        draw.rectangle((0, 660, 1200, 740), fill=(15, 15, 20))
        draw.text((40, 675), words, font=font, fill="white")
    elif style == "burned_in":
        draw.text((180, 690), words, font=font, fill="white", stroke_width=2, stroke_fill="black")
    else:
        draw.rectangle((100, 80, 1100, 200), fill=(235, 225, 200))
        draw.text((130, 110), words, font=font, fill=(150, 10, 10))
    read = TesseractOcr.find().read(image)
    assert read.state is SignalState.OK
    # Every word comes back (a speck of the photograph between two words may come with them).
    assert [w for w in words.lower().split() if w not in read.text.lower()] == []
    [line] = read.lines
    assert line.box[1] < (700 if style != "poster" else 150) < line.box[1] + line.box[3]  # where it was


@pytest.mark.tool("tesseract", "tesseract-cyrillic", "dejavu")
@pytest.mark.parametrize(
    ("angle", "words"),
    [
        (-9.0, "Вічна слава героям, що віддали життя"),
        (4.0, "Вечная слава героям СВО, вступайте в ряды"),
        (7.0, "Heroes never die, join the ranks today"),
    ],
)
def test_a_poster_photographed_askew_is_read_level(angle: float, words: str) -> None:
    """A poster or placard is seldom photographed square: its lines run at a slant. Before they
    were found by their slant and cut out level, such a line came back as a few stray words or
    nothing."""
    image = _on_photo("coffee")
    font = ImageFont.truetype(str(FONT), 40)
    panel = Image.new("RGBA", (round(font.getlength(words)) + 50, 100), (235, 225, 200, 255))
    ImageDraw.Draw(panel).text((25, 28), words, font=font, fill=(20, 20, 20))
    panel = panel.rotate(angle, Image.Resampling.BICUBIC, expand=True)  # counter-clockwise
    image.paste(panel, (100, 250), panel)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=85)
    read = TesseractOcr.find().read(Image.open(buffer).convert("RGB"))
    assert read.state is SignalState.OK
    assert [w for w in words.lower().split() if w not in read.text.lower()] == [], read.text
    [line] = read.lines
    x, y, w, h = line.box  # the line's upright box on the picture, around the turned panel's middle
    assert x < 100 + panel.width / 2 < x + w
    assert y < 250 + panel.height / 2 < y + h
    [found] = find_text(image)  # cut out level: turned back by the slant it was printed at
    assert found.angle == pytest.approx(-angle, abs=1.0)


@pytest.mark.tool("tesseract")
@pytest.mark.parametrize("name", ["astronaut", "coffee", "chelsea", "rocket", "grass", "gravel"])
def test_a_photograph_without_words_reads_nothing(name: str) -> None:
    read = TesseractOcr.find().read(_on_photo(name))
    assert read.state is SignalState.OK
    assert read.text == ""


@pytest.mark.tool("tesseract", "tesseract-cyrillic", "dejavu")
def test_small_print_is_read_from_the_full_size_picture_when_lines_are_found() -> None:
    """A large JPEG is decoded at a quarter of its size for hashing; its lines are found there and
    read from the full-size picture (at a quarter size, 34 px print is 8 px: often misread)."""
    words = "Вечная слава героям СВО, вступайте в ряды добровольцев"
    full = _on_photo("coffee").resize((2400, 1600))
    draw = ImageDraw.Draw(full)
    draw.rectangle((80, 1300, 2320, 1400), fill=(235, 225, 200))
    draw.text((110, 1325), words, font=ImageFont.truetype(str(FONT), 34), fill=(20, 20, 20))
    small = full.reduce(4)
    asked = []

    def sharper() -> Image.Image:
        asked.append(1)
        return full

    ocr = TesseractOcr.find()
    read = ocr.read(small, sharper)
    assert asked == [1]
    assert [w for w in words.lower().split() if w not in read.text.lower()] == []
    [line] = read.lines
    assert line.box[1] < 1350 < line.box[1] + line.box[3]  # in the full-size picture's pixels

    asked.clear()
    assert ocr.read(_on_photo("astronaut").reduce(2), sharper).text == ""
    assert asked == []  # no lines found: no full-size decode


@pytest.mark.tool("tesseract", "dejavu")
def test_a_subtitle_over_bright_grass_is_read_as_outlined_letters(monkeypatch: pytest.MonkeyPatch) -> None:
    """Yellow letters in a black rim over sunlit grass: one grey threshold keeps blades of grass
    with the letters and the line reads as noise; read again as outlined letters, it comes back."""
    photo = np.asarray(_on_photo("grass")).astype(np.float32)
    image = Image.fromarray((90 + 0.7 * photo).clip(0, 255).astype(np.uint8))
    words = "Kids at our school built a sandbag trench"
    ImageDraw.Draw(image).text(
        (120, 680),
        words,
        font=ImageFont.truetype(str(PLAIN), 40),
        fill=(255, 255, 120),
        stroke_width=2,
        stroke_fill="black",
    )
    ocr = TesseractOcr.find()
    read = ocr.read(image)
    assert len(set(words.lower().split()) - set(read.text.lower().split())) <= 1, read.text  # "oullt"
    monkeypatch.setattr("service.classify.ocr.REREAD_BELOW", 0)  # the single reading alone
    alone = ocr.read(image)
    assert len(set(words.lower().split()) - set(alone.text.lower().split())) >= 4, alone.text


CAPTION = "Спокійно їду в штурм, як на рибалку"


def _caption_on_camera() -> tuple[Image.Image, Image.Image, TextBox]:
    """A white caption in a black rim on the cameraman photograph (as uploaded, JPEG q80), the
    letters' own fill drawn alone beside it, and the caption's box."""
    image = _on_photo("camera")
    font = ImageFont.truetype(str(PLAIN), 36)
    letters = Image.new("L", image.size, 0)
    ImageDraw.Draw(image).text(
        (420, 740), CAPTION, font=font, fill="white", stroke_width=2, stroke_fill="black"
    )
    ImageDraw.Draw(letters).text((420, 740), CAPTION, font=font, fill=255)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=80)
    left, top, right, bottom = (
        round(v) for v in ImageDraw.Draw(letters).textbbox((420, 740), CAPTION, font=font)
    )
    box = TextBox(x=left, y=top, w=right - left, h=bottom - top, score=1.0)
    return Image.open(buffer).convert("RGB"), letters, box


@pytest.mark.tool("dejavu")
def test_outlined_letters_are_cut_from_their_fill_not_their_rims() -> None:
    """Of a subtitle's two polarities, the rims hold more pixels than the thin letters inside
    them; the letters come first, so the reader sees solid letters, not hollow ones."""
    image, letters, box = _caption_on_camera()
    first = outlined(grey_array(image), box)[0] < 128
    fill = line_crop(np.asarray(letters), box) > 127
    assert first.shape == fill.shape
    assert np.count_nonzero(first & fill) >= 0.8 * np.count_nonzero(first)  # the letters' own pixels
    assert np.count_nonzero(first & fill) >= 0.6 * np.count_nonzero(fill)  # most of them


@pytest.mark.tool("tesseract", "tesseract-cyrillic", "dejavu")
def test_an_outlined_caption_on_a_grey_photo_is_read_from_its_letters() -> None:
    """Read from its rims alone, the caption came back as «Спокій о лу, = туом, яма рибалку»."""
    image, _, _ = _caption_on_camera()
    read = TesseractOcr.find().read(image).text.lower()
    assert len([w for w in CAPTION.lower().split() if w in read]) >= 6, read  # of 7


@pytest.mark.tool("tesseract", "tesseract-cyrillic", "dejavu")
def test_light_letters_on_a_dark_ground_are_read_in_their_other_polarity() -> None:
    """Yellow letters over the night sky of a launch, their black rim lost in it: the polarity
    read first holds the letters' counters and reads as noise; the reader, still unsure, reads
    the other one, the letters."""
    sky = _on_photo("rocket", size=None).crop((9, 6, 638, 426)).resize((1200, 840), Image.Resampling.BICUBIC)
    words = "НЕ ОЖИВЛЯЙТЕ МОЕГО СЫНА ДЛЯ ВАШЕЙ ВОЙНЫ"
    font = ImageFont.truetype(str(FONT.with_name("DejaVuSansCondensed-Bold.ttf")), 43)
    left = (1200 - ImageDraw.Draw(sky).textlength(words, font=font)) / 2
    ImageDraw.Draw(sky).text(
        (left, 760), words, font=font, fill=(255, 255, 120), stroke_width=2, stroke_fill="black"
    )
    buffer = io.BytesIO()
    sky.save(buffer, "JPEG", quality=80)
    read = TesseractOcr.find().read(Image.open(buffer).convert("RGB")).text.lower()
    assert [w for w in words.lower().split() if w not in read] == [], read


@pytest.mark.tool("tesseract", "tesseract-cyrillic", "dejavu")
def test_a_three_line_caption_across_a_busy_photo_is_found_and_read(monkeypatch: pytest.MonkeyPatch) -> None:
    """Three lines of outlined subtitles low on the cameraman photograph close, with the tripod's
    legs and the coat they cross, into one blob taller than a line; it is still cut into its lines."""
    image = _on_photo("camera")
    draw = ImageDraw.Draw(image)
    font = ImageFont.truetype(str(FONT), 34)
    lines = [
        "Створи кліп: янголи вручають загиблому бійцю",
        "корону, а внизу живі побратими заздрісно",
        "дивляться вгору",
    ]
    for i, line in enumerate(lines):
        left = (1200 - draw.textlength(line, font=font)) / 2
        draw.text((left, 643 + i * 42), line, font=font, fill="white", stroke_width=2, stroke_fill="black")
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=80)  # as uploaded
    image = Image.open(buffer).convert("RGB")
    ocr = TesseractOcr.find()
    read = ocr.read(image).text.lower()
    assert len([w for w in lines[0].lower().split() if w in read]) >= 5, read
    monkeypatch.setattr("service.classify.textfind.TALLEST", 0.3)  # the blob dropped as too tall
    assert ocr.read(image).text == ""


def _line(text: str, face: str, size: int) -> Image.Image:
    image = Image.new("RGB", (900, 200), "white")
    font = ImageFont.truetype(str(FONT.with_name(face)), size)
    ImageDraw.Draw(image).text((30, 70), text, fill="black", font=font)
    return image


def _read_line(text: str, face: str, size: int) -> str:
    """What the reader makes of ``text`` printed black on white in ``face``."""
    return TesseractOcr.find().read(_line(text, face, size)).text


@pytest.mark.tool("tesseract", "dejavu")
@pytest.mark.parametrize(
    ("printed", "face", "read"),
    [
        # a Z among Cyrillic words: the reader's 2 (sans) or 7 (serif) is given back as Z
        ("СИМВОЛ Z НА ТАНКУ", "DejaVuSans-Bold.ttf", "Z"),
        ("СВОЇХ НЕ КИДАЄМО Z", "DejaVuSans.ttf", "Z"),
        ("СИМВОЛ Z НА ТАНКУ", "DejaVuSerifCondensed-Bold.ttf", "Z"),
        # real digits stay digits: a 2's arc, a serif 2's beak, a 7's foot
        ("2 РОКИ ТОМУ", "DejaVuSans-Bold.ttf", "2"),
        ("МАМА, 2 ДНІ ДО ВІДПУСТКИ", "DejaVuSerifCondensed-Bold.ttf", "2"),
        ("ЛИШИЛОСЬ 7 КМ", "DejaVuSerif.ttf", "7"),
        ("7 ДНІВ ДО ЗУСТРІЧІ", "DejaVuSans-Bold.ttf", "7"),
    ],
)
def test_a_z_read_as_a_digit_is_told_apart_by_its_two_bars(printed: str, face: str, read: str) -> None:
    got = _read_line(printed, face, 48)
    others = {"Z", "2", "7"} - {read}
    assert read in got
    assert not others & set(got), got


@pytest.mark.tool("tesseract", "dejavu")
@pytest.mark.parametrize(
    ("printed", "face", "zov"),
    [
        # the campaign's word, read as "70У" or "20У" among Cyrillic words, is given back as ZOV
        ("ГОЙДА ZOV ZOV ZOV", "DejaVuSerif.ttf", 3),
        ("ZOV НАШИ ПАРНИ", "DejaVuSans-Bold.ttf", 1),
        ("СЛАВА ZOV", "DejaVuSans-Bold.ttf", 1),
        ("ПИШЕМО ZOV НА ШОЛОМІ", "DejaVuSerif.ttf", 1),
        # a number of volts is a number
        ("АКУМУЛЯТОР 20В", "DejaVuSans-Bold.ttf", 0),
        ("ЗАРЯДКА 70В", "DejaVuSerif-Bold.ttf", 0),
    ],
)
def test_zov_read_with_digits_is_given_back_by_its_zs_bars(printed: str, face: str, zov: int) -> None:
    got = _read_line(printed, face, 56)
    assert len(re.findall(r"Z[OО][VВ]", got)) == zov, got
    assert ("Z" in got) == bool(zov), got


@pytest.mark.tool("tesseract", "dejavu")
@pytest.mark.parametrize(
    ("printed", "face", "kept"),
    [
        # SS among Cyrillic words, read as "55" or "$5", is given back: an S begins with an arc
        ("Наніс SS-руни на приклад", "DejaVuSans.ttf", "SS-руни"),
        ("НАНІС SS-РУНИ НА ПРИКЛАД", "DejaVuSerif.ttf", "SS-РУНИ"),
        ("ДИВІЗІЯ SS ГАЛИЧИНА", "DejaVuSans-Bold.ttf", "SS ГАЛИЧИНА"),
        ("знак SS на шоломі", "DejaVuSerif.ttf", "SS на"),
        # a 5 begins with a flat bar: numbers stay numbers
        ("55 РОКІВ РАЗОМ", "DejaVuSans-Bold.ttf", "55 РОКІВ"),
        ("будинок 55-А", "DejaVuSerif.ttf", "55-А"),
        ("55 РОКІВ РАЗОМ", "DejaVuSansCondensed-Bold.ttf", "55 РОКІВ"),
    ],
)
def test_ss_read_as_digits_is_given_back_by_its_arcs(printed: str, face: str, kept: str) -> None:
    got = _read_line(printed, face, 56)
    assert kept in got, got


@pytest.mark.tool("tesseract", "dejavu")
def test_a_poster_with_a_z_read_as_a_digit_still_asks_for_a_person(tmp_path: Path) -> None:
    classifiers = Classifiers.from_config(ClassifyConfig(policy_dir=DEFAULT_POLICY_DIR, model_root=tmp_path))
    result = classifiers.classify_image_text(_line("ZА НАШИХ! СЛАВА Z!", "DejaVuSans-Bold.ttf", 56))
    assert "any-z-marking" in [h.term_id for h in result.hits]


@pytest.mark.tool("dejavu")
@pytest.mark.parametrize("printed", ["СВОЇХ НЕ КИДАЄМО Z", "Z СВОЇХ НЕ КИДАЄМО"])
def test_a_one_letter_word_at_a_lines_end_is_inside_the_line_found(printed: str) -> None:
    image = _line(printed, "DejaVuSans.ttf", 48)
    ink = np.flatnonzero((np.asarray(image.convert("L")) < 128).any(axis=0))
    [box] = find_text(image)
    assert box.x <= ink[0]
    assert box.x + box.w >= ink[-1]


def test_a_letter_sized_mark_alone_is_not_a_line() -> None:
    image = Image.new("RGB", (400, 200), "white")
    ImageDraw.Draw(image).rectangle((180, 80, 200, 110), outline="black", width=3)
    assert find_text(image) == []


@pytest.mark.parametrize(
    ("drawn", "z"),
    [
        ("Z", True),
        ("block", False),  # a solid block has flat ends too, but no strokes
        ("blank", False),
    ],
)
def test_only_a_glyph_with_a_zs_strokes_and_two_bars_looks_like_a_z(drawn: str, z: bool) -> None:
    image = Image.new("L", (60, 60), 255)
    draw = ImageDraw.Draw(image)
    if drawn == "Z":
        draw.text((12, 4), "Z", fill=0, font=ImageFont.truetype(str(FONT), 48))
    elif drawn == "block":
        draw.rectangle((15, 10, 45, 50), fill=0)
    assert looks_like_z(np.asarray(image), (0, 0, 59, 59)) is z
