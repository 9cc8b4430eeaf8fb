"""The lean decode loop on the real bundled model: a chat's next turn reuses the KV cache, each token is stamped
where it is made, threads are measured, chosen, stored and cut to the idle cores, and the engine process
runs below the GUI with OpenMP's idle threads sleeping."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from lmscales.core import tasks
from lmscales.core.engines import local_worker
from lmscales.core.engines.local import LocalEngine
from lmscales.core.events import GenerationRequest
from lmscales.core.threads import ThreadStore, model_key
from tests.support.drive import run_to_end

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def engine(bundled_model: Path) -> Iterator[LocalEngine]:
    local = LocalEngine(n_ctx=2048, n_threads=2)
    local.load(bundled_model)
    yield local
    local.close()


def turns(engine: LocalEngine, texts: list[str], max_tokens: int = 24) -> list:  # type: ignore[type-arg]
    history: list[tasks.ChatTurn] = []
    results = []
    for index, text in enumerate(texts):
        result = run_to_end(engine, GenerationRequest(tasks.chat_messages(history, text), max_tokens=max_tokens,
                                                      temperature=0.0, seed=index))
        assert result.ok, result.error
        results.append(result.finished)
        history.append(tasks.ChatTurn(text, result.text))
    return results


def test_a_chats_next_turn_evaluates_only_its_new_tokens(engine: LocalEngine) -> None:
    engine.reuse_prompt_cache = True
    first, second, third = turns(engine, ["Name a fruit.", "What colour is it?", "Is it sweet?"])
    assert second.cached_prompt_tokens > first.prompt_tokens // 2  # the first turn's prompt and answer stayed
    assert second.cached_prompt_tokens < second.prompt_tokens
    assert third.cached_prompt_tokens > second.cached_prompt_tokens
    evaluated = third.native.prompt_tokens if third.native else None
    assert evaluated is not None and evaluated <= third.prompt_tokens - third.cached_prompt_tokens + 1


def test_without_reuse_every_turn_pays_its_whole_prompt(engine: LocalEngine) -> None:
    engine.reuse_prompt_cache = False
    try:
        results = turns(engine, ["Name a fruit.", "What colour is it?"])
    finally:
        engine.reuse_prompt_cache = True
    assert [f.cached_prompt_tokens for f in results] == [0, 0]
    assert results[1].native is not None and results[1].native.prompt_tokens >= results[1].prompt_tokens


def test_reuse_gives_the_same_greedy_answer(engine: LocalEngine) -> None:
    """The cache holds exactly what evaluating the prompt again would give: the same greedy text."""
    texts = ["Name a fruit.", "What colour is it?"]
    engine.reuse_prompt_cache = True
    with_reuse = turns(engine, texts)
    engine.reuse_prompt_cache = False
    try:
        without = turns(engine, texts)
    finally:
        engine.reuse_prompt_cache = True
    assert with_reuse[1].cached_prompt_tokens > 0
    assert [f.text for f in with_reuse] == [f.text for f in without]


def test_each_delta_is_stamped_where_it_was_made(engine: LocalEngine) -> None:
    result = run_to_end(engine, GenerationRequest(tasks.chat_messages([], "Write a long story about a cat."),
                                                  max_tokens=48, temperature=0.7, seed=3))
    finished = result.finished
    assert finished is not None and len(finished.deltas) >= 10
    stamps = [t for t, _ in finished.deltas]
    assert stamps == sorted(stamps)
    assert all(finished.submitted_at <= t for t in stamps)
    assert len(finished.delta_arrivals) == len(finished.deltas)
    assert all(made <= arrived for made, arrived in zip(stamps, finished.delta_arrivals, strict=True))


def test_threads_are_measured_chosen_stored_and_read_back(engine: LocalEngine, tmp_path: Path) -> None:
    store = ThreadStore(tmp_path / "threads.json")
    steps: list[tuple[int, int]] = []
    choice = engine.choose_threads(store, progress=lambda done, total: steps.append((done, total)))
    assert choice is not None and engine.thread_table is not None
    table = engine.thread_table
    counts = [r.threads for r in table.rows]
    assert counts == list(range(1, engine.usable_cores + 1))
    assert steps[-1][0] == steps[-1][1] == 2 * len(counts)  # two rounds over every count
    for measured in table.rows:
        assert measured.decode_rate > 0 and measured.prefill_rate > 0 and measured.decode_cpu_per_100 > 0
    assert (engine.n_threads, engine.n_threads_batch) == (choice.threads, choice.threads_batch)
    assert engine.model is not None and engine.model.threads_reason == choice.reason
    assert "measured fastest" in choice.reason
    assert store.get(engine.thread_key()) == table
    assert engine.thread_key() == model_key(engine.model.info.path, engine.usable_cores, "spin:1000")
    steps.clear()
    again = engine.choose_threads(store, preference="efficient", progress=lambda d, t: steps.append((d, t)))
    assert steps == []  # read from the store, not measured again
    assert again is not None and "most efficient" in again.reason
    # The engine still generates after measuring (the cache was cleared, the threads reset per run).
    assert run_to_end(engine, GenerationRequest(tasks.chat_messages([], "Hi."), max_tokens=8)).ok


class _Busy:
    """A load probe that reports a number of cores kept busy by other processes."""

    def __init__(self, cores: float | None) -> None:
        self.cores = cores

    def start(self) -> None:
        pass

    def stop(self) -> None:
        pass

    def busy_elsewhere(self) -> float | None:
        return self.cores


def test_a_run_uses_no_more_threads_than_idle_cores(engine: LocalEngine) -> None:
    probe = engine.load_probe
    engine.set_threads(2, 2)
    engine.usable_cores, usable = 2, engine.usable_cores
    try:
        engine.load_probe = _Busy(1.0)  # type: ignore[assignment]
        loaded = run_to_end(engine, GenerationRequest(tasks.chat_messages([], "Hi."), max_tokens=8))
        engine.load_probe = _Busy(0.0)  # type: ignore[assignment]
        idle = run_to_end(engine, GenerationRequest(tasks.chat_messages([], "Hi."), max_tokens=8))
        engine.adapt_threads = False
        engine.load_probe = _Busy(2.0)  # type: ignore[assignment]
        fixed = run_to_end(engine, GenerationRequest(tasks.chat_messages([], "Hi."), max_tokens=8))
    finally:
        engine.load_probe, engine.usable_cores, engine.adapt_threads = probe, usable, True
    assert loaded.finished is not None and loaded.finished.threads == 1
    assert idle.finished is not None and idle.finished.threads == 2
    assert fixed.finished is not None and fixed.finished.threads == 2


@pytest.mark.skipif(os.name == "nt", reason="nice values are POSIX (Windows: the priority class, tested apart)")
def test_the_engine_process_runs_below_this_one(engine: LocalEngine) -> None:
    assert engine.pid is not None
    assert psutil.Process(engine.pid).nice() > psutil.Process().nice()


@pytest.mark.parametrize(("policy", "variable", "value"), [("passive", "OMP_WAIT_POLICY", "passive"),
                                                       ("spin:1000", "GOMP_SPINCOUNT", "1000")])
def test_the_openmp_wait_policy_is_set_before_llama_cpp_loads(monkeypatch: pytest.MonkeyPatch, policy: str,
                                                              variable: str, value: str) -> None:
    """The child entry point sets it first thing (here run in a thread, then shut down at once)."""
    import multiprocessing

    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    monkeypatch.delenv("GOMP_SPINCOUNT", raising=False)
    parent, child = multiprocessing.Pipe()
    worker = threading.Thread(target=local_worker.main,
                              args=(child, multiprocessing.RawValue("q", 0)), kwargs={"wait_policy": policy})
    worker.start()
    parent.send(("shutdown",))
    worker.join(timeout=30)
    assert not worker.is_alive()
    assert os.environ.get(variable) == value
