"""Split an over-long text so a small context can still summarize it (map-reduce).

`split_text` cuts a text into chunks that each fit a token budget, at the coarsest boundary that
works: paragraphs (blank lines), then sentences, then lines, then words, and hard character cuts
only for a "word" too long to fit on its own. Every chunk is an exact slice of the input, so
nothing is lost or reordered; only the whitespace between chunks is dropped.

`plan_map_reduce` turns a text into a `SummaryPlan`: either one ordinary summarize prompt, or one
"map" prompt per chunk asking for short bullet points. `reduce_step` takes the partial summaries
and returns the final "combine these into one summary" prompt, or, when the partials are still
too long for one prompt, the plan of another round that condenses them in groups.

The token counter is passed in (str -> int), so all of this is pure and tested without a model.
A prompt's size is the sum of its messages' contents as that counter counts them; the caller
leaves room for the chat template and the answer when it chooses the budget.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from lmscales.core.events import Message
from lmscales.core.tasks import (
    DEFAULT_SYSTEM_PROMPTS,
    SUMMARY_LENGTHS,
    SummaryLength,
    TaskInputError,
    summarize_messages,
)

TokenCounter = Callable[[str], int]

# Each pattern's one matching group is the gap *between* two pieces, so a piece keeps its own
# punctuation and a chunk is always an exact slice of the input. Coarsest first.
_PARAGRAPH = re.compile(r"([^\S\n]*\n[^\S\n]*\n\s*)")
_SENTENCE = re.compile(r"[.!?…]+[\"'”’»)\]]*(\s+)|[。！？]+[\"'”’」』）]*(\s*)")
_LINE = re.compile(r"([^\S\n]*\n\s*)")
_WORD = re.compile(r"(\s+)")
_LEVELS = (_PARAGRAPH, _SENTENCE, _LINE, _WORD)

_MAP_INSTRUCTION = (
    "This is part {index} of {count} of a longer text. Summarize this part as a few short bullet points, "
    "keeping names, numbers and conclusions."
)
_CONDENSE_INSTRUCTION = (
    "These are bullet-point summaries of consecutive parts of a longer text (group {index} of {count}). "
    "Merge them into a few short bullet points, keeping names, numbers and conclusions."
)
_REDUCE_INSTRUCTION = (
    "These are summaries of the consecutive parts of a longer text, in order. "
    "Combine them into one summary of the whole text {length}."
)
# Sizes the instructions for any realistic number of parts before the parts are known.
_PLACEHOLDER_COUNT = 9999
DEFAULT_MAX_ROUNDS = 4


class ChunkingError(TaskInputError):
    """A text or a set of partial summaries that cannot be made to fit; the message is for the user."""


@dataclass(frozen=True)
class _Piece:
    text: str
    gap: str  # the whitespace that followed it in the input ("" for the last piece)
    tokens: int  # as counted alone, minus the counter's per-call overhead


def _pieces(text: str, pattern: re.Pattern[str]) -> list[tuple[str, str]]:
    """(piece, gap after it) pairs at every boundary `pattern` finds."""
    out: list[tuple[str, str]] = []
    start = 0
    for match in pattern.finditer(text):
        group = match.lastindex
        if group is None:
            continue
        begin, end = match.span(group)
        if begin <= start or end >= len(text):
            continue  # a boundary at either edge would make an empty piece
        out.append((text[start:begin], text[begin:end]))
        start = end
    out.append((text[start:], ""))
    return out


def _join(run: Sequence[_Piece]) -> str:
    return "".join(piece.text + piece.gap for piece in run[:-1]) + run[-1].text


class _Splitter:
    def __init__(self, count_tokens: TokenCounter, max_tokens: int) -> None:
        self._count = count_tokens
        self._max = max_tokens
        # What the counter charges for nothing (a BOS token, say), so pieces can be summed.
        self._overhead = count_tokens("")
        self._gap_tokens: dict[str, int] = {}

    def fits(self, text: str) -> bool:
        return self._count(text) <= self._max

    def split(self, text: str) -> list[str]:
        stripped = text.strip()
        if not stripped:
            return []
        if self.fits(stripped):
            return [stripped]
        return self._split_oversized(stripped, 0)

    def _split_oversized(self, text: str, level: int) -> list[str]:
        if level >= len(_LEVELS):
            return self._hard_cut(text)
        pairs = _pieces(text, _LEVELS[level])
        if len(pairs) == 1:
            return self._split_oversized(text, level + 1)
        chunks: list[str] = []
        run: list[_Piece] = []
        for piece, gap in pairs:
            tokens = self._count(piece)
            if tokens > self._max:
                # An oversized piece stands alone, cut at the next finer boundary.
                chunks.extend(self._pack(run))
                run = []
                chunks.extend(self._split_oversized(piece, level + 1))
            else:
                run.append(_Piece(piece, gap, tokens - self._overhead))
        chunks.extend(self._pack(run))
        return chunks

    def _gap_cost(self, gap: str) -> int:
        if gap not in self._gap_tokens:
            self._gap_tokens[gap] = max(0, self._count(gap) - self._overhead)
        return self._gap_tokens[gap]

    def _pack(self, run: Sequence[_Piece]) -> list[str]:
        """Greedy packing: estimate by summing piece counts (one count per piece, not per candidate,
        which matters when the counter is a real tokenizer), then confirm each chunk with a real count
        and back off by binary search where the sum was optimistic."""
        chunks: list[str] = []
        start = 0
        while start < len(run):
            estimate = self._overhead + run[start].tokens
            end = start + 1
            while end < len(run):
                extra = self._gap_cost(run[end - 1].gap) + run[end].tokens
                if estimate + extra > self._max:
                    break
                estimate += extra
                end += 1
            if end - start > 1 and not self.fits(_join(run[start:end])):
                low, high = start + 1, end - 1  # a single piece is known to fit
                while low < high:
                    middle = (low + high + 1) // 2
                    if self.fits(_join(run[start:middle])):
                        low = middle
                    else:
                        high = middle - 1
                end = low
            chunks.append(_join(run[start:end]))
            start = end
        return chunks

    def _hard_cut(self, text: str) -> list[str]:
        """Longest prefixes that fit, found by galloping then binary search (few counts per chunk)."""
        chunks: list[str] = []
        start = 0
        while start < len(text):
            good = start
            bad: int | None = None
            step = max(1, self._max)
            while True:
                probe = min(len(text), start + step)
                if not self.fits(text[start:probe]):
                    bad = probe
                    break
                good = probe
                if probe == len(text):
                    break
                step *= 2
            if bad is not None:
                low, high = good, bad - 1
                while low < high:
                    middle = (low + high + 1) // 2
                    if self.fits(text[start:middle]):
                        low = middle
                    else:
                        high = middle - 1
                good = low
            if good == start:
                raise ChunkingError(
                    f"A limit of {self._max} tokens per chunk cannot hold even one character of this text."
                )
            chunks.append(text[start:good])
            start = good
        return chunks


def split_text(text: str, count_tokens: TokenCounter, max_tokens: int) -> list[str]:
    """Chunks of `text`, in order, each with `count_tokens(chunk) <= max_tokens`.

    Cuts at paragraphs, then sentences, lines and words, packing neighbours greedily; a word longer
    than the limit is cut between characters. Each chunk is an exact slice of the stripped input;
    blank input gives no chunks. Deterministic.
    """
    if max_tokens < 1:
        raise ValueError("max_tokens must be at least 1")
    return _Splitter(count_tokens, max_tokens).split(text)


def prompt_tokens(messages: Sequence[Message], count_tokens: TokenCounter) -> int:
    """A prompt's size as the planner counts it: the sum of its messages' contents."""
    return sum(count_tokens(message.content) for message in messages)


@dataclass(frozen=True)
class SummaryPlan:
    """How one summary is produced within `budget` tokens a prompt.

    Without a map step (`needs_map` false) `final_messages()` is the one request to send. Otherwise
    send `map_messages(i)` for every chunk, then pass the answers to `reduce_step`. Round 1 maps the
    source text; later rounds condense partial summaries that were too long to combine at once.
    """

    chunks: tuple[str, ...]
    budget: int
    length: SummaryLength = "paragraph"
    system_prompt: str | None = None
    round_number: int = 1

    @property
    def needs_map(self) -> bool:
        return len(self.chunks) > 1

    def map_messages(self, index: int) -> tuple[Message, ...]:
        """The request for chunk `index` (0-based): short bullet points of that part alone."""
        if not 0 <= index < len(self.chunks):
            raise IndexError(f"chunk {index} does not exist; this plan has {len(self.chunks)}")
        return _map_messages(self.round_number, index + 1, len(self.chunks), self.chunks[index], self.system_prompt)

    def final_messages(self) -> tuple[Message, ...]:
        """The one request that gives the summary at the requested length (only without a map step)."""
        if self.needs_map:
            raise ValueError("this plan has a map step: send map_messages(i) for each chunk, then reduce_step")
        if self.round_number == 1:
            return summarize_messages(self.chunks[0], self.length, self.system_prompt)
        return _combine_messages(self.chunks[0], self.length, self.system_prompt)

    def largest_prompt(self, count_tokens: TokenCounter) -> int:
        if not self.needs_map:
            return prompt_tokens(self.final_messages(), count_tokens)
        return max(prompt_tokens(self.map_messages(i), count_tokens) for i in range(len(self.chunks)))


def _system_message(system_prompt: str | None) -> Message:
    return Message("system", system_prompt or DEFAULT_SYSTEM_PROMPTS["summarize"])


def _map_messages(
    round_number: int, number: int, count: int, chunk: str, system_prompt: str | None
) -> tuple[Message, ...]:
    template = _MAP_INSTRUCTION if round_number == 1 else _CONDENSE_INSTRUCTION
    instruction = template.format(index=number, count=count)
    return (_system_message(system_prompt), Message("user", f"{instruction}\n\n{chunk}"))


def _combine_messages(body: str, length: SummaryLength, system_prompt: str | None) -> tuple[Message, ...]:
    instruction = _REDUCE_INSTRUCTION.format(length=SUMMARY_LENGTHS[length])
    return (_system_message(system_prompt), Message("user", f"{instruction}\n\n{body}"))


def reduce_messages(
    partials: Sequence[str], length: SummaryLength = "paragraph", system_prompt: str | None = None
) -> tuple[Message, ...]:
    """The request that combines partial summaries, in order, into one summary of `length`."""
    if length not in SUMMARY_LENGTHS:
        raise TaskInputError(f"Unknown summary length {length!r}; choose one of {', '.join(SUMMARY_LENGTHS)}.")
    body = "\n\n".join(part.strip() for part in partials if part.strip())
    if not body:
        raise TaskInputError("The partial summaries are all empty: there is nothing to combine.")
    return _combine_messages(body, length, system_prompt)


def _plan(
    text: str,
    count_tokens: TokenCounter,
    budget: int,
    length: SummaryLength,
    system_prompt: str | None,
    round_number: int,
) -> SummaryPlan:
    whole = SummaryPlan((text,), budget, length, system_prompt, round_number)
    if whole.largest_prompt(count_tokens) <= budget:
        return whole
    frame = _map_messages(round_number, _PLACEHOLDER_COUNT, _PLACEHOLDER_COUNT, "", system_prompt)
    overhead = prompt_tokens(frame, count_tokens)
    limit = budget - overhead
    # Counts need not add up exactly (tokenizers merge across boundaries), so check the real prompts
    # and shrink the chunks by the excess until every one fits.
    while limit >= 1:
        plan = SummaryPlan(tuple(split_text(text, count_tokens, limit)), budget, length, system_prompt, round_number)
        excess = plan.largest_prompt(count_tokens) - budget
        if excess <= 0:
            return plan
        limit -= excess
    raise ChunkingError(
        f"A prompt budget of {budget:,} tokens leaves no room for text after the instructions "
        f"({overhead:,} tokens). Raise the context size or lower max tokens."
    )


def plan_map_reduce(
    text: str,
    count_tokens: TokenCounter,
    budget: int,
    length: SummaryLength = "paragraph",
    system_prompt: str | None = None,
) -> SummaryPlan:
    """Plan the summary of `text` so that no prompt exceeds `budget` tokens (as `count_tokens` counts).

    A text that fits gives a one-chunk plan whose `final_messages()` equal `tasks.summarize_messages`.
    """
    summarize_messages(text, length, system_prompt)  # the same checks as a plain summary: empty text, length
    if budget < 1:
        raise ValueError("budget must be at least 1")
    return _plan(text.strip(), count_tokens, budget, length, system_prompt, 1)


def reduce_step(
    plan: SummaryPlan,
    partials: Sequence[str],
    count_tokens: TokenCounter,
    max_rounds: int = DEFAULT_MAX_ROUNDS,
) -> tuple[Message, ...] | SummaryPlan:
    """After the map step of `plan`: the final combine request, or the plan of another round.

    `partials` are the answers to `plan.map_messages(i)`, in order. If combining them all at once
    would exceed the budget, they are grouped into a new plan (round + 1) whose map step condenses
    each group; run that plan's map step and call `reduce_step` again with its answers.
    """
    if not plan.needs_map:
        raise ValueError("this plan has no map step: send plan.final_messages() instead")
    if len(partials) != len(plan.chunks):
        raise ValueError(f"expected {len(plan.chunks)} partial summaries, got {len(partials)}")
    kept = [part.strip() for part in partials if part.strip()]
    if not kept:
        raise TaskInputError("The partial summaries are all empty: there is nothing to combine.")
    next_plan = _plan(
        "\n\n".join(kept), count_tokens, plan.budget, plan.length, plan.system_prompt, plan.round_number + 1
    )
    if not next_plan.needs_map:
        return next_plan.final_messages()
    if sum(map(count_tokens, kept)) >= sum(map(count_tokens, plan.chunks)):
        raise ChunkingError(
            "The partial summaries are as long as the parts they summarize, so another round would not help. "
            "Lower max tokens for the partial summaries or raise the context size."
        )
    if next_plan.round_number > max_rounds:
        raise ChunkingError(
            f"The partial summaries still do not fit after {max_rounds} rounds. "
            "Lower max tokens for the partial summaries or raise the context size."
        )
    return next_plan
