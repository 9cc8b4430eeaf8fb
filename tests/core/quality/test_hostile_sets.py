"""Evaluation set files as people really save them, and as someone might craft them: a UTF-8 BOM is read,
JSON nested too deeply, a number of thousands of digits, 1e400 or NaN is a clear EvalSetError naming the line
(the limits of core/json_limits.py, the history's and recordings' too)."""

from __future__ import annotations

from pathlib import Path

import pytest

from lmscales.core.quality.sets import EvalSetError, load_set

ITEM = '{"id": "a", "task": "chat", "input": "Say hi.", "answers": ["hi"]}'


def test_a_set_saved_with_a_utf8_bom_is_read(tmp_path: Path) -> None:
    path = tmp_path / "mine.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + ITEM.encode() + b"\n")
    loaded = load_set(str(path))
    assert [item.id for item in loaded.items] == ["a"]


def test_json_nested_too_deeply_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "deep.jsonl"
    path.write_text(ITEM + "\n" + "[" * 100_000 + "]" * 100_000 + "\n", encoding="utf-8")
    with pytest.raises(EvalSetError, match=r"^deep\.jsonl line 2: the JSON is nested too deeply to read"):
        load_set(str(path))


def test_a_number_of_thousands_of_digits_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "huge.jsonl"
    path.write_text('{"id": ' + "9" * 5000 + "}\n", encoding="utf-8")
    with pytest.raises(EvalSetError, match=r"^huge\.jsonl line 1: the JSON holds a 5000-digit number, too long to "
                                           r"be a real figure$"):
        load_set(str(path))


@pytest.mark.parametrize(("number", "says"), [("1e400", r"holds a number out of range \(1e400\)"),
                                              ("NaN", "holds NaN, which is not a number JSON allows")])
def test_a_number_json_does_not_allow_is_a_clear_error(tmp_path: Path, number: str, says: str) -> None:
    path = tmp_path / "odd.jsonl"
    path.write_text('{"id": "a", "task": "chat", "input": "hi", "tags": [' + number + "]}\n", encoding="utf-8")
    with pytest.raises(EvalSetError, match=r"^odd\.jsonl line 1: the JSON " + says + "$"):
        load_set(str(path))
