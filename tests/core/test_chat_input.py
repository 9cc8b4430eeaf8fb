"""Chat input as a user types or pipes it: a JSON list of messages is a conversation, checked where it is built
so no engine gets a message it cannot template; anything else, text starting with "[" included, is one plain
turn; text that is not valid Unicode is refused before any side sees it."""

from __future__ import annotations

import pytest

from lmscales.core.events import Message
from lmscales.core.session import build_messages
from lmscales.core.tasks import TaskInputError, parse_conversation, translate_messages
from lmscales.core.trial import TaskInput


def test_a_list_of_messages_is_a_conversation() -> None:
    text = '[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}, ' \
           '{"role": "assistant", "content": "Hello."}, {"role": "user", "content": "Bye"}]'
    assert parse_conversation(text) == (Message("system", "Be brief."), Message("user", "Hi"),
                                        Message("assistant", "Hello."), Message("user", "Bye"))


@pytest.mark.parametrize("text", ["[urgent] call me", "[1, 2, 3] what comes next?", "[1, 2, 3]", '["a", "b"]',
                                  "[" * 100_000, "[" * 100_000 + "]" * 100_000, "plain text"])
def test_text_that_is_not_a_list_of_message_objects_is_one_plain_turn(text: str) -> None:
    assert parse_conversation(text) is None
    assert build_messages(TaskInput("chat", text))[-1] == Message("user", text.strip())


@pytest.mark.parametrize(("text", "expected"), [
    ('[{"role": "user", "content": 123}]',
     "Chat input, message 1 has content 123; the content must be text (a JSON string)."),
    ('[{"role": "user", "content": ["a"]}]',
     'Chat input, message 1 has content ["a"]; the content must be text (a JSON string).'),
    ('[{"role": "user"}]', "Chat input, message 1 has no content; the content must be text (a JSON string)."),
    ('[{"role": "bot", "content": "hi"}]',
     'Chat input, message 1 has role "bot"; use "system", "user" or "assistant".'),
    ('[{"content": "hi"}]', 'Chat input, message 1 has no role; use "system", "user" or "assistant".'),
    ('[{"role": "user", "content": "hi"}, 5]',
     'Chat input, message 2 is not an object: each message is {"role": ..., "content": ...}.'),
    ('[{"role": "user", "content": "hi", "name": "ann"}]',
     'Chat input, message 1 has unknown field "name"; a message has only "role" and "content".'),
    ('[{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]',
     "A chat conversation must end with a user message that is not empty."),
    ('[{"role": "user", "content": "  "}]', "A chat conversation must end with a user message that is not empty."),
])
def test_a_conversation_that_is_not_valid_is_refused_with_what_is_wrong(text: str, expected: str) -> None:
    with pytest.raises(TaskInputError) as caught:
        parse_conversation(text)
    assert str(caught.value) == expected


def test_bytes_that_were_not_utf8_are_refused_before_any_side() -> None:
    broken = "Hi \udcff"  # what a surrogateescape decoder makes of b"Hi \xff"
    with pytest.raises(TaskInputError, match=r"The text to translate is not valid text .*not UTF-8"):
        translate_messages(broken, "fr")
    with pytest.raises(TaskInputError, match="The message is not valid text"):
        build_messages(TaskInput("chat", broken))
    with pytest.raises(TaskInputError, match="The content of message 1 is not valid text"):
        parse_conversation('[{"role": "user", "content": "Hi \\udcff"}]')
