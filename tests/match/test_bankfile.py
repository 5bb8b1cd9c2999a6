"""Bank files: the CSV and JSON forms, and bad lines reported with their line numbers."""

from __future__ import annotations

import json

import pytest

from service.match.bankfile import BankFileError, parse, to_csv, to_json
from service.match.model import HashType

PDQ = "f" * 32 + "0" * 32
PHASH = "0123456789abcdef"


def test_csv_and_json_forms_read_the_same_signals() -> None:
    csv_text = f'signal_type,signal,labels\npdq,{PDQ},propaganda\npdq,{PDQ[::-1]},"poster, z-symbol"\n'
    json_text = json.dumps(
        [
            {"signal_type": "pdq", "signal": PDQ, "labels": ["propaganda"]},
            {"signal_type": "pdq", "signal": PDQ[::-1], "labels": "poster z-symbol"},
        ]
    )
    from_csv = parse(csv_text.encode())
    from_json = parse(json_text.encode())
    assert from_csv == from_json
    assert from_csv[1].labels == ("poster", "z-symbol")
    assert from_csv[0].value == bytes.fromhex(PDQ)  # most significant bit first: hex as written


def test_export_forms_read_back_unchanged() -> None:
    signals = parse(f"signal_type,signal,labels\nphash,{PHASH},a b\nphash,{'f' * 16},\n".encode())
    assert parse(to_csv(signals).encode()) == signals
    assert parse(to_json(signals).encode()) == signals


def test_bad_csv_lines_are_reported_with_their_line_numbers() -> None:
    text = (
        "signal_type,signal,labels\n"
        f"pdq,{PDQ},ok\n"
        f"pdq,{PDQ[:-2]},short\n"  # line 3: wrong length
        f"pdq,{PDQ[:-1]}g,hex\n"  # line 4: not hex
        f"sha1,{PDQ},type\n"  # line 5: unknown type
        "\n"
        f"pdq,{PDQ},bad label!\n"  # line 7: label with a character labels may not hold
        f"pdq,{PDQ}\n"  # line 8: two fields are fine (no labels)
        "pdq\n"  # line 9: too few fields
    )
    with pytest.raises(BankFileError) as caught:
        parse(text.encode())
    errors = caught.value.details["errors"]
    assert [e["line"] for e in errors] == [3, 4, 5, 7, 9]
    assert "64 hex digits, got 62" in errors[0]["message"]
    assert "line 3" in caught.value.message


def test_a_hash_of_another_type_than_the_bank_is_a_bad_line() -> None:
    text = f"signal_type,signal,labels\npdq,{PDQ},x\nphash,{PHASH},y\n"
    with pytest.raises(BankFileError) as caught:
        parse(text.encode(), expected=HashType.PDQ)
    assert caught.value.details["errors"] == [{"line": 3, "message": "this bank holds pdq hashes, not phash"}]


def test_a_missing_header_is_refused() -> None:
    with pytest.raises(BankFileError) as caught:
        parse(f"pdq,{PDQ},x\n".encode(), fmt="csv")
    assert caught.value.details["errors"][0]["line"] == 1


def test_bad_json_entries_are_reported_with_the_line_they_start_on() -> None:
    text = (
        "[\n"
        f'  {{"signal_type": "pdq", "signal": "{PDQ}", "labels": []}},\n'
        f'  {{"signal_type": "pdq", "signal": "{PDQ[:10]}", "labels": []}},\n'
        '  "not an object",\n'
        f'  {{"signal_type": "pdq", "signal": "{PDQ}", "labels": [1]}}\n'
        "]\n"
    )
    with pytest.raises(BankFileError) as caught:
        parse(text.encode())
    assert [e["line"] for e in caught.value.details["errors"]] == [3, 4, 5]


def test_broken_json_names_the_line() -> None:
    with pytest.raises(BankFileError) as caught:
        parse(f'[\n{{"signal_type": "pdq", "signal": "{PDQ}"}},\n{{"signal_type": \n]'.encode())
    assert caught.value.details["errors"][-1]["line"] == 4
