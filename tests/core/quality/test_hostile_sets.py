"""Evaluation set files as people really save them, and as someone might craft them: a UTF-8 BOM is read,
JSON nested too deeply or a number of thousands of digits is a clear EvalSetError naming the line."""

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
    with pytest.raises(EvalSetError, match=r"^huge\.jsonl line 1: a number has too many digits to read$"):
        load_set(str(path))
