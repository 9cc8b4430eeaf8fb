"""Evaluation sets: JSONL files of items, the built-in ones under resources/eval/ and any a user writes.

`load_set("translate")` loads a built-in set by name, `load_set("translate-smoke")` (or `smoke=True`) only its
items marked `"smoke": true` (a subset small enough for CI), and `load_set("path/to/mine.jsonl")` a user's file.
A bad file raises `EvalSetError` naming the file, the line and the field, e.g.
`mine.jsonl line 4: field "target" must be a language code such as "de" (got "German")`.

The schema (one JSON object per line; blank lines and lines starting with `#` are skipped) is documented in
resources/eval/README.md.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from lmscales.core import json_limits
from lmscales.core.tasks import LANGUAGES, SUMMARY_LENGTHS, TASKS, SummaryLength, TaskName

BUILT_IN_SETS: tuple[str, ...] = ("translate", "summarize", "chat")
SMOKE_SUFFIX = "-smoke"


class EvalSetError(ValueError):
    """A set that cannot be used; the message names the file, line and field, for the user."""


@dataclass(frozen=True)
class EvalItem:
    """One item. `input` is the text both sides get (source sentence, document, or chat prompt)."""

    id: str
    task: TaskName
    input: str
    reference: str | None = None
    source_language: str | None = None  # translate
    target_language: str | None = None  # translate
    summary_length: SummaryLength = "paragraph"  # summarize
    key_facts: tuple[str, ...] = ()  # summarize
    answers: tuple[str, ...] = ()  # chat: accepted short answers
    tags: tuple[str, ...] = ()
    smoke: bool = False
    line: int = 0


@dataclass(frozen=True)
class EvalSet:
    name: str
    source: str  # "built-in" or the file's path
    items: tuple[EvalItem, ...]

    @property
    def tasks(self) -> tuple[TaskName, ...]:
        return tuple(dict.fromkeys(item.task for item in self.items))


_COMMON = {"id", "task", "input", "reference", "tags", "smoke"}
_FIELDS: dict[str, set[str]] = {
    "translate": _COMMON | {"source", "target"},
    "summarize": _COMMON | {"length", "key_facts", "language"},
    "chat": _COMMON | {"answers"},
}


def _text(record: dict[str, Any], key: str, where: str, required: bool = True) -> str | None:
    if key not in record:
        if required:
            raise EvalSetError(f'{where}: missing field "{key}"')
        return None
    value = record[key]
    if not isinstance(value, str) or not value.strip():
        raise EvalSetError(f'{where}: field "{key}" must be a non-empty string')
    return value


def _strings(record: dict[str, Any], key: str, where: str) -> tuple[str, ...]:
    value = record.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise EvalSetError(f'{where}: field "{key}" must be a list of non-empty strings')
    return tuple(value)


def _language(record: dict[str, Any], key: str, where: str) -> str:
    code = _text(record, key, where)
    assert code is not None
    if code not in LANGUAGES:
        raise EvalSetError(f'{where}: field "{key}" must be a language code such as "de" (got "{code}"); known: '
                           f'{", ".join(sorted(LANGUAGES))}')
    return code


def parse_item(record: object, where: str, line: int = 0) -> EvalItem:
    """One JSON object -> an item, or EvalSetError saying what is wrong with it."""
    if not isinstance(record, dict):
        raise EvalSetError(f"{where}: each line must be a JSON object")
    task = _text(record, "task", where)
    if task not in TASKS:
        raise EvalSetError(f'{where}: unknown task "{task}" (choose {", ".join(TASKS)})')
    unknown = sorted(set(record) - _FIELDS[task])
    if unknown:
        raise EvalSetError(f'{where}: unknown field "{unknown[0]}" for a {task} item '
                           f'(known: {", ".join(sorted(_FIELDS[task]))})')
    item_id = _text(record, "id", where)
    text = _text(record, "input", where)
    assert item_id is not None and text is not None
    smoke = record.get("smoke", False)
    if not isinstance(smoke, bool):
        raise EvalSetError(f'{where}: field "smoke" must be true or false')
    common: dict[str, Any] = {"id": item_id, "task": task, "input": text, "tags": _strings(record, "tags", where),
                              "smoke": smoke, "line": line}
    if task == "translate":
        source, target = _language(record, "source", where), _language(record, "target", where)
        if source == target:
            raise EvalSetError(f'{where}: "source" and "target" are both "{source}"')
        return EvalItem(**common, reference=_text(record, "reference", where), source_language=source,
                        target_language=target)
    if task == "summarize":
        length = record.get("length", "paragraph")
        if length not in SUMMARY_LENGTHS:
            raise EvalSetError(f'{where}: field "length" must be one of {", ".join(SUMMARY_LENGTHS)} (got {length!r})')
        language = _language(record, "language", where) if "language" in record else "en"
        return EvalItem(**common, reference=_text(record, "reference", where, required=False),
                        summary_length=length, key_facts=_strings(record, "key_facts", where),
                        target_language=language)
    answers = _strings(record, "answers", where)
    return EvalItem(**common, reference=_text(record, "reference", where, required=False), answers=answers)


def parse_lines(lines: list[str], label: str) -> tuple[EvalItem, ...]:
    items: list[EvalItem] = []
    seen: dict[str, int] = {}
    for number, raw in enumerate(lines, start=1):
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        where = f"{label} line {number}"
        try:
            record = json_limits.loads(stripped)
        except json.JSONDecodeError as error:
            raise EvalSetError(f"{where}: not valid JSON ({error.msg} at column {error.colno})") from None
        except json_limits.JsonLimitError as error:  # too deep, a number too long or out of range
            raise EvalSetError(f"{where}: the JSON {error}") from None
        item = parse_item(record, where, number)
        if item.id in seen:
            raise EvalSetError(f'{where}: id "{item.id}" is already used on line {seen[item.id]}')
        seen[item.id] = number
        items.append(item)
    if not items:
        raise EvalSetError(f"{label}: no items (one JSON object per line)")
    return tuple(items)


def _built_in_text(name: str) -> str:
    return resources.files("lmscales.resources").joinpath("eval").joinpath(f"{name}.jsonl").read_text("utf-8")


def load_set(spec: str | Path, smoke: bool = False) -> EvalSet:
    """A built-in set by name ("translate", "summarize", "chat", optionally with "-smoke") or a JSONL file."""
    text_spec = str(spec)
    name = text_spec
    if isinstance(spec, str) and spec.endswith(SMOKE_SUFFIX) and spec[: -len(SMOKE_SUFFIX)] in BUILT_IN_SETS:
        name, smoke = spec[: -len(SMOKE_SUFFIX)], True
    if isinstance(spec, str) and name in BUILT_IN_SETS:
        items = parse_lines(_built_in_text(name).splitlines(), f"{name}.jsonl")
        source = "built-in"
    else:
        path = Path(text_spec)
        if not path.is_file():
            raise EvalSetError(
                f"No evaluation set {text_spec!r}: give one of {', '.join(BUILT_IN_SETS)} (add {SMOKE_SUFFIX} for the "
                "small subset) or the path of a .jsonl file.")
        try:
            lines = path.read_text(encoding="utf-8-sig").splitlines()  # editors on Windows may write a BOM
        except UnicodeDecodeError:
            raise EvalSetError(f"{path.name}: not UTF-8 text") from None
        except OSError as error:
            raise EvalSetError(f"{path.name}: cannot be read ({error.strerror})") from None
        items = parse_lines(lines, path.name)
        name, source = path.stem, str(path)
    if smoke:
        items = tuple(item for item in items if item.smoke)
        if not items:
            raise EvalSetError(f'{name}: no item is marked "smoke": true')
        name = f"{name}{SMOKE_SUFFIX}"
    return EvalSet(name, source, items)
