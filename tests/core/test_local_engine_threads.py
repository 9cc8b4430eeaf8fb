"""The lean decode loop on the real bundled model: a chat's next turn reuses the KV cache, each token is stamped
where it is made, threads are measured, chosen, stored and cut to the idle cores, and the engine process
runs below the GUI with OpenMP's idle threads sleeping."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import psutil
import pytest

from lmscales.core import tasks
from lmscales.core.engines import local_worker
from lmscales.core.engines.local import LocalEngine
from lmscales.core.events import GenerationRequest, TextDelta
from lmscales.core.thread_counts import ThreadStore, model_key
from tests.support.drive import run_to_end

pytestmark = pytest.mark.slow


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
    # Stamped in the engine process, not on arrival: before the pipe delivered them, and one apiece.
    assert any(made < arrived for made, arrived in zip(stamps, finished.delta_arrivals, strict=True))
    assert len(set(stamps)) == len(stamps)


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


def test_the_engine_module_does_not_load_llama_cpp_before_the_child_sets_its_environment() -> None:
    import subprocess
    import sys

    code = ("import sys, lmscales.core.engines.local, lmscales.core.engines.local_worker; "
            "print('llama_cpp' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert result.stdout.strip() == "False"


def test_the_openmp_runtime_is_known_and_the_store_keys_on_the_policy_that_took_effect(engine: LocalEngine) -> None:
    assert engine.openmp_runtime in ("libgomp", "vcomp", "libomp", "none", "unknown")
    if engine.openmp_runtime == "libgomp":
        assert engine.wait_policy_applied == "spin:1000"
    else:  # libgomp's spin count means nothing to another runtime
        assert engine.wait_policy_applied == "default"
    assert engine.thread_key().endswith("|" + engine.wait_policy_applied)


def test_after_a_stop_string_or_a_stop_the_cache_still_gives_the_same_answer(engine: LocalEngine) -> None:
    """What the cache holds after a run cut short (a stop string; a cancel while decoding) is what a fresh
    evaluation would give: the next greedy answer is the same with and without reuse, and the reused prefix is
    as long as after a run that went to its end. (A cancel during the prompt clears the cache:
    `llama_loop._decode`.)

    The follow-up has a clear answer on purpose. llama.cpp's logits depend on how a prompt is split into
    batches, so a question whose two best tokens are close flips with the split alone: on the AVX2 "haswell"
    backend "Now count backwards from 5." began "5, 6" fresh and "1, 2" after a reuse of the same 36 tokens."""
    import dataclasses

    ask = GenerationRequest(tasks.chat_messages([], "Count from 1 to 20, separated by commas."), max_tokens=40,
                            temperature=0.0, seed=1)
    follow = GenerationRequest(tasks.chat_messages([tasks.ChatTurn("Count from 1 to 20, separated by commas.",
                                                                   "1, 2, 3, 4")], "What is the capital of France?"),
                               max_tokens=24, temperature=0.0, seed=1)
    engine.reuse_prompt_cache = False
    try:
        fresh = run_to_end(engine, follow).text
    finally:
        engine.reuse_prompt_cache = True
    assert "Paris" in fresh
    run_to_end(engine, ask)
    whole = run_to_end(engine, follow)  # after a run that went to its end
    assert whole.finished is not None and whole.finished.cached_prompt_tokens > 0 and whole.text == fresh
    stopped = run_to_end(engine, dataclasses.replace(ask, stop=("5",)))
    assert stopped.finished is not None and stopped.finished.stop_reason == "stop"
    after_stop = run_to_end(engine, follow)
    assert after_stop.finished is not None
    assert after_stop.finished.cached_prompt_tokens == whole.finished.cached_prompt_tokens
    assert after_stop.text == fresh
    for event in engine.generate(dataclasses.replace(ask, max_tokens=200)):
        if isinstance(event, TextDelta):
            engine.cancel()  # stopped while decoding: the cache holds part of an answer
    after_cancel = run_to_end(engine, follow)
    assert after_cancel.finished is not None
    assert after_cancel.finished.cached_prompt_tokens == whole.finished.cached_prompt_tokens
    assert after_cancel.text == fresh


def test_a_new_model_file_does_not_inherit_the_previous_ones_threads(bundled_model: Path, tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "other.gguf"
    shutil.copyfile(bundled_model, copy)
    local = LocalEngine(n_ctx=1024, n_threads=1)
    try:
        local.load(bundled_model)
        assert local.choose_threads(ThreadStore(tmp_path / "threads.json"), measure=True) is not None
        assert local.thread_table is not None and local.threads_reason
        model = local.load(copy)
        assert local.thread_table is None and local.threads_reason == "" and model.threads_reason == ""
        assert local.n_threads_batch == local.n_threads
    finally:
        local.close()
