"""The large side against today's models and a real network's faults, each shown by the fault server.

Reasoning streams, parameters a model refuses, usage-only thinking, a reset after the answer was whole, a
captive portal's HTML page, stalls after the headers and mid-stream, a quota error, `retry-after-ms` and a
context that is too long: for each, what the engine reports (and so what the user sees)."""

from __future__ import annotations

import threading
import time

import pytest

from lmscales.core import tasks
from lmscales.core.endpoints import Endpoint
from lmscales.core.engines.remote import ParameterMemory, RemoteEngine, RemoteOptions, takes_max_completion_tokens
from lmscales.core.events import EngineError, Finished, GenerationRequest, Notice, TextDelta
from lmscales.core.metrics import compute
from lmscales.core.pricing import PriceTable
from lmscales.core.session import cost_of
from tests.support.drive import run_to_end
from tests.support.fault_server import THOUGHTS, WORDS, FaultServer

# The default timeouts: a loopback answer that comes slowly on a loaded machine is still an answer (the stall
# tests set their own short read timeout).
OPTIONS = RemoteOptions(max_rate_limit_retries=2)


def chat(max_tokens: int = 24, temperature: float = 0.0) -> GenerationRequest:
    return GenerationRequest(tasks.chat_messages([], "Say hello."), max_tokens=max_tokens, temperature=temperature)


def engine(server: FaultServer, mode: str, memory: ParameterMemory | None = None,
           options: RemoteOptions = OPTIONS) -> RemoteEngine:
    return RemoteEngine(Endpoint(server.url(mode), "fault-model"), options, memory or ParameterMemory())


def posts(server: FaultServer, mode: str) -> list[dict]:  # type: ignore[type-arg]
    return [r[4] for r in server.requests if r[0] == mode and r[1] == "POST"]


# -- parameters that fit the model ------------------------------------------------------------------------


def test_openai_host_gets_max_completion_tokens() -> None:
    assert takes_max_completion_tokens("api.openai.com")
    assert not takes_max_completion_tokens("api.groq.com")
    assert not takes_max_completion_tokens("127.0.0.1:8080")


def test_a_model_that_refuses_max_tokens_is_asked_again_with_its_replacement(fault_server: FaultServer) -> None:
    memory = ParameterMemory()
    events = list(engine(fault_server, "nomaxtokens", memory).generate(chat()))
    finished = events[-1]
    assert isinstance(finished, Finished) and finished.text == "".join(WORDS)
    sent = posts(fault_server, "nomaxtokens")
    assert "max_tokens" in sent[-2] and "max_completion_tokens" not in sent[-2]
    assert sent[-1]["max_completion_tokens"] == 24 and "max_tokens" not in sent[-1]
    # the limit still applied under its other name: nothing was ignored
    assert finished.ignored_parameters == ()
    notices = [e.message for e in events if isinstance(e, Notice)]
    assert any("does not take 'max_tokens'" in n and "'max_completion_tokens' instead" in n for n in notices)
    # remembered for this endpoint and model: the next run asks right the first time
    before = len(posts(fault_server, "nomaxtokens"))
    assert run_to_end(engine(fault_server, "nomaxtokens", memory), chat()).ok
    assert len(posts(fault_server, "nomaxtokens")) == before + 1


def test_a_model_that_refuses_temperature_runs_at_its_default_and_says_so(fault_server: FaultServer) -> None:
    memory = ParameterMemory()
    learned: list[tuple[str, str, str, str | None]] = []
    memory.on_learned = lambda *entry: learned.append(entry)
    result = run_to_end(engine(fault_server, "notemp", memory), chat(temperature=0.0))
    assert result.ok and result.finished is not None
    assert result.finished.ignored_parameters == ("temperature",)
    assert "temperature" not in posts(fault_server, "notemp")[-1]
    assert learned == [(Endpoint(fault_server.url("notemp"), "m").host, "fault-model", "temperature", None)]
    # the next run leaves it out at once, and still records that it did not apply
    again = run_to_end(engine(fault_server, "notemp", memory), chat())
    assert again.finished is not None and again.finished.ignored_parameters == ("temperature",)


def test_reasoning_effort_is_sent_only_when_chosen(fault_server: FaultServer) -> None:
    run_to_end(engine(fault_server, "ok"), chat())
    assert "reasoning_effort" not in fault_server.requests[-1][4]
    request = GenerationRequest(tasks.chat_messages([], "Hi"), reasoning_effort="low")
    run_to_end(engine(fault_server, "ok"), request)
    assert fault_server.requests[-1][4]["reasoning_effort"] == "low"


# -- reasoning, shown and measured ---------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["reasoning", "reasoningfield"])
def test_streamed_thinking_is_apart_from_the_answer(fault_server: FaultServer, mode: str) -> None:
    events = list(engine(fault_server, mode).generate(chat()))
    thoughts = [e for e in events if isinstance(e, TextDelta) and e.kind == "reasoning"]
    answer = [e for e in events if isinstance(e, TextDelta) and e.kind == "answer"]
    assert "".join(t.text for t in thoughts) == "".join(THOUGHTS)
    assert "".join(a.text for a in answer) == "".join(WORDS)
    finished = events[-1]
    assert isinstance(finished, Finished)
    assert finished.text == "".join(WORDS) and finished.reasoning_text == "".join(THOUGHTS)
    m = compute(finished)
    assert m.time_to_first_any is not None and m.time_to_first_token.value is not None
    # the headline TTFT is the first answer token, after the thinking
    assert m.time_to_first_any.value is not None and m.time_to_first_any.value < m.time_to_first_token.value
    assert m.thinking_time is not None and m.thinking_time.value is not None and m.thinking_time.value > 0
    assert m.decode_rate.value is not None and "thinking" in m.decode_rate.how
    if mode == "reasoning":  # usage reports the thinking: measured
        assert (finished.reasoning_tokens, finished.reasoning_tokens_provenance) == (40, "measured")
        assert (finished.output_tokens, finished.output_tokens_provenance) == (6, "measured")
    else:  # no usage: one token per streamed piece, marked estimated
        assert (finished.reasoning_tokens, finished.reasoning_tokens_provenance) == (len(THOUGHTS), "estimated")
        assert m.reasoning_tokens is not None and m.reasoning_tokens.format(0).startswith("~")


def test_usage_only_thinking_is_counted_and_billed_but_not_in_the_rate(fault_server: FaultServer) -> None:
    finished = run_to_end(engine(fault_server, "hiddenreasoning"), chat()).finished
    assert finished is not None
    assert (finished.output_tokens, finished.reasoning_tokens) == (6, 494)
    assert finished.billed_output_tokens == 500
    m = compute(finished)
    # the rate is over the 6 answer tokens it saw arrive, 20 ms apart: about 50 tok/s, not thousands
    assert m.decode_rate.value is not None and m.decode_rate.value < 200
    assert m.decode_rate.how.startswith("(answer tokens - 1)")
    prices = PriceTable.load().with_host_prices("api.openai.com", {})
    prices = prices.with_override("fault-model", 1.0, 10.0)
    info = engine(fault_server, "hiddenreasoning").info
    cost = cost_of(prices, info.__class__(**{**info.as_dict(), "loopback": False}), finished)
    assert cost is not None and cost.usd == pytest.approx((21 * 1.0 + 500 * 10.0) / 1e6)


def test_everything_in_one_burst_has_no_rate_and_says_why(fault_server: FaultServer) -> None:
    finished = run_to_end(engine(fault_server, "burst"), chat()).finished
    assert finished is not None and finished.text == "".join(WORDS)
    rate = compute(finished).decode_rate
    assert rate.value is None and rate.format() == "n/a"
    assert "one network read" in rate.reason


def test_one_piece_is_too_short_for_a_rate() -> None:
    finished = Finished(prompt_tokens=3, prompt_tokens_provenance="measured", output_tokens=5,
                        output_tokens_provenance="measured", submitted_at=0.0, deltas=((0.5, "Hello there"),),
                        stop_reason="stop")
    rate = compute(finished).decode_rate
    assert rate.value is None and "fewer than 2" in rate.reason


# -- the faults a real network brings -------------------------------------------------------------------------


def test_a_reset_after_finish_reason_is_complete(fault_server: FaultServer) -> None:
    events = list(engine(fault_server, "finishreset").generate(chat()))
    finished = events[-1]
    assert isinstance(finished, Finished), events[-1]
    assert finished.stop_reason == "stop" and finished.text == "".join(WORDS)
    assert not any(isinstance(e, EngineError) for e in events)


def test_a_captive_portal_page_is_named(fault_server: FaultServer) -> None:
    result = run_to_end(engine(fault_server, "html"), chat())
    assert result.error is not None and result.error.kind == "not_sse"
    assert "an HTML page titled 'Hotel Wi-Fi - Please log in'" in result.error.message
    assert "captive portal" in result.error.message and "ended before" not in result.error.message


@pytest.mark.parametrize(("mode", "when"), [("stallheaders", "after its headers, before the first token"),
                                            ("stallmid", "in the middle of the answer")])
def test_a_stall_names_the_read_timeout_and_its_seconds(fault_server: FaultServer, mode: str, when: str) -> None:
    options = RemoteOptions(connect_timeout=1.0, read_timeout=0.7)
    started = time.monotonic()
    result = run_to_end(engine(fault_server, mode, options=options), chat())
    assert result.error is not None and result.error.kind == "timeout", result.error
    assert f"sent nothing for 0.7 s {when} (read timeout" in result.error.message
    assert result.error.details["timeout_seconds"] == "0.7"
    assert time.monotonic() - started < fault_server.stall_seconds + 1.0


def test_insufficient_quota_is_not_retried_and_says_billing(fault_server: FaultServer) -> None:
    result = run_to_end(engine(fault_server, "quota"), chat())
    assert result.error is not None and result.error.kind == "quota"
    assert "check your plan and billing" in result.error.message and "does not retry" in result.error.message
    assert len(posts(fault_server, "quota")) == 1


def test_retry_after_ms_is_honoured(fault_server: FaultServer) -> None:
    started = time.monotonic()
    events = list(engine(fault_server, "429ms").generate(chat()))
    assert isinstance(events[-1], Finished)
    notices = [e.message for e in events if isinstance(e, Notice)]
    assert any("in 0.15 s" in n for n in notices), notices  # not Retry-After's 20 s
    assert time.monotonic() - started < 5


def test_context_length_exceeded_says_how_much_to_cut(fault_server: FaultServer) -> None:
    remote = engine(fault_server, "context", options=RemoteOptions(context_tokens=32768))
    result = run_to_end(remote, chat())
    error = result.error
    assert error is not None and error.kind == "context_length"
    assert "takes 8,192 tokens and this request needs 9,500: cut about 1,308 tokens" in error.message
    assert "new chat" in error.message and "map-reduce" in error.message
    assert error.details["cut_tokens"] == "1308" and "map_reduce" in error.details["offer"]
    # taken up: the session now trims the history or map-reduces to the context the server named
    assert remote.info.context_tokens == 8192 and "now counts this model's context as 8,192" in error.message


# -- Stop, from the moment of submission (issue 15) --------------------------------------------------------------


def test_a_cancel_before_the_first_step_stops_the_run_and_sends_nothing(fault_server: FaultServer) -> None:
    before = len(posts(fault_server, "slow"))
    remote = engine(fault_server, "slow")
    events = remote.generate(chat())
    remote.cancel()
    drained = list(events)
    assert len(drained) == 1 and isinstance(drained[0], Finished) and drained[0].stop_reason == "cancelled"
    assert len(posts(fault_server, "slow")) == before
    assert run_to_end(remote, chat()).ok  # the next run is not affected


def test_nothing_queued_is_yielded_after_cancel(fault_server: FaultServer) -> None:
    remote = engine(fault_server, "slow")
    seen: list[TextDelta] = []
    cancelled_after = threading.Event()
    for event in remote.generate(chat()):
        if isinstance(event, TextDelta):
            assert not cancelled_after.is_set(), "a delta came out after cancel"
            seen.append(event)
            if len(seen) == 2:
                remote.cancel()
                cancelled_after.set()
                time.sleep(0.2)  # more deltas reach the queue meanwhile; none may come out
    assert len(seen) == 2


# -- through the session: the trial, its JSON and the exports -------------------------------------------------


def test_a_thinking_side_through_the_session_and_its_exports(fault_server: FaultServer, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from lmscales.core.history import export_trials, to_csv
    from lmscales.core.session import Session, SideStreamed
    from lmscales.core.trial import GenerationParams, TaskInput, Trial

    session = Session({"large": engine(fault_server, "reasoning")})
    streamed: list[TextDelta] = []
    session.subscribe(lambda e: streamed.append(e.event) if isinstance(e, SideStreamed)  # type: ignore[func-returns-value]
                      and isinstance(e.event, TextDelta) else None)
    trial = session.run(TaskInput("chat", "Hi"), GenerationParams(max_tokens=16, reasoning_effort="medium"),
                        ("large",))
    large = trial.side("large")
    assert large is not None and large.text == "".join(WORDS)  # the answer holds no thinking
    assert {d.kind for d in streamed} == {"reasoning", "answer"}  # both reach the front ends
    assert large.finished is not None and large.finished.reasoning_text == "".join(THOUGHTS)
    again = Trial.from_dict(trial.to_dict())  # the history file's round trip
    side = again.side("large")
    assert side is not None and side.finished is not None
    assert side.finished.reasoning_tokens == 40 and side.finished.reasoning_text == "".join(THOUGHTS)
    assert again.params.reasoning_effort == "medium"
    assert side.metrics is not None and side.metrics.time_to_first_any is not None
    csv_text = to_csv([trial])
    assert "reasoning_tokens" in csv_text.splitlines()[0] and ",40," in csv_text
    markdown = export_trials([trial], tmp_path / "t.md").read_text("utf-8")
    assert "| Thinking tokens | 40 tok |" in markdown


def test_a_stop_while_it_thinks_keeps_only_what_was_shown(fault_server: FaultServer) -> None:
    from lmscales.core.session import Session, SideStreamed
    from lmscales.core.trial import GenerationParams, TaskInput

    session = Session({"large": engine(fault_server, "reasoning")})
    shown: list[TextDelta] = []

    def on_event(event: object) -> None:
        if isinstance(event, SideStreamed) and isinstance(event.event, TextDelta):
            shown.append(event.event)
            if len(shown) == 2:
                session.cancel()

    session.subscribe(on_event)
    trial = session.run(TaskInput("chat", "Hi"), GenerationParams(max_tokens=16), ("large",))
    large = trial.side("large")
    assert large is not None and large.finished is not None and large.finished.stop_reason == "cancelled"
    assert len(shown) == 2 and all(d.kind == "reasoning" for d in shown)
    assert large.finished.reasoning_text == "".join(d.text for d in shown) and large.text == ""


@pytest.mark.parametrize(("model", "thinks"), [
    ("gpt-5", True), ("gpt-5-mini", True), ("o3", True), ("o4-mini", True), ("openai/gpt-oss-120b", True),
    ("deepseek-reasoner", True), ("deepseek/deepseek-r1", True), ("Qwen3-8B", True),
    ("gpt-4o-mini", False), ("gpt-4.1", False), ("omni-moderation", False), ("llama-3.3-70b-versatile", False),
    ("SmolLM2-135M-Instruct-Q8_0.gguf", False), ("gemini-2.5-flash", True), ("gemini-2.0-flash", False),
    ("qwen-qwq-32b", True), ("phi-4-reasoning", True), ("anthropic/claude-3.7-sonnet:thinking", True),
    ("qwen-2.5-72b-instruct", False),
])
def test_which_models_are_offered_a_thinking_effort(model: str, thinks: bool) -> None:
    from lmscales.core.engines.remote import takes_reasoning_effort

    assert takes_reasoning_effort(model) is thinks
