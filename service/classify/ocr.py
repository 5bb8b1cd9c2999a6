"""Words printed on pictures (slogans on posters, lower thirds, burned-in captions), read with
Tesseract in English, Russian and Ukrainian.

A read has two steps:

1. ``textfind.find_text`` finds the lines of printed text (a few milliseconds; a photo with no
   words gives no line and costs nothing more);
2. each line is cut out, turned dark-on-light, scaled to a height Tesseract reads best and
   recognised through the library's C API (``tesslib``; one engine pool per process, models
   loaded once). Where only the ``tesseract`` command is installed, lines are read through it,
   slower. A line read with low confidence, or with too few letters, is dropped as noise.

Optional and reported like any other signal: no Tesseract means ``not_configured``; an engine
that fails or times out means ``unavailable``. The read text carries how many lines were found
and read, and where, so a reviewer can be shown the words with their place on the picture.
"""

from __future__ import annotations

import re
import shutil
import subprocess  # nosec B404 - a fixed binary with a list argv, no shell
import tempfile
import threading
import unicodedata
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
from PIL import Image

from service.classify.glyphs import BOXED, letters_for_digits
from service.classify.linecut import line_image, outlined
from service.classify.tesslib import LibTesseract, Recognised
from service.classify.textfind import TextBox, find_text, grey_array
from service.vocabulary import SignalState

# Tesseract's Cyrillic script model reads Russian and Ukrainian in one pass (і, ї, є, ґ and ы, э,
# ъ alike) at the cost of one language; with English beside it a line costs about 100 ms, where
# eng+rus+ukr costs 140 ms and confuses look-alikes (CBO for СВО). Without the script model
# (Debian's tesseract-ocr-script-cyrl) the three language models are used.
PREFERRED_LANGS = (("Cyrillic", "eng"), ("eng", "rus", "ukr"))
READERS = 2  # lines of one picture read at once (one engine each)
MIN_CONFIDENCE = 45  # Tesseract's mean word confidence under which a line is noise
MIN_LETTERS = 3
# A line read with less confidence than this is read again as outlined letters (``outlined``);
# the second reading is kept where it is surer by more than ``SURER_BY``.
REREAD_BELOW = 70
SURER_BY = 5


@dataclass(frozen=True, slots=True)
class ReadLine:
    text: str
    confidence: int
    box: tuple[int, int, int, int]  # x, y, w, h in the picture's pixels


@dataclass(frozen=True, slots=True)
class OcrText:
    state: SignalState
    text: str = ""
    detail: str = ""
    lines: tuple[ReadLine, ...] = ()
    candidates: int = 0  # lines the finder proposed (read or dropped)

    def __bool__(self) -> bool:
        raise TypeError("OcrText has no truth value: read .state and .text")


class TesseractOcr:
    def __init__(self, *, binary: str | None, timeout_s: float = 20.0, use_library: bool = True) -> None:
        self.binary = binary
        self.timeout_s = timeout_s
        self._use_library = use_library and binary is not None
        self._langs: tuple[str, ...] | None = None
        self._lib: LibTesseract | None = None
        self._lib_tried = False
        self._one_script: dict[bool, LibTesseract | None] = {}  # Cyrillic? -> that script's engines
        self._lock = threading.Lock()

    @classmethod
    def find(cls) -> TesseractOcr:
        """The ``tesseract`` on PATH, or an engine that answers ``not_configured``."""
        return cls(binary=shutil.which("tesseract"))

    def status(self) -> tuple[SignalState, str]:
        if self.binary is None:
            return SignalState.NOT_CONFIGURED, "no OCR engine installed (apt-get install tesseract-ocr)"
        how = "library" if self._library() is not None else "command"
        return SignalState.OK, f"tesseract ({'+'.join(self.langs())}, {how})"

    def version(self) -> str:
        """The engine and languages it reads, for a verdict's ``classifier_versions``."""
        return f"tesseract:{'+'.join(self.langs())}"

    def langs(self) -> tuple[str, ...]:
        if self._langs is None:
            found: set[str] = set()
            if self.binary is not None:
                try:
                    done = subprocess.run(  # noqa: S603  # nosec B603
                        [self.binary, "--list-langs"], capture_output=True, text=True, timeout=self.timeout_s
                    )
                    found = {line.strip() for line in done.stdout.splitlines()[1:]}
                except (OSError, subprocess.SubprocessError):
                    found = set()
            self._langs = next(
                (langs for langs in PREFERRED_LANGS if all(lang in found for lang in langs)),
                tuple(lang for lang in PREFERRED_LANGS[-1] if lang in found) or ("eng",),
            )
        return self._langs

    def _library(self) -> LibTesseract | None:
        if not self._use_library:
            return None
        with self._lock:
            if not self._lib_tried:
                self._lib_tried = True
                self._lib = LibTesseract.load(self.langs(), size=READERS)
        return self._lib

    def read(
        self,
        image: Image.Image,
        sharper: Callable[[], Image.Image] | None = None,
        *,
        boxes: Sequence[TextBox] | None = None,
    ) -> OcrText:
        """The words printed on ``image``, line by line in reading order.

        ``sharper``: where ``image`` is a reduced decode of a larger picture (a large JPEG is
        decoded at 1/2 or 1/4 scale for hashing), a way to get the picture at full size. The
        lines are found on ``image`` (cheap: most pictures have none) and, where there are any,
        read from the full-size picture, whose small print the reduced one has lost. ``boxes``:
        the lines ``find_text`` already found on ``image`` (not looked for again)."""
        state, detail = self.status()
        if state is not SignalState.OK:
            return OcrText(state, detail=detail)
        boxes = find_text(image) if boxes is None else boxes
        if not boxes:
            return OcrText(SignalState.OK, detail=detail)
        source = image if sharper is None else sharper()
        if source.size != image.size:
            fx, fy = source.width / image.width, source.height / image.height
            boxes = [b.scaled(fx, fy) for b in boxes]
        grey = grey_array(source)
        ordered = sorted(boxes, key=lambda b: (b.y, b.x))
        crops = [line_image(grey, box) for box in ordered]
        try:
            got_all = self._outlined_again(grey, ordered, self._recognise_all(crops))
        except (OSError, subprocess.SubprocessError) as exc:
            return OcrText(SignalState.UNAVAILABLE, detail=f"tesseract failed: {exc}")
        lines: list[ReadLine] = []
        for box, got in zip(ordered, got_all, strict=True):
            letters = sum(ch.isalpha() for ch in got.text)
            if got.confidence >= MIN_CONFIDENCE and letters >= MIN_LETTERS:
                text = tidy_letters(harmonise_script(got.text))
                lines.append(ReadLine(text, got.confidence, (box.x, box.y, box.w, box.h)))
        text = " ".join(line.text for line in lines)
        return OcrText(SignalState.OK, text=text, detail=detail, lines=tuple(lines), candidates=len(boxes))

    def _outlined_again(
        self, grey: np.ndarray, boxes: Sequence[TextBox], got_all: list[Recognised]
    ) -> list[Recognised]:
        """Lines read with little confidence read again as outlined letters, where the picture has
        any: a subtitle's white or yellow letters inside a dark rim over a busy photograph, which
        one grey threshold cannot part from bright grass or stone beside them. The likelier
        polarity is read first, the other only where the first is still unsure."""
        better = list(got_all)
        todo = {i: outlined(grey, boxes[i]) for i, got in enumerate(got_all) if got.confidence < REREAD_BELOW}
        for turn in range(2):
            crops = {
                i: ways[turn]
                for i, ways in todo.items()
                if len(ways) > turn and better[i].confidence < REREAD_BELOW
            }
            for i, read in zip(crops, self._recognise_all(list(crops.values())), strict=True):
                if (
                    read.confidence > better[i].confidence
                    and read.confidence > got_all[i].confidence + SURER_BY
                ):
                    better[i] = read
        return better

    def _recognise_all(self, crops: Sequence[np.ndarray]) -> list[Recognised]:
        """Lines read side by side where the library is loaded (one engine each), else in turn."""
        if len(crops) > 1 and self._library() is not None:
            return list(_readers().map(self._recognise, crops))
        return [self._recognise(crop) for crop in crops]

    def _recognise(self, grey: np.ndarray) -> Recognised:
        lib = self._library()
        if lib is None:
            return self._recognise_command(grey)
        got = lib.recognise(grey, boxes_of=BOXED)
        cyrillic = mixed_script(got.text)
        # Both scripts at once, on a noisy line, mix them inside words ("every опе of уои"):
        # the line is read again in the script most of it is in, and the surer reading kept.
        alone = None if cyrillic is None else self._script_library(cyrillic)
        if alone is not None:
            again = alone.recognise(grey, boxes_of=BOXED)
            got = again if again.confidence >= got.confidence else got
        return letters_for_digits(got, grey)

    def _script_library(self, cyrillic: bool) -> LibTesseract | None:
        langs = self.langs()
        script = tuple(lang for lang in langs if (lang != "eng") == cyrillic)
        if not script or len(script) == len(langs):
            return None
        with self._lock:
            if cyrillic not in self._one_script:
                self._one_script[cyrillic] = LibTesseract.load(script, size=READERS)
        return self._one_script[cyrillic]

    def _recognise_command(self, grey: np.ndarray) -> Recognised:
        """One line through the ``tesseract`` command (TSV out, for the confidence)."""
        assert self.binary is not None  # status() said OK
        with tempfile.TemporaryDirectory(prefix="vigil-ocr-") as tmp:
            path = Path(tmp) / "line.png"
            Image.fromarray(grey).save(path)
            done = subprocess.run(  # noqa: S603  # nosec B603
                [self.binary, str(path), "-", "-l", "+".join(self.langs()), "--psm", "7", "tsv"],
                capture_output=True,
                text=True,
                timeout=self.timeout_s,
            )
        if done.returncode != 0:
            raise OSError(f"tesseract exited {done.returncode}")
        words, confs = [], []
        for row in done.stdout.splitlines()[1:]:
            cells = row.split("\t")
            if len(cells) == 12 and cells[11].strip() and float(cells[10]) >= 0:
                words.append(cells[11].strip())
                confs.append(float(cells[10]))
        return Recognised(" ".join(words), round(sum(confs) / len(confs)) if confs else 0)


# Letters the two scripts share by shape: a line read in both scripts at once can come back with
# "CBO" for "СВО", "He" for "не" or "іп" for "in". A word made only of look-alikes of the other
# script, in a line whose other letters are mostly of that script, is turned into it. Beside the
# letters that are the same drawing (A/А, o/о), a Latin line's reading confuses the shapes a
# Cyrillic font draws alike in lower case (n/п, r/г, m/т, u/и, s/ѕ, h/һ, k/к), measured on
# training lines printed on photographs and read back.
_SAME = ("ABCEHKMOPTXYaceopxyIi", "АВСЕНКМОРТХУасеорхуІі")
_CYRILLIC_TO_LATIN = str.maketrans(_SAME[1] + "пгтиѕЅһкј", _SAME[0] + "nrmusShkj")
_LATIN_TO_CYRILLIC = str.maketrans(_SAME[0] + "nrmu", _SAME[1] + "пгми")
_LOOKS_LATIN = frozenset(chr(c) for c in _CYRILLIC_TO_LATIN)  # Cyrillic letters that can be Latin
_LOOKS_CYRILLIC = frozenset(chr(c) for c in _LATIN_TO_CYRILLIC)  # Latin letters that can be Cyrillic
_SHARED = _LOOKS_LATIN | _LOOKS_CYRILLIC
_ENDORSING = frozenset("ZV")


def _script_letters(text: str, *, skip: frozenset[str] = frozenset()) -> tuple[int, int]:
    """How many of the line's letters (not counting ``skip``) are Cyrillic, and how many Latin."""
    cyrillic = sum(1 for ch in text if "\u0400" <= ch <= "\u04ff" and ch not in skip)
    latin = sum(1 for ch in text if ch.isascii() and ch.isalpha() and ch not in skip)
    return cyrillic, latin


def harmonise_script(text: str) -> str:
    """Look-alike letters put back in the script the rest of the line is written in. Z and V have
    no Cyrillic look-alike and stay as read, in a Cyrillic word too («ZА НАШИХ», "ZOB" → «ZОВ»)."""
    cyrillic, latin = _script_letters(text, skip=_SHARED)
    if cyrillic == latin:
        return text
    to_cyrillic = cyrillic > latin
    table = _LATIN_TO_CYRILLIC if to_cyrillic else _CYRILLIC_TO_LATIN
    looks = _LOOKS_CYRILLIC if to_cyrillic else _LOOKS_LATIN
    # Z and V stay Latin in a Cyrillic word ("ZОВ", "СVОих"): written so on purpose
    kept = _ENDORSING if to_cyrillic else frozenset()
    words = []
    for word in text.split(" "):
        letters = [ch for ch in word if ch.isalpha()]
        foreign = [ch for ch in letters if (ch.isascii() if to_cyrillic else "\u0400" <= ch <= "\u04ff")]
        if any(ch in looks for ch in foreign) and all(ch in looks or ch in kept for ch in foreign):
            word = word.translate(table)
        words.append(word)
    return " ".join(words)


# The script model knows every Cyrillic language's letters, and on a noisy line it reads ӣ, ӯ, Ӧ
# or ҕ where Russian and Ukrainian have и, у, О, г: a letter outside the three alphabets loses its
# marks. A comma, colon or semicolon between two letters with no space after it is a misread
# space or dash ("ВОРОЖА:МОГИЛА", "с,автоматом"): printed text puts a space there.
_ALPHABETS = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
    "абвгдеёжзийклмнопрстуфхцчшщъыьэюяАБВГДЕЁЖЗИЙКЛМНОПРСТУФХЦЧШЩЪЫЬЭЮЯґєіїҐЄІЇ"
)
_JOINED = re.compile(r"(?<=[^\W\d_])[,:;]+(?=[^\W\d_])")


def tidy_letters(text: str) -> str:
    """Letters outside the English, Russian and Ukrainian alphabets turned into the letter under
    their marks, and punctuation that joins two words with no space split into a space."""
    folded = []
    for ch in text:
        if ch.isalpha() and ch not in _ALPHABETS:
            base = "".join(c for c in unicodedata.normalize("NFD", ch) if not unicodedata.combining(c))
            ch = base if len(base) == 1 and base in _ALPHABETS else ch
        folded.append(ch)
    return _JOINED.sub(" ", "".join(folded))


MIXED_SHARE = 0.15  # the lesser script's share of a line's letters from which it is read again


def mixed_script(text: str) -> bool | None:
    """Whether a line read in both scripts is mostly Cyrillic (True) or Latin (False), where the
    lesser script holds at least ``MIXED_SHARE`` of its letters; ``None`` for a line in one."""
    cyrillic, latin = _script_letters(text)
    lesser = min(cyrillic, latin)
    if lesser < 2 or lesser < MIXED_SHARE * (cyrillic + latin):
        return None
    return cyrillic > latin


@cache
def _readers() -> ThreadPoolExecutor:
    """Threads that read a picture's lines side by side (the C library releases the GIL)."""
    return ThreadPoolExecutor(max_workers=READERS, thread_name_prefix="vigil-ocr")
