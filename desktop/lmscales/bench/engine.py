"""Benchmarks that print figures (never timed tests): `lmscales bench ...`."""

from __future__ import annotations

import dataclasses
import platform
from typing import Any

from lmscales.core import metrics, tasks
from lmscales.core.engines.local import LocalEngine
from lmscales.core.events import EngineError, Finished, GenerationRequest

BENCH_PROMPT = (
    "Write a long, detailed story about a lighthouse keeper who finds a message in a bottle. "
    "Describe the sea, the weather and every step of the keeper's day."
)


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


def bench_engine(engine: LocalEngine, runs: int = 3, max_tokens: int = 256) -> dict[str, Any]:
    """Our decode rate end to end (child process, events, IPC, parent timestamps) against llama.cpp's
    native decode rate (`llama_perf_context`) for the very same generations: same model, prompt, threads.

    Aggregated over the runs as total tokens over total time, after one warm-up run that is not counted.
    """
    assert engine.model is not None
    request = GenerationRequest(
        messages=tasks.chat_messages([], BENCH_PROMPT), max_tokens=max_tokens, temperature=0.7, seed=1
    )
    _finish(engine, GenerationRequest(request.messages, max_tokens=16, seed=1))  # warm-up
    per_run = []
    ours_tokens = ours_seconds = native_tokens = native_seconds = 0.0
    for index in range(runs):
        finished = _finish(engine, dataclasses.replace(request, seed=index + 1))
        if finished.native is None:
            raise RuntimeError("llama.cpp reported no timings")
        visible = [t for t, text in finished.deltas if text]
        span = visible[-1] - visible[0]
        computed = metrics.compute(finished)
        native = finished.native
        assert native is not None
        ours_tokens += finished.output_tokens - 1
        ours_seconds += span
        native_tokens += native.eval_tokens
        native_seconds += native.eval_ms / 1000.0
        per_run.append(
            {
                "output_tokens": finished.output_tokens,
                "prompt_tokens": finished.prompt_tokens,
                "time_to_first_token_s": computed.time_to_first_token.value,
                "end_to_end_decode_rate": computed.decode_rate.value,
                "native_decode_rate": native.decode_rate,
                "native_prefill_rate": native.prefill_rate,
            }
        )
    ours = ours_tokens / ours_seconds
    native_rate = native_tokens / native_seconds
    return {
        "benchmark": "engine",
        "model": engine.model.info.name or engine.model.info.path,
        "quantization": engine.model.info.quantization,
        "threads": engine.n_threads,
        "n_ctx": engine.n_ctx,
        "max_tokens": max_tokens,
        "runs": runs,
        "load_seconds": round(engine.model.load_seconds, 3),
        "end_to_end_decode_rate": ours,
        "native_decode_rate": native_rate,
        "ratio": ours / native_rate,
        "per_run": per_run,
        "machine": {"platform": platform.platform(), "processor": platform.processor() or platform.machine()},
        "definitions": {
            "end_to_end_decode_rate": "(output tokens - 1) / (last delta - first delta), stamped in the GUI "
            "process on arrival",
            "native_decode_rate": "llama_perf_context n_eval / t_eval (llama_decode time only)",
        },
    }
