"""What a finished side's status line and metrics tooltip say, in words, from its `SideResult`: how it ended,
what it adapted to on the way (read from each notice's kind and fields, never its wording), where the price came
from, and what the local engine's prompt cache did. No widgets here: the side pane and its tests call these."""

from __future__ import annotations

from collections.abc import Sequence

from lmscales.core import metrics
from lmscales.core.engines.local_worker import NO_CHAT_TEMPLATE_NOTE
from lmscales.core.events import Notice
from lmscales.core.trial import SideResult

STOP_NOTES = {"stop": "Done.", "length": "Reached max tokens.", "cancelled": "Stopped."}


def prompt_cache_note(result: SideResult) -> str:
    """For the TTFT tooltip: how much of the prompt was not evaluated again (a chat's earlier turns kept in the
    KV cache), and the threads the run used."""
    finished = result.finished
    if finished is None or result.engine is None or result.engine.model_runs != "this_cpu":
        return ""
    parts = []
    if finished.cached_prompt_tokens:
        evaluated = finished.prompt_tokens - finished.cached_prompt_tokens
        parts.append(f"{finished.cached_prompt_tokens:,} of the {finished.prompt_tokens:,} prompt tokens came from the "
                     f"cache (the conversation so far); {evaluated:,} were evaluated.")
    elif finished.prompt_tokens:
        parts.append(f"All {finished.prompt_tokens:,} prompt tokens were evaluated (nothing from the cache).")
    if finished.threads:
        parts.append(f"Threads this run: {finished.threads}.")
    return " ".join(parts)


def lasting_notices(notices: Sequence[Notice], ignored: Sequence[str]) -> str:
    """What the run adapted to on the way and is still true when it has ended (a renamed token limit, a reset
    after the last chunk, retries after a 429, said once in the past tense). Progress ("summarizing part 2 of
    4…") is left out, and so is an ignored parameter, which the note says already. Read from each notice's
    kind and fields, never from its wording."""
    kept: list[str] = []
    retries: dict[str, int] = {}
    for notice in notices:
        if notice.kind == "rate_limited":
            host = notice.host or "the server"
            retries[host] = retries.get(host, 0) + 1
        elif notice.progress or (notice.kind in ("parameter_dropped", "parameter_renamed")
                                 and notice.parameter in ignored):
            continue
        else:
            kept.append(notice.message)
    kept += [f"Rate limited by {host} (429): answered after {count} {'retry' if count == 1 else 'retries'}."
             for host, count in retries.items()]
    return "".join(f" {notice}" for notice in kept)


def result_note(result: SideResult) -> str:
    """The status line under a finished side: how it ended, where the price came from, what was adapted."""
    finished = result.finished
    if finished is None:
        return ""
    if finished.stop_reason == "cancelled" and not finished.deltas and result.notices:
        return result.notices[-1].message
    note = STOP_NOTES[finished.stop_reason]
    for parameter in finished.ignored_parameters:
        note += (f" This model ignores {parameter}: it ran at its default, so the two sides are not matched on "
                 f"{parameter}.")
    note += lasting_notices(result.notices, finished.ignored_parameters)
    cost = result.cost
    if cost is not None and cost.on_this_computer:
        note += " Served on this computer: no money is paid; the energy the machine spent is shown instead."
    elif cost is not None:
        note += f" Price: {cost.price.describe()}." if cost.price else " No price known for this model."
    rate = metrics.compute(finished).decode_rate
    if rate.value is None and rate.reason and finished.deltas:
        note += f" No decode rate: {rate.reason}."
    if finished.trimmed_messages:
        note += f" {finished.trimmed_messages} old messages were left out to fit the context."
    if finished.chunks > 1:
        note += f" The text was longer than the context: summarized in {finished.chunks} chunks (map-reduce)."
    if result.recorded:
        note += " Replayed from a recording."
    if result.without_chat_template:
        note += f" {NO_CHAT_TEMPLATE_NOTE}"
    return note
