"""Fit a conversation into a model's context window without ever sending it blindly.

Chat history is trimmed from the oldest turns (the system message and the newest user message always
stay); a single input that cannot fit even alone is refused with a clear message. The token counter is
passed in, so this is pure and tested without a model.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from lmscales.core.events import Message


class ContextOverflowError(ValueError):
    """The input cannot fit; the message is for the user."""

    def __init__(self, message: str, needed: int, available: int) -> None:
        super().__init__(message)
        self.needed = needed
        self.available = available


@dataclass(frozen=True)
class FittedPrompt:
    messages: tuple[Message, ...]
    prompt_tokens: int
    dropped_messages: int


def fit_messages(
    messages: Sequence[Message],
    count_tokens: Callable[[Sequence[Message]], int],
    n_ctx: int,
    max_new_tokens: int,
) -> FittedPrompt:
    """Drop the oldest non-system turns until the prompt plus `max_new_tokens` fits in `n_ctx`.

    Turns are dropped a user/assistant pair at a time so the conversation keeps its shape.
    """
    if max_new_tokens >= n_ctx:
        raise ContextOverflowError(
            f"Max tokens ({max_new_tokens}) must be smaller than the context size ({n_ctx}).",
            max_new_tokens,
            n_ctx,
        )
    budget = n_ctx - max_new_tokens
    system = [m for m in messages[:1] if m.role == "system"]
    rest = list(messages[len(system):])
    dropped = 0
    while True:
        candidate = tuple(system + rest)
        needed = count_tokens(candidate)
        if needed <= budget:
            return FittedPrompt(candidate, needed, dropped)
        if len(rest) <= 1:
            raise ContextOverflowError(
                f"The input is too long for this model: it needs {needed:,} tokens but only {budget:,} fit "
                f"(context {n_ctx:,} minus {max_new_tokens:,} reserved for the answer). "
                "Shorten the text, lower max tokens, or raise the context size.",
                needed,
                budget,
            )
        step = 2 if len(rest) > 2 and rest[0].role == "user" and rest[1].role == "assistant" else 1
        del rest[:step]
        dropped += step
