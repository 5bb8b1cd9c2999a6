"""Text inside images (slogans on posters, "Z" markings), read with Tesseract when installed.

Optional and reported like any other signal: no ``tesseract`` binary means ``not_configured``;
a binary that fails or times out means ``unavailable``. The engine runs as a child process on a
PNG written to a private temporary file, with a time limit; languages default to English,
Russian and Ukrainian (the Debian packages ``tesseract-ocr-eng/-rus/-ukr``).
"""

from __future__ import annotations

import shutil
import subprocess  # nosec B404 - a fixed binary with a list argv, no shell
import tempfile
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from service.classify.model import SignalState

DEFAULT_LANGS = ("eng", "rus", "ukr")
_MAX_SIDE = 2000  # larger images are scaled down: OCR cost grows with pixels, slogans are large


@dataclass(frozen=True, slots=True)
class OcrText:
    state: SignalState
    text: str = ""
    detail: str = ""

    def __bool__(self) -> bool:
        raise TypeError("OcrText has no truth value: read .state and .text")


class TesseractOcr:
    def __init__(self, *, binary: str | None, timeout_s: float = 20.0) -> None:
        self.binary = binary
        self.timeout_s = timeout_s
        self._langs: tuple[str, ...] | None = None

    @classmethod
    def find(cls) -> TesseractOcr:
        """The ``tesseract`` on PATH, or an engine that answers ``not_configured``."""
        return cls(binary=shutil.which("tesseract"))

    def status(self) -> tuple[SignalState, str]:
        if self.binary is None:
            return SignalState.NOT_CONFIGURED, "no OCR engine installed (apt-get install tesseract-ocr)"
        return SignalState.OK, f"tesseract ({'+'.join(self.langs())})"

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
            self._langs = tuple(lang for lang in DEFAULT_LANGS if lang in found) or ("eng",)
        return self._langs

    def read(self, image: Image.Image) -> OcrText:
        state, detail = self.status()
        if state is not SignalState.OK or self.binary is None:
            return OcrText(state, detail=detail)
        img = image.convert("RGB")
        if max(img.size) > _MAX_SIDE:
            img.thumbnail((_MAX_SIDE, _MAX_SIDE))
        with tempfile.TemporaryDirectory(prefix="vigil-ocr-") as tmp:
            path = Path(tmp) / "frame.png"
            img.save(path)
            try:
                done = subprocess.run(  # noqa: S603  # nosec B603
                    [self.binary, str(path), "-", "-l", "+".join(self.langs())],
                    capture_output=True,
                    text=True,
                    timeout=self.timeout_s,
                )
            except (OSError, subprocess.SubprocessError) as exc:
                return OcrText(SignalState.UNAVAILABLE, detail=f"tesseract failed: {exc}")
        if done.returncode != 0:
            return OcrText(SignalState.UNAVAILABLE, detail=f"tesseract exited {done.returncode}")
        return OcrText(SignalState.OK, text=" ".join(done.stdout.split()), detail=detail)
