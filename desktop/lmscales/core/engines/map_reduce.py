"""Summaries of texts longer than a side's context: map each chunk to short notes, reduce them to one.

`summarize(engine, ...)` yields the same events as a plain generation, so a bridge or the CLI runs it
unchanged: progress as `Notice`s during the map step, then the final summary streamed as `TextDelta`s, and
one `Finished` whose `submitted_at` is the start of the whole job (its TTFT includes the map step) and whose
`chunks` says how many parts the text was cut into.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterator

from lmscales.core import chunking, notices
from lmscales.core.engines.base import Engine
from lmscales.core.events import EngineError, Event, Finished, GenerationRequest, Message, Sent, TextDelta
from lmscales.core.tasks import SummaryLength

# Chat-template tokens per message (role markers, separators): kept free in the budget.
TEMPLATE_TOKENS_PER_MESSAGE = 8
MIN_MAP_TOKENS = 48


def estimate_tokens_safely(text: str) -> int:
    """A tokenizer-free count that errs high (English runs about 4 characters a token): a third of the
    characters or of the UTF-8 bytes, whichever is more. The local engine still counts exactly and refuses
    a prompt that does not fit, so an estimate that is off costs a clear message, never a truncated prompt."""
    return max(len(text), len(text.encode("utf-8"))) // 3 + 1


def prompt_budget(context_tokens: int, max_tokens: int) -> int:
    return context_tokens - max_tokens - 2 * TEMPLATE_TOKENS_PER_MESSAGE


def summarize(
    engine: Engine,
    text: str,
    length: SummaryLength,
    system_prompt: str | None,
    base: GenerationRequest,
    context_tokens: int,
    stop_requested: Callable[[], bool] = lambda: False,
) -> Iterator[Event]:
    """Summarize `text` within `context_tokens`, map-reduce when it does not fit in one prompt.

    `stop_requested` is asked between steps, so a Stop that falls between two parts is not lost."""
    submitted_at = time.perf_counter()
    count = estimate_tokens_safely
    try:
        plan = chunking.plan_map_reduce(text, count, prompt_budget(context_tokens, base.max_tokens), length,
                                        system_prompt)
    except chunking.ChunkingError as error:
        yield EngineError("input_too_long", str(error))
        return
    chunks = len(plan.chunks)
    final: tuple[Message, ...] | None = None if plan.needs_map else plan.final_messages()
    while final is None:
        map_tokens = max(MIN_MAP_TOKENS, min(base.max_tokens, plan.budget // (len(plan.chunks) + 1)))
        partials: list[str] = []
        for index in range(len(plan.chunks)):
            if stop_requested():
                yield Finished(0, "measured", 0, "measured", submitted_at, (), "cancelled", chunks=chunks)
                return
            yield notices.map_reduce_part(index + 1, len(plan.chunks), plan.round_number)
            if stop_requested():  # a Stop in answer to that notice: the part is not even started
                yield Finished(0, "measured", 0, "measured", submitted_at, (), "cancelled", chunks=chunks)
                return
            request = dataclasses.replace(base, messages=plan.map_messages(index), max_tokens=map_tokens)
            pieces: list[str] = []
            for event in engine.generate(request):
                if isinstance(event, TextDelta):
                    if event.kind == "answer":  # a part's thinking is no part of its summary
                        pieces.append(event.text)
                elif isinstance(event, Sent):  # each part's request left this computer too
                    yield event
                elif isinstance(event, EngineError):
                    yield EngineError(event.kind, f"Part {index + 1} of {len(plan.chunks)}: {event.message}")
                    return
                elif isinstance(event, Finished) and event.stop_reason == "cancelled":
                    yield dataclasses.replace(event, submitted_at=submitted_at, deltas=(), chunks=chunks)
                    return
            partials.append("".join(pieces))
        try:
            step = chunking.reduce_step(plan, partials, count)
        except chunking.ChunkingError as error:
            yield EngineError("input_too_long", str(error))
            return
        if isinstance(step, chunking.SummaryPlan):
            plan = step
        else:
            final = step
    if chunks > 1:
        if stop_requested():
            yield Finished(0, "measured", 0, "measured", submitted_at, (), "cancelled", chunks=chunks)
            return
        yield notices.map_reduce_combine(chunks)
        if stop_requested():
            yield Finished(0, "measured", 0, "measured", submitted_at, (), "cancelled", chunks=chunks)
            return
    for event in engine.generate(dataclasses.replace(base, messages=final)):
        if isinstance(event, Finished):
            yield dataclasses.replace(event, submitted_at=submitted_at, chunks=chunks)
        else:
            yield event
