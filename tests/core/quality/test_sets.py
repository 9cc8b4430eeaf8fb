"""Evaluation sets: the built-in ones load and hold up to their own checks; bad files say where they are bad."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lmscales.core.quality import text as tx
from lmscales.core.quality.checks import CheckOptions, parse_constraints, run_checks
from lmscales.core.quality.scores import fact_found
from lmscales.core.quality.sets import EvalSetError, load_set


def test_the_built_in_sets_have_the_promised_sizes() -> None:
    translate, summarize, chat = load_set("translate"), load_set("summarize"), load_set("chat")
    assert len(translate.items) >= 60 and len(summarize.items) >= 20 and len(chat.items) >= 40
    pairs = {(item.source_language, item.target_language) for item in translate.items}
    assert pairs == {("en", "fr"), ("en", "de"), ("en", "es"), ("fr", "en"), ("de", "en")}
    assert {tag for item in translate.items for tag in item.tags} == {"everyday", "news", "technical"}
    assert all(150 <= tx.word_count(item.input) <= 400 for item in summarize.items)
    assert all(3 <= len(item.key_facts) <= 5 and item.reference for item in summarize.items)
    assert translate.source == "built-in" and translate.tasks == ("translate",)


@pytest.mark.parametrize("name", ["translate", "summarize", "chat"])
def test_each_built_in_set_has_a_small_smoke_subset(name: str) -> None:
    smoke = load_set(f"{name}-smoke")
    assert smoke.name == f"{name}-smoke"
    assert 3 <= len(smoke.items) <= 8
    assert smoke.items == load_set(name, smoke=True).items


def test_reference_translations_are_in_their_target_language_and_not_copies() -> None:
    for item in load_set("translate").items:
        assert item.reference is not None and item.target_language is not None
        checks = {check.name: check for check in run_checks(
            "translate", item.input, item.reference, CheckOptions(target_language=item.target_language))}
        assert checks["language"].passed is not False, (item.id, checks["language"].detail)
        assert checks["copy"].passed, (item.id, checks["copy"].detail)
        assert checks["length"].passed, (item.id, checks["length"].detail)


def test_reference_summaries_keep_their_key_facts_and_pass_their_own_checks() -> None:
    for item in load_set("summarize").items:
        assert item.reference is not None
        for fact in item.key_facts:
            assert fact_found(fact, item.reference), (item.id, fact)
        options = CheckOptions(summary_length=item.summary_length)
        for check in run_checks("summarize", item.input, item.reference, options):
            assert check.passed, (item.id, check.name, check.detail)


def test_every_chat_prompt_has_an_answer_or_a_verifiable_constraint() -> None:
    for item in load_set("chat").items:
        constraints = parse_constraints(item.input)
        assert item.answers or constraints, item.id
        if "constraint" in item.tags:
            assert constraints, item.id
        else:
            assert not constraints, (item.id, constraints)


def write(tmp_path: Path, *lines: str) -> Path:
    path = tmp_path / "mine.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


GOOD = json.dumps({"id": "a", "task": "chat", "input": "What is the capital of Peru?", "answers": ["Lima"]})


def test_a_users_set_loads_from_a_path_with_comments_and_blank_lines(tmp_path: Path) -> None:
    translate = json.dumps({"id": "b", "task": "translate", "source": "en", "target": "de", "input": "Thank you.",
                            "reference": "Danke."})
    loaded = load_set(write(tmp_path, "# my set", "", GOOD, translate))
    assert loaded.name == "mine" and [item.id for item in loaded.items] == ["a", "b"]
    assert loaded.items[1].line == 4
    assert loaded.tasks == ("chat", "translate")


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"id": "x", "task": "chat", "input": "hi"', "mine.jsonl line 2: not valid JSON"),
        ('{"id": "x", "task": "poetry", "input": "hi"}', 'mine.jsonl line 2: unknown task "poetry"'),
        ('{"id": "x", "input": "hi"}', 'mine.jsonl line 2: missing field "task"'),
        ('{"task": "chat", "input": "hi"}', 'mine.jsonl line 2: missing field "id"'),
        ('{"id": "x", "task": "chat", "input": "  "}', 'mine.jsonl line 2: field "input" must be a non-empty string'),
        ('{"id": "x", "task": "translate", "source": "en", "target": "de", "input": "hi"}',
         'mine.jsonl line 2: missing field "reference"'),
        ('{"id": "x", "task": "translate", "source": "en", "target": "German", "input": "hi", "reference": "Hallo"}',
         'mine.jsonl line 2: field "target" must be a language code such as "de" (got "German")'),
        ('{"id": "x", "task": "summarize", "input": "t", "length": "haiku"}',
         'mine.jsonl line 2: field "length" must be one of sentence, paragraph, bullets'),
        ('{"id": "x", "task": "summarize", "input": "t", "key_facts": "one fact"}',
         'mine.jsonl line 2: field "key_facts" must be a list of non-empty strings'),
        ('{"id": "x", "task": "chat", "input": "hi", "answer": ["x"]}',
         'mine.jsonl line 2: unknown field "answer" for a chat item'),
        ('{"id": "a", "task": "chat", "input": "hi"}', 'mine.jsonl line 2: id "a" is already used on line 1'),
        ("[1, 2]", "mine.jsonl line 2: each line must be a JSON object"),
    ],
)
def test_a_bad_line_is_reported_with_its_line_number_and_field(tmp_path: Path, line: str, message: str) -> None:
    with pytest.raises(EvalSetError) as raised:
        load_set(write(tmp_path, GOOD, line))
    assert str(raised.value).startswith(message), str(raised.value)


def test_an_unknown_set_name_lists_the_built_in_ones(tmp_path: Path) -> None:
    with pytest.raises(EvalSetError, match="give one of translate, summarize, chat"):
        load_set("translations")


def test_an_empty_file_and_a_file_without_smoke_items_are_errors(tmp_path: Path) -> None:
    with pytest.raises(EvalSetError, match="no items"):
        load_set(write(tmp_path, "# nothing here"))
    with pytest.raises(EvalSetError, match='no item is marked "smoke": true'):
        load_set(write(tmp_path, GOOD), smoke=True)


def test_a_file_that_is_not_utf8_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "latin.jsonl"
    path.write_bytes('{"id": "é"}'.encode("latin-1"))
    with pytest.raises(EvalSetError, match="not UTF-8"):
        load_set(path)


def test_a_summary_in_french_from_a_users_set_is_scored_with_chrf_not_rouge(tmp_path: Path) -> None:
    """The item's language reaches the session's scoring: ROUGE-L keeps only [a-z0-9], so a French summary is
    scored with chrF (and an English one still with ROUGE-L)."""
    from lmscales.core.assess import assess_answer
    from lmscales.core.evaluation import task_input_for

    text = "Le conseil municipal a voté hier un budget de 12 millions d'euros pour rénover les écoles de la ville."
    french = json.dumps({"id": "fr1", "task": "summarize", "language": "fr", "input": text,
                         "reference": "La ville rénove ses écoles avec 12 millions d'euros."})
    english = json.dumps({"id": "en1", "task": "summarize", "input": "The council voted a budget of 12 million.",
                          "reference": "The council voted 12 million."})
    items = load_set(write(tmp_path, french, english)).items
    names = [[score.name for score in assess_answer(task_input_for(item), "Les écoles seront rénovées.")[1]]
             for item in items]
    assert names[0] == ["chrF"] and names[1] == ["ROUGE-L"], names
