"""Context fitting (pure, with a fake token counter: one token per character) and task prompts."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from lmscales.core import tasks
from lmscales.core.context import ContextOverflowError, fit_messages
from lmscales.core.engines.stops import StopFilter
from lmscales.core.events import Message


def count(messages: object) -> int:
    return sum(len(m.content) for m in messages)  # type: ignore[attr-defined]


def conversation(turns: int) -> list[Message]:
    out = [Message("system", "S" * 10)]
    for i in range(turns):
        out += [Message("user", f"u{i}" + "x" * 18), Message("assistant", f"a{i}" + "y" * 18)]
    return [*out, Message("user", "last question")]


def test_fits_untouched_when_it_fits() -> None:
    fitted = fit_messages(conversation(2), count, n_ctx=200, max_new_tokens=50)
    assert fitted.dropped_messages == 0
    assert fitted.prompt_tokens == 10 + 4 * 20 + 13


def test_trims_oldest_turns_in_pairs_keeping_system_and_last_user() -> None:
    messages = conversation(5)  # 10 + 200 + 13 = 223 tokens
    fitted = fit_messages(messages, count, n_ctx=150, max_new_tokens=50)  # budget 100
    kept = fitted.messages
    assert kept[0] == messages[0]
    assert kept[-1] == messages[-1]
    assert fitted.dropped_messages == 8  # four oldest pairs
    assert [m.content[:2] for m in kept[1:-1]] == ["u4", "a4"]
    assert fitted.prompt_tokens <= 100


def test_refuses_single_input_that_cannot_fit() -> None:
    messages = [Message("system", "S"), Message("user", "z" * 500)]
    with pytest.raises(ContextOverflowError) as caught:
        fit_messages(messages, count, n_ctx=300, max_new_tokens=100)
    assert "too long" in str(caught.value)
    assert "501" in str(caught.value) and "200" in str(caught.value)


def test_max_tokens_must_leave_room() -> None:
    with pytest.raises(ContextOverflowError, match="smaller than the context"):
        fit_messages(conversation(0), count, n_ctx=100, max_new_tokens=100)


def test_each_task_sends_its_own_system_message() -> None:
    for messages in (
        tasks.chat_messages([], "hi"),
        tasks.summarize_messages("some text", "bullets"),
        tasks.translate_messages("bonjour", "de", "fr"),
    ):
        assert messages[0].role == "system" and messages[0].content
        assert messages[-1].role == "user"


def test_chat_history_goes_in_order() -> None:
    history = [tasks.ChatTurn("one", "uno"), tasks.ChatTurn("two", "dos")]
    roles = [m.role for m in tasks.chat_messages(history, "three")]
    assert roles == ["system", "user", "assistant", "user", "assistant", "user"]


def test_task_input_errors_are_clear() -> None:
    with pytest.raises(tasks.TaskInputError, match="empty"):
        tasks.summarize_messages("   \n ", "sentence")
    with pytest.raises(tasks.TaskInputError, match="Unknown language code 'xx'"):
        tasks.translate_messages("hello", "xx")
    with pytest.raises(tasks.TaskInputError, match="both French"):
        tasks.translate_messages("bonjour", "fr", "fr")


def test_every_language_the_readme_promises_can_be_asked_for() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    promise = re.search(r"Translate \((\d+) languages", readme)
    assert promise is not None
    assert len(tasks.LANGUAGES) == int(promise.group(1)) == 31
    for code, name in tasks.LANGUAGES.items():
        source = "fr" if code == "en" else "en"
        messages = tasks.translate_messages("Good morning.", code, source)
        assert name in " ".join(m.content for m in messages), code


def test_stop_filter_holds_back_partial_stop_strings() -> None:
    stop = StopFilter(["</end>"])
    assert stop.feed("Hello </") == "Hello "
    assert stop.feed("en") == ""
    assert stop.feed("d> tail") == ""
    assert stop.stopped
    nostop = StopFilter(["###"])
    assert nostop.feed("a#") == "a"
    assert nostop.feed("b") == "#b"
    assert nostop.flush() == ""
