"""Text PostgreSQL cannot store: the NUL character, and UTF-16 surrogates a JSON ``\\ud800``
escape can smuggle into a Python string (they have no UTF-8 form). Refused at the edge with a 422
naming the field, before any work is done, so a request is never half-written or lost to a 500.
"""

from __future__ import annotations

import re
from typing import Any

from service.errors import MalformedRequest

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def unstorable(value: Any, path: str = "body") -> str | None:
    """The path (``body.grantors[0].name``) of the first string in ``value`` that holds an
    unstorable character, or None. Keys are checked as well as values."""
    if isinstance(value, str):
        return path if _UNSTORABLE.search(value) else None
    if isinstance(value, dict):
        for key, item in value.items():
            where = f"{path}.{key}"
            if isinstance(key, str) and _UNSTORABLE.search(key):
                return where
            found = unstorable(item, where)
            if found is not None:
                return found
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found = unstorable(item, f"{path}[{i}]")
            if found is not None:
                return found
    return None


def message(field: str) -> str:
    return (
        f"{field} contains a character that cannot be stored (NUL, U+0000, or an unpaired "
        "surrogate); remove it and send the request again."
    )


def refuse_unstorable(value: Any, path: str) -> None:
    """Raise MalformedRequest (422) naming the field when ``value`` holds unstorable text."""
    field = unstorable(value, path)
    if field is not None:
        raise MalformedRequest(message(field), details={"field": field})
