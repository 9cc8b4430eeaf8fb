"""Splitting over-long text and planning map-reduce summaries, with fake token counters."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from lmscales.core import tasks
from lmscales.core.chunking import (
    ChunkingError,
    SummaryPlan,
    plan_map_reduce,
    prompt_tokens,
    reduce_messages,
    reduce_step,
    split_text,
)


def words(text: str) -> int:
    return len(text.split())


def quarter_chars(text: str) -> int:
    return len(text) // 4


def words_with_bos(text: str) -> int:
    return len(text.split()) + 1  # like a tokenizer that adds a BOS token to every call


def sentence(paragraph: int, index: int) -> str:
    return f"Paragraph {paragraph} sentence {index} says something about topic {paragraph * 7 + index}."


def document(paragraphs: int, sentences: int) -> str:
    return "\n\n".join(
        " ".join(sentence(p, s) for s in range(sentences)) for p in range(paragraphs)
    )


def assert_exact_slices(text: str, chunks: list[str]) -> None:
    """Every chunk is a slice of the text, in order, with only whitespace between them."""
    position = 0
    for chunk in chunks:
        found = text.find(chunk, position)
        assert found >= 0, f"chunk not found in order: {chunk[:40]!r}"
        assert text[position:found].strip() == "", "text was skipped between chunks"
        position = found + len(chunk)
    assert text[position:].strip() == ""


def test_short_text_is_one_chunk() -> None:
    assert split_text("  Just a short text.\n", words, 50) == ["Just a short text."]
    assert split_text(" \n\n ", words, 50) == []


def test_max_tokens_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        split_text("text", words, 0)


@pytest.mark.parametrize("count", [words, quarter_chars, words_with_bos])
def test_long_text_gives_chunks_within_budget_with_every_word_in_order(count: Callable[[str], int]) -> None:
    text = document(paragraphs=12, sentences=9)
    chunks = split_text(text, count, 60)
    assert len(chunks) > 3
    assert all(count(chunk) <= 60 for chunk in chunks)
    assert " ".join(chunks).split() == text.split()
    assert_exact_slices(text, chunks)
    assert split_text(text, count, 60) == chunks  # deterministic


def test_each_piece_is_counted_about_once_not_once_per_candidate() -> None:
    # A real tokenizer's cost grows with the text it reads; re-counting every growing candidate
    # chunk would read a long document hundreds of times over.
    text = document(paragraphs=200, sentences=10)
    characters_read = 0

    def counting(piece: str) -> int:
        nonlocal characters_read
        characters_read += len(piece)
        return words(piece)

    chunks = split_text(text, counting, 500)
    assert len(chunks) > 30
    assert characters_read < 3 * len(text)


def test_paragraphs_that_fit_stay_together() -> None:
    paragraphs = [" ".join(sentence(p, s) for s in range(3)) for p in range(5)]  # 30 words each
    text = "\n\n".join(paragraphs)
    chunks = split_text(text, words, 70)
    assert chunks == [
        f"{paragraphs[0]}\n\n{paragraphs[1]}",
        f"{paragraphs[2]}\n\n{paragraphs[3]}",
        paragraphs[4],
    ]


def test_long_paragraph_is_cut_between_sentences() -> None:
    text = " ".join(sentence(0, s) for s in range(20))  # one paragraph, 200 words
    chunks = split_text(text, words, 35)
    assert len(chunks) == 7
    assert all(chunk.endswith(".") and words(chunk) <= 35 for chunk in chunks)
    assert_exact_slices(text, chunks)


def test_lines_without_punctuation_are_cut_between_lines() -> None:
    text = "\n".join(f"- item {i} of a shopping list" for i in range(30))  # 7 words a line
    chunks = split_text(text, words, 30)
    assert all(chunk.startswith("- item") and chunk.endswith("list") for chunk in chunks)
    assert all(words(chunk) <= 30 for chunk in chunks)
    assert_exact_slices(text, chunks)


def test_a_sentence_too_long_is_cut_between_words() -> None:
    text = " ".join(f"w{i}" for i in range(100))
    chunks = split_text(text, words, 30)
    assert [words(chunk) for chunk in chunks] == [30, 30, 30, 10]
    assert " ".join(chunks) == text


def test_one_enormous_word_is_hard_cut() -> None:
    blob = "".join(chr(ord("a") + i % 26) for i in range(10_000))
    text = f"Before the blob.\n\n{blob}\n\nAfter the blob."
    chunks = split_text(text, quarter_chars, 100)
    assert all(quarter_chars(chunk) <= 100 for chunk in chunks)
    assert chunks[0] == "Before the blob." and chunks[-1] == "After the blob."
    assert "".join(chunks[1:-1]) == blob
    assert len(chunks[1]) == 403  # the longest prefix that still counts as 100
    assert_exact_slices(text, chunks)


def test_a_limit_too_small_for_one_character_is_refused() -> None:
    with pytest.raises(ChunkingError, match="even one character"):
        split_text("x" * 10, lambda text: len(text) + 1, 1)


def test_cjk_sentences_without_spaces_are_cut_after_full_stops() -> None:
    text = "".join(f"这是第{i}句话。" for i in range(40))
    chunks = split_text(text, len, 50)
    assert all(len(chunk) <= 50 and chunk.endswith("。") for chunk in chunks)
    assert "".join(chunks) == text


# ---- map-reduce plans ----


def test_short_text_needs_no_map_step() -> None:
    plan = plan_map_reduce("A short text to summarize.", words, budget=200, length="sentence")
    assert not plan.needs_map
    assert plan.chunks == ("A short text to summarize.",)
    assert plan.final_messages() == tasks.summarize_messages("A short text to summarize.", "sentence")
    with pytest.raises(ValueError, match="no map step"):
        reduce_step(plan, ["x"], words)


def test_empty_text_is_refused_like_a_plain_summary() -> None:
    with pytest.raises(tasks.TaskInputError, match="empty"):
        plan_map_reduce("   ", words, budget=200)


def test_long_text_is_mapped_in_parts_that_each_fit() -> None:
    text = document(paragraphs=10, sentences=8)  # 800 words
    plan = plan_map_reduce(text, words, budget=150, length="bullets")
    count = len(plan.chunks)
    assert plan.needs_map and count > 5
    assert_exact_slices(text, list(plan.chunks))
    for index in range(count):
        messages = plan.map_messages(index)
        assert prompt_tokens(messages, words) <= 150
        assert messages[0] == tasks.summarize_messages("x")[0]  # the summarize task's system message
        assert f"part {index + 1} of {count}" in messages[1].content
        assert "bullet points" in messages[1].content
        assert messages[1].content.endswith(plan.chunks[index])
    with pytest.raises(ValueError, match="map step"):
        plan.final_messages()


def test_budget_counts_the_whole_prompt_even_with_a_rounding_counter() -> None:
    text = document(paragraphs=6, sentences=8)
    plan = plan_map_reduce(text, quarter_chars, budget=180)
    assert plan.needs_map
    assert plan.largest_prompt(quarter_chars) <= 180


def test_final_reduce_keeps_the_requested_length_and_every_partial_in_order() -> None:
    plan = plan_map_reduce(document(paragraphs=10, sentences=8), words, budget=150, length="sentence")
    partials = [f"- point {i}" for i in range(len(plan.chunks))]
    final = reduce_step(plan, partials, words)
    assert isinstance(final, tuple)
    assert final == reduce_messages(partials, "sentence")
    body = final[1].content
    assert tasks.SUMMARY_LENGTHS["sentence"] in body
    assert [body.index(p) for p in partials] == sorted(body.index(p) for p in partials)
    assert prompt_tokens(final, words) <= 150


def test_partials_too_long_to_combine_are_reduced_again() -> None:
    plan = plan_map_reduce(document(paragraphs=20, sentences=8), words, budget=150)  # 1,600 words
    partials = [f"- part {i} " + "detail " * 30 for i in range(len(plan.chunks))]  # ~33 words each
    again = reduce_step(plan, partials, words)
    assert isinstance(again, SummaryPlan)
    assert again.round_number == 2 and again.needs_map
    assert again.length == plan.length and again.budget == plan.budget
    assert len(again.chunks) < len(plan.chunks)
    assert " ".join(again.chunks).split() == " ".join(partials).split()
    for index in range(len(again.chunks)):
        messages = again.map_messages(index)
        assert prompt_tokens(messages, words) <= 150
        assert "Merge them" in messages[1].content
    final = reduce_step(again, ["- short"] * len(again.chunks), words)
    assert isinstance(final, tuple)
    assert tasks.SUMMARY_LENGTHS["paragraph"] in final[1].content


def test_partials_that_do_not_shrink_are_refused() -> None:
    plan = plan_map_reduce(document(paragraphs=10, sentences=8), words, budget=150)
    with pytest.raises(ChunkingError, match="as long as the parts"):
        reduce_step(plan, list(plan.chunks), words)


def test_rounds_are_limited() -> None:
    plan = plan_map_reduce(document(paragraphs=20, sentences=8), words, budget=150)
    partials = ["detail " * 30] * len(plan.chunks)
    with pytest.raises(ChunkingError, match="after 1 rounds"):
        reduce_step(plan, partials, words, max_rounds=1)


def test_partial_count_must_match_the_plan() -> None:
    plan = plan_map_reduce(document(paragraphs=10, sentences=8), words, budget=150)
    with pytest.raises(ValueError, match="partial summaries"):
        reduce_step(plan, ["- one"], words)
    with pytest.raises(tasks.TaskInputError, match="empty"):
        reduce_step(plan, [" "] * len(plan.chunks), words)


def test_a_budget_smaller_than_the_instructions_is_refused() -> None:
    with pytest.raises(ChunkingError, match="no room for text"):
        plan_map_reduce(document(paragraphs=3, sentences=3), words, budget=20)
