"""The metric definitions, on synthetic timestamps."""

from __future__ import annotations

import pytest

from lmscales.core import metrics
from lmscales.core.events import Finished, NativeTimings


def finished(deltas: list[tuple[float, str]], n_out: int, submitted: float = 10.0, **kw: object) -> Finished:
    return Finished(
        prompt_tokens=kw.pop("prompt_tokens", 50),  # type: ignore[arg-type]
        prompt_tokens_provenance="measured",
        output_tokens=n_out,
        output_tokens_provenance=kw.pop("provenance", "measured"),  # type: ignore[arg-type]
        submitted_at=submitted,
        deltas=tuple(deltas),
        stop_reason="stop",
        **kw,  # type: ignore[arg-type]
    )


def test_ttft_counts_from_submit_to_first_nonempty_delta() -> None:
    run = finished([(10.2, ""), (10.5, "Hi"), (10.6, " there")], 2)
    m = metrics.compute(run)
    assert m.time_to_first_token.value == pytest.approx(0.5)
    assert m.end_to_end.value == pytest.approx(0.6)


def test_decode_rate_excludes_first_token_and_the_wait_before_it() -> None:
    # 11 tokens: first at 1.0 s after submit, then one every 0.1 s -> 10 tokens in 1.0 s = 10 tok/s.
    deltas = [(11.0 + 0.1 * i, "x") for i in range(11)]
    m = metrics.compute(finished(deltas, 11))
    assert m.decode_rate.value == pytest.approx(10.0)
    assert m.end_to_end.value == pytest.approx(2.0)
    # Four more seconds of waiting before the first token change the end-to-end time, not the rate.
    later = metrics.compute(finished([(t + 4.0, text) for t, text in deltas], 11))
    assert later.end_to_end.value == pytest.approx(6.0)
    assert later.time_to_first_token.value == pytest.approx(5.0)
    assert later.decode_rate.value == pytest.approx(10.0)


def test_decode_rate_needs_two_tokens() -> None:
    assert metrics.compute(finished([(10.3, "one")], 1)).decode_rate.value is None
    assert metrics.compute(finished([], 0)).time_to_first_token.value is None


def test_inter_token_percentiles() -> None:
    times = [0.0, 0.1, 0.2, 0.3, 0.4, 1.4]  # gaps: 0.1 x4 and one stall of 1.0
    m = metrics.compute(finished([(11.0 + t, "a") for t in times], 6))
    assert m.inter_token_p50.value == pytest.approx(0.1)
    assert m.inter_token_p95.value == pytest.approx(0.82)
    assert metrics.percentile([1.0, 2.0, 3.0, 4.0], 50) == pytest.approx(2.5)


def test_prefill_rate_and_chars_and_words_per_second() -> None:
    deltas = [(12.0, "Hello"), (12.5, " big"), (13.0, " world")]
    m = metrics.compute(finished(deltas, 3, prompt_tokens=100))
    assert m.prefill_rate.value == pytest.approx(50.0)  # 100 tokens / 2 s TTFT
    assert m.chars_per_second.value == pytest.approx(len(" big world") / 1.0)
    assert m.words_per_second.value == pytest.approx(2.0)


def test_every_figure_says_how_it_was_obtained() -> None:
    m = metrics.compute(finished([(11.0, "a"), (11.5, "b")], 2, provenance="estimated"))
    assert m.decode_rate.provenance == "estimated"
    assert m.output_tokens.provenance == "estimated"
    assert m.time_to_first_token.provenance == "measured"
    assert m.decode_rate.format().startswith("~")
    assert not m.time_to_first_token.format().startswith("~")
    assert m.as_dict()["decode_rate"]["provenance"] == "estimated"  # type: ignore[index]


def test_native_timings() -> None:
    native = NativeTimings(prompt_eval_ms=200.0, prompt_tokens=100, eval_ms=1000.0, eval_tokens=90)
    m = metrics.compute(finished([(11.0, "a"), (12.0, "b")], 2, native=native))
    assert m.native_decode_rate is not None and m.native_decode_rate.value == pytest.approx(90.0)
    assert m.native_prefill_rate is not None and m.native_prefill_rate.value == pytest.approx(500.0)


def test_estimate_tokens() -> None:
    assert metrics.estimate_tokens("") == 0
    assert metrics.estimate_tokens("abcdefgh") == 2
