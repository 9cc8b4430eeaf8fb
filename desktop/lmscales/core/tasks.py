"""The three tasks, turned into chat messages both sides receive unchanged.

Each task sends its own system message: SmolLM2's chat template otherwise inserts one of its own
("You are a helpful AI assistant named SmolLM..."), and the two sides must see the same prompt.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, get_args

from lmscales.core.events import Message, Role

TaskName = Literal["chat", "summarize", "translate"]
TASKS: tuple[TaskName, ...] = ("chat", "summarize", "translate")

SummaryLength = Literal["sentence", "paragraph", "bullets"]
SUMMARY_LENGTHS: dict[SummaryLength, str] = {
    "sentence": "in one sentence",
    "paragraph": "in a short paragraph of three to five sentences",
    "bullets": "as three to five short bullet points",
}

# ISO 639-1 code -> English name; "auto" is a source-only choice.
LANGUAGES: dict[str, str] = {
    "ar": "Arabic", "bn": "Bengali", "cs": "Czech", "da": "Danish", "de": "German", "el": "Greek",
    "en": "English", "es": "Spanish", "fa": "Persian", "fi": "Finnish", "fr": "French", "he": "Hebrew",
    "hi": "Hindi", "hu": "Hungarian", "id": "Indonesian", "it": "Italian", "ja": "Japanese",
    "ko": "Korean", "nl": "Dutch", "no": "Norwegian", "pl": "Polish", "pt": "Portuguese",
    "ro": "Romanian", "ru": "Russian", "sv": "Swedish", "sw": "Swahili", "th": "Thai", "tr": "Turkish",
    "uk": "Ukrainian", "vi": "Vietnamese", "zh": "Chinese",
}
AUTO = "auto"

# Longer texts are refused rather than summarized: at ~4 characters a token this is ~50,000 tokens, a dozen
# map steps on the small model's 4,096-token context already take minutes on a laptop CPU.
MAX_SUMMARY_CHARS = 200_000

DEFAULT_SYSTEM_PROMPTS: dict[TaskName, str] = {
    "chat": "You are a helpful, concise assistant.",
    "summarize": "You summarize texts accurately and concisely. You answer with the summary only.",
    "translate": "You are a professional translator. You answer with the translation only.",
}


class TaskInputError(ValueError):
    """Input a task cannot use; the message is for the user."""


@dataclass(frozen=True)
class ChatTurn:
    user: str
    assistant: str


ROLES: tuple[Role, ...] = get_args(Role)


def check_encodable(text: str, what: str) -> None:
    """Text both sides can be sent: bytes that were not UTF-8 can arrive as lone surrogates (standard input
    decoded with surrogateescape), which neither llama.cpp's tokenizer nor an HTTP body can carry."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        raise TaskInputError(f"The {what} is not valid text (character {error.start} is part of bytes that are not "
                             "UTF-8). Save it as UTF-8 and try again.") from None


def _require_text(text: str, what: str) -> str:
    stripped = text.strip()
    if not stripped:
        raise TaskInputError(f"The {what} is empty: type or paste some text first.")
    check_encodable(stripped, what)
    return stripped


def parse_conversation(text: str) -> tuple[Message, ...] | None:
    """A chat input as a whole conversation, or None for a plain one-turn message.

    A JSON list of {"role", "content"} objects is a conversation, checked here so that no engine ever gets a
    message it cannot template ("content": 123 broke llama.cpp's Jinja template and a server's). Anything
    else is a plain message, text that only starts with "[" ("[urgent] call me") included: JSON that is not
    a list of objects is not a conversation either. A list that holds objects but is not a valid conversation
    is refused with what is wrong, since the user clearly meant one."""
    stripped = text.strip()
    if not stripped.startswith("["):
        return None
    try:
        items = json.loads(stripped)
    except (ValueError, RecursionError):  # not JSON, or nested deeper than the parser goes
        return None
    if not isinstance(items, list) or not any(isinstance(item, dict) for item in items):
        return None
    messages = []
    for number, item in enumerate(items, 1):
        where = f"Chat input, message {number}"
        if not isinstance(item, dict):
            raise TaskInputError(f'{where} is not an object: each message is {{"role": ..., "content": ...}}.')
        unknown = sorted(set(item) - {"role", "content"})
        if unknown:
            raise TaskInputError(f'{where} has unknown field "{unknown[0]}"; a message has only "role" and '
                                 '"content".')
        role, content = item.get("role"), item.get("content")
        if role not in ROLES:
            shown = "no role" if role is None else f"role {json.dumps(role)}"
            raise TaskInputError(f'{where} has {shown}; use "system", "user" or "assistant".')
        if not isinstance(content, str):
            shown = "no content" if content is None else f"content {json.dumps(content)[:40]}"
            raise TaskInputError(f"{where} has {shown}; the content must be text (a JSON string).")
        check_encodable(content, f"content of message {number}")
        messages.append(Message(role, content))
    if not messages or messages[-1].role != "user" or not messages[-1].content.strip():
        raise TaskInputError("A chat conversation must end with a user message that is not empty.")
    return tuple(messages)


def chat_messages(
    history: Sequence[ChatTurn], user_text: str, system_prompt: str | None = None
) -> tuple[Message, ...]:
    messages = [Message("system", system_prompt or DEFAULT_SYSTEM_PROMPTS["chat"])]
    for turn in history:
        messages.append(Message("user", turn.user))
        messages.append(Message("assistant", turn.assistant))
    messages.append(Message("user", _require_text(user_text, "message")))
    return tuple(messages)


def summarize_messages(
    text: str, length: SummaryLength = "paragraph", system_prompt: str | None = None
) -> tuple[Message, ...]:
    if length not in SUMMARY_LENGTHS:
        raise TaskInputError(f"Unknown summary length {length!r}; choose one of {', '.join(SUMMARY_LENGTHS)}.")
    body = _require_text(text, "text to summarize")
    if len(body) > MAX_SUMMARY_CHARS:
        raise TaskInputError(
            f"The text is {len(body):,} characters; LM Scales summarizes up to {MAX_SUMMARY_CHARS:,} (about "
            f"{MAX_SUMMARY_CHARS // 4:,} tokens). Summarize a part of it."
        )
    instruction = f"Summarize the following text {SUMMARY_LENGTHS[length]}.\n\n{body}"
    return (
        Message("system", system_prompt or DEFAULT_SYSTEM_PROMPTS["summarize"]),
        Message("user", instruction),
    )


def language_name(code: str) -> str:
    try:
        return LANGUAGES[code]
    except KeyError:
        raise TaskInputError(
            f"Unknown language code {code!r}. Known codes: {', '.join(sorted(LANGUAGES))}."
        ) from None


def translate_messages(
    text: str, target: str, source: str = AUTO, system_prompt: str | None = None
) -> tuple[Message, ...]:
    target_name = language_name(target)
    body = _require_text(text, "text to translate")
    if source == AUTO:
        instruction = f"Translate the following text into {target_name}.\n\n{body}"
    else:
        source_name = language_name(source)
        if source == target:
            raise TaskInputError(f"Source and target are both {source_name}: pick another target language.")
        instruction = f"Translate the following {source_name} text into {target_name}.\n\n{body}"
    return (
        Message("system", system_prompt or DEFAULT_SYSTEM_PROMPTS["translate"]),
        Message("user", instruction),
    )
