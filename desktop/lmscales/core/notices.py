"""The notices a run gives on the way, made in one place: each has a kind and its facts, and a sentence.

Engines call these instead of writing sentences of their own, so every notice of a kind carries the same fields
(host, retry, part of n, ...) and code downstream (the finished side's note, the presenter, a test) reads
those, never the words. The wording is here, once, for people; change it and nothing else needs to follow.
"""

from __future__ import annotations

import time

from lmscales.core.events import Notice

# The sentences, by kind; `str.format` fields are the notice's own.
RATE_LIMITED = "Rate limited by {host} (429): retry {attempt} of {attempts} in {retry_after:g} s."
MAP_REDUCE_PART = "Text longer than the context: summarizing part {part} of {parts}{round_note}…"
MAP_REDUCE_ROUND = " (round {round})"
MAP_REDUCE_COMBINE = "Combining the {parts} partial summaries…"
PARAMETER_DROPPED = "{model} at {host} does not take '{parameter}': it ran without it."
PARAMETER_RENAMED = "{model} at {host} does not take '{parameter}': it takes '{replacement}' instead."
CLOSED_AFTER_ANSWER = "{host} closed the connection after the answer was complete; nothing was lost."
STOPPED_BEFORE_START = "Stopped before it started."


def rate_limited(host: str, attempt: int, attempts: int, retry_after: float) -> Notice:
    return Notice(RATE_LIMITED.format(host=host, attempt=attempt, attempts=attempts, retry_after=retry_after),
                  time.perf_counter(), "rate_limited", host=host, attempt=attempt, attempts=attempts,
                  retry_after=retry_after)


def map_reduce_part(part: int, parts: int, round_number: int = 1) -> Notice:
    round_note = MAP_REDUCE_ROUND.format(round=round_number) if round_number > 1 else ""
    return Notice(MAP_REDUCE_PART.format(part=part, parts=parts, round_note=round_note), time.perf_counter(),
                  "map_reduce_part", part=part, parts=parts, round=round_number)


def map_reduce_combine(parts: int) -> Notice:
    return Notice(MAP_REDUCE_COMBINE.format(parts=parts), time.perf_counter(), "map_reduce_combine", parts=parts)


def parameter_refused(model: str, host: str, parameter: str, replacement: str | None) -> Notice:
    """The model refused `parameter`: renamed to `replacement`, or left out when that is None."""
    if replacement is not None:
        return Notice(PARAMETER_RENAMED.format(model=model, host=host, parameter=parameter, replacement=replacement),
                      time.perf_counter(), "parameter_renamed", host=host, model=model, parameter=parameter,
                      replacement=replacement)
    return Notice(PARAMETER_DROPPED.format(model=model, host=host, parameter=parameter), time.perf_counter(),
                  "parameter_dropped", host=host, model=model, parameter=parameter)


def closed_after_answer(host: str) -> Notice:
    return Notice(CLOSED_AFTER_ANSWER.format(host=host), time.perf_counter(), "closed_after_answer", host=host)


def stopped_before_start() -> Notice:
    return Notice(STOPPED_BEFORE_START, time.perf_counter(), "stopped_before_start")
