"""The three tasks, turned into chat messages both sides receive unchanged.

Each task sends its own system message: SmolLM2's chat template otherwise inserts one of its own
("You are a helpful AI assistant named SmolLM..."), and the two sides must see the same prompt.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from lmscales.core.events import Message

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


def _require_text(text: str, what: str) -> str:
    stripped = text.strip()
    if not stripped:
        raise TaskInputError(f"The {what} is empty: type or paste some text first.")
    return stripped


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
