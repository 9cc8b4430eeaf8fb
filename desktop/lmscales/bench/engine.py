"""`lmscales bench engine`: the small side's whole story, per thread count, against llama.cpp's own figures.

For each thread count: our decode rate end to end (child process, sampler chain, detokenizer, stop strings,
the pipe, events) against llama.cpp's native decode rate (`llama_perf_context`) for the very same
generations; the time to first token against native prompt evaluation; CPU-seconds of the engine process
and package joules (RAPL, where readable) per 100 tokens. Then the turn-5 time to first token of a scripted
chat with and without reusing the KV cache. Optionally with busy processes competing for the cores.

Figures, never timed tests: `--check` turns the goals into an exit code for scripts.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import platform
import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from lmscales.core import metrics, tasks
from lmscales.core.engines.local import LocalEngine
from lmscales.core.events import EngineError, Finished, GenerationRequest
from lmscales.core.resource_monitor import RaplMeter

BENCH_PROMPT = (
    "Write a long, detailed story about a lighthouse keeper who finds a message in a bottle. "
    "Describe the sea, the weather and every step of the keeper's day."
)
CHAT_TURNS = (
    "Hello! I am planning a trip to the coast next week.",
    "What should I pack for windy weather?",
    "And what could I cook in a small cabin kitchen?",
    "Which of those dishes is the quickest?",
    "Thanks. Sum up your advice in two sentences.",
)
GOALS = {"ratio_min": 0.98, "ttft_overhead_max_ms": 15.0}


def _finish(engine: LocalEngine, request: GenerationRequest) -> Finished:
    """Run one generation on the engine itself (below any session) and return its end."""
    finished: Finished | None = None
    for event in engine.generate(request):
        if isinstance(event, Finished):
            finished = event
        elif isinstance(event, EngineError):
            raise RuntimeError(event.message)
    if finished is None:
        raise RuntimeError("the engine ended without a result")
    return finished


def _spin(stop: Any) -> None:
    while not stop.value:
        pass


@contextmanager
def competing(processes: int) -> Iterator[None]:
    """`processes` CPU-bound processes (a browser tab, a build) for the duration of the block."""
    context = multiprocessing.get_context("spawn")
    stop = context.RawValue("b", 0)
    workers = [context.Process(target=_spin, args=(stop,), daemon=True) for _ in range(processes)]
    for worker in workers:
        worker.start()
    time.sleep(1.0 if processes else 0.0)  # let them reach full speed and the load probe see them
    try:
        yield
    finally:
        stop.value = 1
        for worker in workers:
            worker.join(timeout=5)
            if worker.is_alive():
                worker.kill()


def _thread_run(engine: LocalEngine, request: GenerationRequest, runs: int, rapl: RaplMeter) -> dict[str, Any]:
    """`runs` generations at the engine's current thread counts, after one warm-up that is not counted."""
    _finish(engine, dataclasses.replace(request, max_tokens=16))
    ours_tokens = ours_seconds = arrival_tokens = arrival_seconds = native_tokens = native_seconds = 0.0
    cpu_seconds = joules = 0.0
    joules_known = rapl.available
    overheads: list[float] = []
    ttfts: list[float] = []
    threads_used: set[int | None] = set()
    per_run: list[dict[str, Any]] = []
    for index in range(runs):
        cpu_before = engine.cpu_seconds() or 0.0
        energy_before = rapl.read() if rapl.available else None
        finished = _finish(engine, dataclasses.replace(request, seed=index + 1))
        energy_after = rapl.read() if rapl.available else None
        cpu_seconds += (engine.cpu_seconds() or 0.0) - cpu_before
        if energy_before and energy_after:
            joules += rapl.joules_between(energy_before, energy_after)
        else:
            joules_known = False
        native = finished.native
        if native is None:
            raise RuntimeError("llama.cpp reported no timings")
        visible = [t for t, text in finished.deltas if text]
        ours_tokens += finished.output_tokens - 1
        ours_seconds += visible[-1] - visible[0]
        arrivals = [t for t, (_, text) in zip(finished.delta_arrivals, finished.deltas, strict=False) if text]
        if len(arrivals) >= 2 and arrivals[-1] > arrivals[0]:
            arrival_tokens += finished.output_tokens - 1
            arrival_seconds += arrivals[-1] - arrivals[0]
        native_tokens += native.eval_tokens
        native_seconds += native.eval_ms / 1000.0
        computed = metrics.compute(finished)
        ttft = computed.time_to_first_token.value
        assert ttft is not None
        ttfts.append(ttft)
        overheads.append(ttft - native.prompt_eval_ms / 1000.0)
        threads_used.add(finished.threads)
        per_run.append({
            "output_tokens": finished.output_tokens,
            "prompt_tokens": finished.prompt_tokens,
            "cached_prompt_tokens": finished.cached_prompt_tokens,
            "threads": finished.threads,
            "time_to_first_token_s": round(ttft, 4),
            "native_prompt_eval_s": round(native.prompt_eval_ms / 1000.0, 4),
            "end_to_end_decode_rate": computed.decode_rate.value,
            "native_decode_rate": native.decode_rate,
        })
    total_tokens = sum(r["output_tokens"] for r in per_run)
    ours = ours_tokens / ours_seconds
    native_rate = native_tokens / native_seconds
    return {
        "threads": engine.n_threads,
        "threads_used": sorted(t for t in threads_used if t is not None),
        "end_to_end_decode_rate": round(ours, 2),
        "arrival_decode_rate": round(arrival_tokens / arrival_seconds, 2) if arrival_seconds else None,
        "native_decode_rate": round(native_rate, 2),
        "ratio": round(ours / native_rate, 4),
        "ttft_s": round(statistics.median(ttfts), 4),
        "ttft_overhead_ms": round(1000.0 * statistics.median(overheads), 2),
        "native_prefill_rate": round(statistics.median(
            r["prompt_tokens"] / r["native_prompt_eval_s"] for r in per_run if r["native_prompt_eval_s"]), 1),
        "cpu_seconds_per_100_tokens": round(100.0 * cpu_seconds / total_tokens, 3),
        "joules_per_100_tokens": round(100.0 * joules / total_tokens, 2) if joules_known else None,
        "per_run": per_run,
    }


def chat_reuse(engine: LocalEngine, reuse: bool, max_tokens: int = 48) -> dict[str, Any]:
    """A scripted 5-turn chat; the time to first token of each turn, with or without the KV cache kept."""
    engine.reuse_prompt_cache = reuse
    history: list[tasks.ChatTurn] = []
    turns = []
    for index, text in enumerate(CHAT_TURNS):
        messages = tasks.chat_messages(history, text)
        finished = _finish(engine, GenerationRequest(messages, max_tokens=max_tokens, temperature=0.7, seed=index))
        ttft = metrics.compute(finished).time_to_first_token.value
        turns.append({"turn": index + 1, "prompt_tokens": finished.prompt_tokens,
                      "cached_prompt_tokens": finished.cached_prompt_tokens,
                      "ttft_s": None if ttft is None else round(ttft, 4)})
        history = [*history, tasks.ChatTurn(text, finished.text)]
    return {"reuse": reuse, "turns": turns}


def bench_engine(
    engine: LocalEngine,
    runs: int = 3,
    max_tokens: int = 256,
    thread_counts: list[int] | None = None,
    competing_processes: int = 0,
    chat: bool = True,
) -> dict[str, Any]:
    """Every figure of the small side per thread count (aggregated over `runs` as total tokens over total
    time), plus the chat-reuse comparison, with `competing_processes` busy processes running throughout."""
    assert engine.model is not None
    chosen, reason = (engine.n_threads, engine.n_threads_batch), engine.threads_reason
    counts = thread_counts or [chosen[0]]
    request = GenerationRequest(
        messages=tasks.chat_messages([], BENCH_PROMPT), max_tokens=max_tokens, temperature=0.7, seed=1
    )
    rapl = RaplMeter()
    rows = []
    reuse_before = engine.reuse_prompt_cache
    with competing(competing_processes):
        engine.reuse_prompt_cache = False  # every run pays its whole prompt: TTFT against native prefill
        for n in counts:
            engine.set_threads(n, n)
            rows.append(_thread_run(engine, request, runs, rapl))
        engine.set_threads(*chosen, reason=reason)
        chats = [chat_reuse(engine, reuse) for reuse in (False, True)] if chat else []
    engine.reuse_prompt_cache = reuse_before
    main = rows[0] if thread_counts is None else max(rows, key=lambda r: r["end_to_end_decode_rate"])
    turn5 = {("with_reuse" if c["reuse"] else "without_reuse"): c["turns"][-1]["ttft_s"] for c in chats}
    met = main["ratio"] >= GOALS["ratio_min"] and main["ttft_overhead_ms"] <= GOALS["ttft_overhead_max_ms"]
    return {
        "benchmark": "engine",
        "model": engine.model.info.name or engine.model.info.path,
        "quantization": engine.model.info.quantization,
        "threads_chosen": {"decode": chosen[0], "prompt": chosen[1], "reason": reason},
        "adapt_threads": engine.adapt_threads,
        "wait_policy": engine.wait_policy or "default",
        "wait_policy_applied": engine.wait_policy_applied,
        "openmp_runtime": engine.openmp_runtime,
        "low_priority": engine.low_priority,
        "competing_processes": competing_processes,
        "n_ctx": engine.n_ctx,
        "max_tokens": max_tokens,
        "runs": runs,
        "load_seconds": round(engine.model.load_seconds, 3),
        "end_to_end_decode_rate": main["end_to_end_decode_rate"],
        "native_decode_rate": main["native_decode_rate"],
        "ratio": main["ratio"],
        "ttft_overhead_ms": main["ttft_overhead_ms"],
        "per_thread_count": rows,
        "chat_turn_5_ttft_s": turn5,
        "chat": chats,
        "goals": {**GOALS, "met": met},
        "machine": {"platform": platform.platform(), "processor": platform.processor() or platform.machine(),
                    "usable_cores": engine.usable_cores, "rapl": rapl.available},
        "definitions": {
            "end_to_end_decode_rate": "(output tokens - 1) / (last delta - first delta), each delta stamped in "
            "the engine process as its token is made (after sampling, detokenizing and the stop-string check)",
            "arrival_decode_rate": "the same over the deltas' arrival times in this process (after the pipe)",
            "native_decode_rate": "llama_perf_context n_eval / t_eval (llama_decode time only)",
            "ttft_overhead_ms": "median over runs of time to first token minus llama.cpp's prompt evaluation "
            "time, from an empty cache",
            "cpu_seconds_per_100_tokens": "the engine process's user + system time over the measured runs "
            "(prompt included) per 100 output tokens",
            "joules_per_100_tokens": "CPU package energy (RAPL, every process on the package) per 100 output "
            "tokens; null where RAPL cannot be read",
        },
    }


def describe(report: dict[str, Any]) -> str:
    """The report as a table for a terminal."""
    lines = [
        f"{report['model']} ({report['quantization']}), {report['machine']['usable_cores']} usable cores, "
        f"OpenMP wait policy {report['wait_policy']}, {'adaptive' if report['adapt_threads'] else 'fixed'} "
        f"threads, {report['competing_processes']} competing processes",
        f"{'threads':>7} {'ours tok/s':>10} {'native':>8} {'ratio':>6} {'TTFT ms':>8} {'overhead ms':>11} "
        f"{'prefill tok/s':>13} {'CPU-s/100':>9} {'J/100':>6}",
    ]
    for row in report["per_thread_count"]:
        joules = f"{row['joules_per_100_tokens']:.1f}" if row["joules_per_100_tokens"] is not None else "n/a"
        lines.append(
            f"{row['threads']:>7} {row['end_to_end_decode_rate']:>10.1f} {row['native_decode_rate']:>8.1f} "
            f"{row['ratio']:>6.3f} {1000 * row['ttft_s']:>8.1f} {row['ttft_overhead_ms']:>11.1f} "
            f"{row['native_prefill_rate']:>13.0f} {row['cpu_seconds_per_100_tokens']:>9.2f} {joules:>6}")
    turn5 = report["chat_turn_5_ttft_s"]
    if turn5:
        lines.append(f"chat turn 5 TTFT: {1000 * turn5['without_reuse']:.0f} ms without reuse, "
                     f"{1000 * turn5['with_reuse']:.0f} ms with reuse")
    goals = report["goals"]
    lines.append(f"goals (ratio >= {goals['ratio_min']}, TTFT overhead <= {goals['ttft_overhead_max_ms']} ms): "
                 + ("met" if goals["met"] else "NOT met"))
    return "\n".join(lines)
