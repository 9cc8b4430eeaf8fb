"""The real llama.cpp engine on the real bundled model, in its own process."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest

from lmscales.core import tasks
from lmscales.core.engines.local import LoadError, LocalEngine
from lmscales.core.events import EngineError, Finished, GenerationRequest, Message, TextDelta
from tests.conftest import TEST_THREADS, write_gguf
from tests.support.drive import run_to_end

pytestmark = pytest.mark.slow

CANCEL_LIMIT_SECONDS = 0.2


def chat(text: str, max_tokens: int = 32, **kw: object) -> GenerationRequest:
    return GenerationRequest(tasks.chat_messages([], text), max_tokens=max_tokens, **kw)  # type: ignore[arg-type]


def test_generates_in_a_child_process(engine: LocalEngine) -> None:
    result = run_to_end(engine, chat("Name three colours.", temperature=0.0))
    assert result.ok, result.error
    assert result.text.strip()
    finished = result.finished
    assert finished is not None
    assert 0 < finished.output_tokens <= 32
    assert finished.prompt_tokens > 10
    assert finished.native is not None and finished.native.eval_tokens > 0
    assert finished.text == result.text
    assert engine.pid is not None and engine.pid != os.getpid()
    child = psutil.Process(engine.pid)
    assert child.memory_info().rss > 50e6  # the model lives there, not in this process


def test_same_seed_same_text(engine: LocalEngine) -> None:
    first = run_to_end(engine, chat("Tell me a fact about the sea.", temperature=0.8, seed=7)).text
    second = run_to_end(engine, chat("Tell me a fact about the sea.", temperature=0.8, seed=7)).text
    assert first == second


def test_stop_strings(engine: LocalEngine) -> None:
    request = GenerationRequest(tasks.chat_messages([], "Count from 1 to 20, separated by commas."),
                                max_tokens=80, temperature=0.0, stop=("5",))
    result = run_to_end(engine, request)
    assert result.ok and result.finished is not None
    assert result.text.strip() and "5" not in result.text
    assert result.finished.stop_reason == "stop"  # ended by the stop string (or the model), not by max tokens


def _cancel_after(engine: LocalEngine, request: GenerationRequest, trigger: str) -> tuple[float, Finished]:
    """Cancel when `trigger` happens ("first_delta" or "submitted"); return the cancel latency."""
    cancelled_at: list[float] = []
    finished: list[Finished] = []

    def cancel() -> None:
        cancelled_at.append(time.perf_counter())
        engine.cancel()

    if trigger == "submitted":
        timer = threading.Timer(0.3, cancel)
        timer.start()
    for event in engine.generate(request):
        if isinstance(event, TextDelta) and trigger == "first_delta" and not cancelled_at:
            cancel()
        elif isinstance(event, Finished):
            finished.append(event)
        elif isinstance(event, EngineError):
            pytest.fail(event.message)
    assert cancelled_at and finished
    return time.perf_counter() - cancelled_at[0], finished[0]


def test_cancel_during_decode_within_200ms(engine: LocalEngine) -> None:
    latency, finished = _cancel_after(engine, chat("Write a long story.", max_tokens=400), "first_delta")
    assert finished.stop_reason == "cancelled"
    assert finished.output_tokens < 50
    assert latency < CANCEL_LIMIT_SECONDS, f"cancel took {latency * 1000:.0f} ms"


def test_cancel_during_long_prompt_evaluation_within_200ms(engine: LocalEngine, bundled_model: Path) -> None:
    long_text = " ".join(f"Sentence number {i} talks about rivers, hills and towns." for i in range(200))
    request = GenerationRequest(tasks.summarize_messages(long_text), max_tokens=64)
    # the prompt alone takes well over 0.3 s to evaluate on this model; cancel arrives in the middle
    latency, finished = _cancel_after(engine, request, "submitted")
    assert finished.stop_reason == "cancelled"
    assert finished.output_tokens == 0 and finished.text == ""
    assert latency < CANCEL_LIMIT_SECONDS, f"cancel took {latency * 1000:.0f} ms"
    # and the engine is fine afterwards
    assert run_to_end(engine, chat("Hello!", max_tokens=8)).ok


# Signals as a crash delivers them; Windows has no SIGKILL (and os.kill there only terminates), so these are
# read with getattr: collection must work on every platform, and the cases skip where they cannot happen.
NATIVE_CRASHES = [
    pytest.param(getattr(signal, name, None), id=name, marks=pytest.mark.skipif(
        not hasattr(signal, name) or sys.platform == "win32", reason=f"{name}: no POSIX signals on Windows"))
    for name in ("SIGKILL", "SIGSEGV")
]


@pytest.mark.parametrize("signum", NATIVE_CRASHES)
def test_native_crash_is_reported_and_the_engine_recovers(bundled_model: Path, signum: int) -> None:
    with LocalEngine(n_threads=TEST_THREADS) as local:
        local.load(bundled_model)
        first_pid = local.pid
        assert first_pid is not None
        events = []
        for event in local.generate(chat("Write a long story about a dragon.", max_tokens=400)):
            events.append(event)
            if isinstance(event, TextDelta) and len(events) == 3:
                os.kill(first_pid, signum)
        error = events[-1]
        assert isinstance(error, EngineError) and error.kind == "crashed"
        assert f"local engine crashed (signal {int(signum)}" in error.message
        assert error.partial_text  # what arrived before the crash is kept
        assert not psutil.pid_exists(first_pid) or psutil.Process(first_pid).status() == psutil.STATUS_ZOMBIE
        again = run_to_end(local, chat("Say hello.", max_tokens=8))
        assert again.ok, again.error
        assert local.pid not in (None, first_pid)


def _bad_files(tmp: Path, bundled_model: Path) -> dict[str, tuple[Path, str]]:
    empty = tmp / "empty.gguf"
    empty.write_bytes(b"")
    text = tmp / "readme.gguf"
    text.write_text("not a model")
    truncated = tmp / "truncated.gguf"
    with bundled_model.open("rb") as source:
        truncated.write_bytes(source.read(20_000_000))
    alien = write_gguf(tmp / "alien.gguf", "notarealarch")
    return {
        "missing": (tmp / "absent.gguf", "not found"),
        "empty": (empty, "is empty"),
        "not_gguf": (text, "not a GGUF model file"),
        "truncated": (truncated, "is truncated"),
        "architecture": (alien, "could not load alien.gguf (architecture 'notarealarch')"),
    }


def test_bad_model_files_leave_the_previous_model_working(
    engine: LocalEngine, bundled_model: Path, tmp_path: Path
) -> None:
    before = engine.model
    assert before is not None
    for name, (path, expected) in _bad_files(tmp_path, bundled_model).items():
        with pytest.raises(LoadError) as caught:
            engine.load(path)
        assert expected in str(caught.value), name
        assert engine.model == before, name
        assert run_to_end(engine, chat("Hi", max_tokens=4)).ok, name
    assert "previous model" in str(caught.value)


def test_context_trimming_and_refusal(bundled_model: Path) -> None:
    with LocalEngine(n_ctx=512, n_threads=TEST_THREADS) as small:
        small.load(bundled_model)
        history = [tasks.ChatTurn(f"Question {i}: " + "blah " * 30, "Answer: " + "yes " * 30) for i in range(8)]
        request = GenerationRequest(tasks.chat_messages(history, "And now?"), max_tokens=64)
        result = run_to_end(small, request)
        assert result.ok and result.finished is not None
        assert result.finished.trimmed_messages >= 2
        assert result.finished.prompt_tokens + 64 <= 512

        huge = GenerationRequest((Message("system", "s"), Message("user", "word " * 2000)), max_tokens=64)
        refused = run_to_end(small, huge)
        assert refused.error is not None and refused.error.kind == "input_too_long"
        assert "too long for this model" in refused.error.message
        assert "448" in refused.error.message  # 512 - 64 tokens available


def test_busy_engine_refuses_a_second_generation(engine: LocalEngine) -> None:
    first = engine.generate(chat("Write a poem.", max_tokens=64))
    next(first)
    second = list(engine.generate(chat("Hi")))
    assert isinstance(second[0], EngineError) and second[0].kind == "busy"
    engine.cancel()
    list(first)


def test_map_reduce_summary_of_a_text_longer_than_the_context(bundled_model: Path) -> None:
    from lmscales.core.engines import map_reduce
    from lmscales.core.events import Notice
    from tests.support.drive import collect

    text = "\n\n".join(
        f"Chapter {i}. The village of Brook had a mill, a bakery and a school. In year {i} the river flooded "
        f"and the people built a new bridge of stone, which took {i + 2} months." for i in range(30)
    )
    with LocalEngine(n_ctx=768, n_threads=TEST_THREADS) as small:
        small.load(bundled_model)
        base = GenerationRequest(tasks.summarize_messages(text, "sentence"), max_tokens=48, temperature=0.0)
        notices: list[str] = []
        result = collect(
            map_reduce.summarize(small, text, "sentence", None, base, small.n_ctx),
            lambda e: notices.append(e.message) if isinstance(e, Notice) else None,
        )
    assert result.ok, result.error
    assert result.finished is not None and result.finished.chunks >= 3
    assert result.text.strip()
    assert any("part 1 of" in n for n in notices) and any("Combining" in n for n in notices)
    # TTFT counts from the start of the whole job, map step included
    ttft = result.metrics.time_to_first_token.value  # type: ignore[union-attr]
    assert ttft is not None and ttft > 0.5
