"""Bank files: the HMA-style CSV (``signal_type,signal,labels``) and JSON forms (docs/matching.md).

Parsing is all-or-nothing: every bad line is collected with its line number and the whole file
is refused, so a bank never holds half an import. In CSV, ``labels`` is one field; several
labels are separated by spaces or by commas inside a quoted field. In JSON, ``labels`` is a list
of strings (or one string, split the same way). Hashes are hex, most significant bit first.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable
from typing import Any

from service.errors import MalformedRequest
from service.match.model import LABEL, HashType, Signal

HEADER = ("signal_type", "signal", "labels")
MAX_REPORTED = 1000
_HEX = re.compile(r"^[0-9a-fA-F]*$")
_SPLIT = re.compile(r"[\s,]+")


class BankFileError(MalformedRequest):
    """A bank file with bad lines; ``details["errors"]`` lists ``{"line", "message"}``."""

    code = "bad_bank_file"
    hint = "Fix the listed lines and import the file again; nothing was imported."


def _signal(signal_type: Any, value: Any, labels: Any, expected: HashType | None) -> Signal:
    if not isinstance(signal_type, str) or signal_type.strip().lower() not in HashType.__members__.values():
        raise ValueError(f"signal_type must be one of {', '.join(HashType)}, got {signal_type!r}")
    kind = HashType(signal_type.strip().lower())
    if expected is not None and kind is not expected:
        raise ValueError(f"this bank holds {expected} hashes, not {kind}")
    if not isinstance(value, str) or not _HEX.match(value.strip()):
        raise ValueError("signal must be a hex string")
    text = value.strip()
    if len(text) != kind.hex_digits:
        raise ValueError(f"a {kind} hash has {kind.hex_digits} hex digits, got {len(text)}")
    if labels is None:
        label_list: list[str] = []
    elif isinstance(labels, str):
        label_list = [x for x in _SPLIT.split(labels) if x]
    elif isinstance(labels, list) and all(isinstance(x, str) for x in labels):
        label_list = [x.strip() for x in labels if x.strip()]
    else:
        raise ValueError("labels must be a string or a list of strings")
    for label in label_list:
        if not LABEL.match(label):
            raise ValueError(f"label {label[:70]!r} may hold only letters, digits and _.:- (1-64)")
    return Signal(kind, bytes.fromhex(text), tuple(dict.fromkeys(label_list)))


def _raise(errors: list[dict[str, Any]], total_bad: int) -> None:
    if errors:
        more = f" (first {MAX_REPORTED} shown)" if total_bad > MAX_REPORTED else ""
        first = errors[0]
        raise BankFileError(
            f"{total_bad} bad line(s){more}; line {first['line']}: {first['message']}.",
            details={"errors": errors, "bad_lines": total_bad},
        )


def parse_csv(text: str, expected: HashType | None = None) -> list[Signal]:
    lines = text.splitlines()
    reader = csv.reader(lines)
    signals: list[Signal] = []
    errors: list[dict[str, Any]] = []
    bad = 0
    header_seen = False
    for number, row in enumerate(reader, start=1):
        if not row or all(not cell.strip() for cell in row):
            continue
        if not header_seen:
            header_seen = True
            if tuple(cell.strip().lower() for cell in row) != HEADER:
                bad += 1
                errors.append({"line": number, "message": "the header must be signal_type,signal,labels"})
                break
            continue
        try:
            if len(row) not in (2, 3):
                raise ValueError(f"expected 3 fields (signal_type,signal,labels), got {len(row)}")
            signals.append(_signal(row[0], row[1], row[2] if len(row) == 3 else "", expected))
        except ValueError as exc:
            bad += 1
            if len(errors) < MAX_REPORTED:
                errors.append({"line": number, "message": str(exc)})
    if not header_seen:
        errors.append(
            {"line": 1, "message": "the file is empty; it needs the header signal_type,signal,labels"}
        )
        bad += 1
    _raise(errors, bad)
    return signals


def parse_json(text: str, expected: HashType | None = None) -> list[Signal]:
    """A JSON array of objects; each error names the line where its object starts."""
    decoder = json.JSONDecoder()
    pos = _skip(text, 0)

    def line_at(p: int) -> int:
        return text.count("\n", 0, p) + 1

    if pos >= len(text) or text[pos] != "[":
        _raise([{"line": line_at(pos), "message": "expected a JSON array of objects"}], 1)
    pos = _skip(text, pos + 1)
    signals: list[Signal] = []
    errors: list[dict[str, Any]] = []
    bad = 0
    if pos < len(text) and text[pos] == "]":
        return []
    while True:
        start = pos
        try:
            item, pos = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            errors.append({"line": exc.lineno, "message": f"invalid JSON: {exc.msg}"})
            _raise(errors, bad + 1)
        try:
            if not isinstance(item, dict):
                raise ValueError("each entry must be an object with signal_type, signal, labels")
            signals.append(_signal(item.get("signal_type"), item.get("signal"), item.get("labels"), expected))
        except ValueError as exc:
            bad += 1
            if len(errors) < MAX_REPORTED:
                errors.append({"line": line_at(start), "message": str(exc)})
        pos = _skip(text, pos)
        if pos < len(text) and text[pos] == ",":
            pos = _skip(text, pos + 1)
            continue
        if pos < len(text) and text[pos] == "]" and not text[pos + 1 :].strip():
            break
        errors.append({"line": line_at(pos), "message": "expected ',' or the closing ']'"})
        bad += 1
        break
    _raise(errors, bad)
    return signals


def _skip(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in " \t\r\n":
        pos += 1
    return pos


def parse(data: bytes, *, fmt: str | None = None, expected: HashType | None = None) -> list[Signal]:
    """Signals of a bank file; ``fmt`` is ``csv`` or ``json`` (sniffed from the first byte if None)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BankFileError(
            "The bank file is not UTF-8 text.", details={"errors": [{"line": 1, "message": "not UTF-8"}]}
        ) from exc
    if fmt is None:
        fmt = "json" if text.lstrip().startswith(("[", "{")) else "csv"
    if fmt == "json":
        return parse_json(text, expected)
    if fmt == "csv":
        return parse_csv(text, expected)
    raise MalformedRequest(f"Unknown bank file format {fmt!r}; use csv or json.")


def to_csv(signals: Iterable[Signal]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    for s in signals:
        writer.writerow((s.signal_type.value, s.hex, " ".join(s.labels)))
    return out.getvalue()


def to_json(signals: Iterable[Signal]) -> str:
    rows = [{"signal_type": s.signal_type.value, "signal": s.hex, "labels": list(s.labels)} for s in signals]
    return json.dumps(rows, indent=1) + "\n"
