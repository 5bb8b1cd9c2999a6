"""Files a probe file pins by SHA-256 (the n-gram model, the neighbours): read whole, checked."""

from __future__ import annotations

import hashlib
from pathlib import Path

from service.errors import ConfigError


def read_pinned(path: Path, sha256: str, what: str) -> bytes:
    """The bytes of ``path`` if their SHA-256 is ``sha256``; otherwise a ``ConfigError`` that names
    ``what`` and says to retrain (another file makes text screening unavailable, never silently
    different)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the {what} ({exc}); run 'vigil classify train'.") from exc
    if hashlib.sha256(data).hexdigest() != sha256:
        raise ConfigError(
            f"{path} is not the {what} the probe file was trained with (SHA-256 differs); "
            "run 'vigil classify train'."
        )
    return data
