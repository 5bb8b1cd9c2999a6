"""System tools some tests need, found the same way for all of them.

A test marked ``@pytest.mark.tool("exiftool")`` is skipped with what to install when the tool is
missing; with ``VIGIL_TESTS_NEED_TOOLS=1`` (CI, which installs them all) it fails instead, so
nothing is skipped silently there.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

# tool name -> (how it is found, the Debian packages that provide it)
TOOLS: dict[str, tuple[str, str]] = {
    "chromium": ("/usr/bin/chromium", "chromium"),
    "exiftool": ("exiftool", "libimage-exiftool-perl"),
    "tesseract": ("tesseract", "tesseract-ocr tesseract-ocr-rus tesseract-ocr-ukr"),
    "tesseract-cyrillic": (
        "/usr/share/tesseract-ocr/5/tessdata/Cyrillic.traineddata",
        "tesseract-ocr-script-cyrl",
    ),
    "dejavu": ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "fonts-dejavu-core"),
    "curl": ("curl", "curl"),
    "jq": ("jq", "jq"),
}
STRICT_ENV = "VIGIL_TESTS_NEED_TOOLS"


def present(tool: str) -> bool:
    where, _ = TOOLS[tool]
    return Path(where).exists() if where.startswith("/") else shutil.which(where) is not None


def require(item: pytest.Item) -> None:
    """Skip (or, under VIGIL_TESTS_NEED_TOOLS=1, fail) ``item`` when a tool it is marked with is missing."""
    for mark in item.iter_markers("tool"):
        for tool in mark.args:
            if tool not in TOOLS:
                raise pytest.UsageError(f"unknown tool {tool!r} (known: {', '.join(TOOLS)})")
            if present(tool):
                continue
            message = f"needs {tool}: apt-get install {TOOLS[tool][1]}"
            if os.environ.get(STRICT_ENV) == "1":
                pytest.fail(f"{message} ({STRICT_ENV}=1: every tool must be installed)", pytrace=False)
            pytest.skip(message)
