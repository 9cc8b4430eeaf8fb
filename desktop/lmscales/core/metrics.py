"""Metric definitions shared by both sides, the way serious benchmarks define them.

Pure functions of timestamps and counts, nothing else, so they are tested on synthetic data:

- t0 is when the request was submitted;
- time to first token (TTFT) = first non-empty answer delta - t0 (the headline); a reasoning model thinks
  first, so the time to its first token of any kind (thinking or answer) is given beside it;
- end-to-end time (E2E) = last delta - t0;
- decode rate, the headline tokens/s = (n - 1) / (t_last - t_first) over the tokens the stream shows (the
  answer's, plus the thinking's where the thinking is streamed): the first token is paid for by the prefill,
  so it is not counted, and the wait before it is not in the denominator. Never n_out / E2E. Where the
  visible stream is too short or arrived in one burst there is no rate: "n/a", with the reason;
- reasoning tokens are counted apart from answer tokens (from usage where the server reports them);
- inter-token latency p50/p95 = percentiles of the gaps between successive non-empty deltas;
- prefill rate = evaluated prompt tokens / TTFT (an upper bound on the wait: it includes queueing and
  transport; prompt tokens whose KV cache a chat's earlier turn left are not evaluated again, so not counted);
- characters/s and words/s over the decode interval, counting the text after the first delta: they
  compare fairly across tokenizers, where tokens do not.

Every figure says whether it is measured or estimated.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

from lmscales.core.events import Finished, Provenance


@dataclass(frozen=True)
class Figure:
    """One number with its unit and whether it was measured or estimated."""

    value: float | None
    unit: str
    provenance: Provenance
    how: str
    reason: str = ""  # why there is no value, where there is none

    def format(self, digits: int = 1) -> str:
        if self.value is None:
            return "n/a"
        mark = "" if self.provenance == "measured" else "~"
        return f"{mark}{self.value:.{digits}f} {self.unit}"


@dataclass(frozen=True)
class RunMetrics:
    time_to_first_token: Figure
    end_to_end: Figure
    decode_rate: Figure
    inter_token_p50: Figure
    inter_token_p95: Figure
    prefill_rate: Figure
    chars_per_second: Figure
    words_per_second: Figure
    prompt_tokens: Figure
    output_tokens: Figure
    output_chars: int
    native_decode_rate: Figure | None = None
    native_prefill_rate: Figure | None = None
    time_to_first_any: Figure | None = None  # first token of any kind (thinking or answer)
    reasoning_tokens: Figure | None = None
    thinking_time: Figure | None = None  # first to last thinking delta

    def as_dict(self) -> dict[str, object]:
        out: dict[str, object] = {"output_chars": self.output_chars}
        for name in (
            "time_to_first_token",
            "end_to_end",
            "decode_rate",
            "inter_token_p50",
            "inter_token_p95",
            "prefill_rate",
            "chars_per_second",
            "words_per_second",
            "prompt_tokens",
            "output_tokens",
            "native_decode_rate",
            "native_prefill_rate",
            "time_to_first_any",
            "reasoning_tokens",
            "thinking_time",
        ):
            figure = getattr(self, name)
            if figure is not None:
                entry: dict[str, object] = {"value": figure.value, "unit": figure.unit,
                                            "provenance": figure.provenance}
                if figure.value is None and figure.reason:
                    entry["reason"] = figure.reason
                if name == "decode_rate":
                    entry["basis"] = figure.how
                out[name] = entry
        return out


def percentile(values: Sequence[float], q: float) -> float | None:
    """Linear-interpolation percentile (numpy's default), q in [0, 100]; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100.0
    low = math.floor(rank)
    high = math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def _nonempty(deltas: Sequence[tuple[float, str]]) -> list[tuple[float, str]]:
    return [(t, text) for t, text in deltas if text]


def time_to_first_token(submitted_at: float, deltas: Sequence[tuple[float, str]]) -> float | None:
    visible = _nonempty(deltas)
    return visible[0][0] - submitted_at if visible else None


def end_to_end(submitted_at: float, deltas: Sequence[tuple[float, str]]) -> float | None:
    visible = _nonempty(deltas)
    return visible[-1][0] - submitted_at if visible else None


def decode_rate(output_tokens: int, deltas: Sequence[tuple[float, str]]) -> float | None:
    """(n_out - 1) / (t_last - t_first); None when fewer than two tokens or no time passed."""
    visible = _nonempty(deltas)
    if output_tokens < 2 or len(visible) < 2:
        return None
    span = visible[-1][0] - visible[0][0]
    return (output_tokens - 1) / span if span > 0 else None


def visible_rate(finished: Finished) -> Figure:
    """The decode rate over what the stream shows, with its basis, or "n/a" and why.

    Streamed thinking counts (its tokens were generated at the same rate as the answer's); thinking the server
    only reports in usage does not, since it was never seen arriving.
    """
    streamed_thinking = bool(_nonempty(finished.reasoning_deltas))
    visible = sorted(_nonempty(finished.deltas) + _nonempty(finished.reasoning_deltas))
    if streamed_thinking:
        tokens = finished.output_tokens + finished.reasoning_tokens
        basis = "(answer + thinking tokens - 1) / (last streamed delta - first), thinking and answer both streamed"
        estimated = "estimated" in (finished.output_tokens_provenance, finished.reasoning_tokens_provenance)
    else:
        tokens = finished.output_tokens
        basis = "(answer tokens - 1) / (last answer delta - first answer delta)"
        estimated = finished.output_tokens_provenance == "estimated"
    provenance: Provenance = "estimated" if estimated else "measured"
    reason = ""
    if len(visible) < 2 or tokens < 2:
        reason = "fewer than 2 streamed pieces: too short to measure a rate"
    elif finished.stream_reads == 1:
        reason = "every token arrived in one network read: no rate can be measured from the stream"
    elif visible[-1][0] - visible[0][0] <= 0:
        reason = "every token arrived at the same instant: no rate can be measured from the stream"
    if reason:
        return Figure(None, "tok/s", provenance, basis, reason)
    return Figure((tokens - 1) / (visible[-1][0] - visible[0][0]), "tok/s", provenance, basis)


def inter_token_gaps(deltas: Sequence[tuple[float, str]]) -> list[float]:
    visible = _nonempty(deltas)
    return [b[0] - a[0] for a, b in itertools.pairwise(visible)]


def _after_first(deltas: Sequence[tuple[float, str]]) -> tuple[str, float] | None:
    visible = _nonempty(deltas)
    if len(visible) < 2:
        return None
    span = visible[-1][0] - visible[0][0]
    if span <= 0:
        return None
    return "".join(text for _, text in visible[1:]), span


def chars_per_second(deltas: Sequence[tuple[float, str]]) -> float | None:
    tail = _after_first(deltas)
    return len(tail[0]) / tail[1] if tail else None


def words_per_second(deltas: Sequence[tuple[float, str]]) -> float | None:
    """Words (whitespace-separated) that begin after the first delta, per second of decoding."""
    tail = _after_first(deltas)
    if not tail:
        return None
    visible = _nonempty(deltas)
    words_total = len("".join(t for _, t in visible).split())
    words_first = len(visible[0][1].split())
    return max(0, words_total - words_first) / tail[1]


def compute(finished: Finished) -> RunMetrics:
    """All figures of one finished run."""
    deltas = finished.deltas
    gaps = inter_token_gaps(deltas)
    ttft = time_to_first_token(finished.submitted_at, deltas)
    # Only the prompt tokens that were evaluated: those kept in the cache from a chat's earlier turns cost nothing.
    evaluated = finished.prompt_tokens - finished.cached_prompt_tokens
    prefill = (  # a map-reduce summary's TTFT includes every map step: no prefill rate to speak of
        evaluated / ttft if ttft and ttft > 0 and evaluated > 0 and finished.chunks == 1 else None
    )
    tokens_out = finished.output_tokens_provenance
    native = finished.native
    return RunMetrics(
        time_to_first_token=Figure(ttft, "s", "measured", "first non-empty text delta minus submit time"),
        end_to_end=Figure(
            end_to_end(finished.submitted_at, deltas), "s", "measured", "last text delta minus submit time"
        ),
        decode_rate=visible_rate(finished),
        inter_token_p50=Figure(percentile(gaps, 50), "s", "measured", "median gap between deltas"),
        inter_token_p95=Figure(percentile(gaps, 95), "s", "measured", "95th percentile gap between deltas"),
        prefill_rate=Figure(
            prefill,
            "tok/s",
            "estimated" if finished.prompt_tokens_provenance == "estimated" else "measured",
            "prompt tokens / time to first token (includes queueing and transport)",
        ),
        chars_per_second=Figure(
            chars_per_second(deltas), "chars/s", "measured", "characters after the first delta / decode time"
        ),
        words_per_second=Figure(
            words_per_second(deltas), "words/s", "measured", "words after the first delta / decode time"
        ),
        prompt_tokens=Figure(
            float(finished.prompt_tokens), "tok", finished.prompt_tokens_provenance, "prompt tokens"
        ),
        output_tokens=Figure(float(finished.output_tokens), "tok", tokens_out, "generated tokens"),
        output_chars=len(finished.text),
        native_decode_rate=(
            Figure(native.decode_rate, "tok/s", "measured", "llama_perf_context: n_eval / t_eval")
            if native
            else None
        ),
        native_prefill_rate=(
            Figure(native.prefill_rate, "tok/s", "measured", "llama_perf_context: n_p_eval / t_p_eval")
            if native
            else None
        ),
        **_thinking_figures(finished),
    )


def _thinking_figures(finished: Finished) -> dict[str, Figure | None]:
    """TTFT of any kind, thinking tokens and time: only for a run that thought (so other runs stay as they were)."""
    thinking = _nonempty(finished.reasoning_deltas)
    if not thinking and not finished.reasoning_tokens:
        return {}
    answer = _nonempty(finished.deltas)
    firsts = [pieces[0][0] for pieces in (thinking, answer) if pieces]
    first_any = min(firsts) - finished.submitted_at if firsts else None
    return {
        "time_to_first_any": Figure(first_any, "s", "measured",
                                    "first non-empty delta of any kind (thinking or answer) minus submit time"),
        "reasoning_tokens": Figure(float(finished.reasoning_tokens), "tok", finished.reasoning_tokens_provenance,
                                   "thinking tokens: usage.completion_tokens_details.reasoning_tokens, or one per "
                                   "streamed thinking piece (~)"),
        "thinking_time": Figure(thinking[-1][0] - thinking[0][0] if len(thinking) > 1 else None, "s", "measured",
                                "last thinking delta minus first",
                                "" if len(thinking) > 1 else "the thinking was not streamed in pieces"),
    }


def estimate_tokens(text: str) -> int:
    """A tokenizer-free guess (about four characters a token), used only where no count exists."""
    return max(1, round(len(text) / 4)) if text else 0
