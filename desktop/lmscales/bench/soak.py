"""`lmscales bench soak`: many local generations back to back through the real window and engine, to catch
leaks: memory of the GUI and engine processes at start and end, threads and processes left behind, failures."""

from __future__ import annotations

import gc
import os
import threading
import time
from typing import Any

import psutil
from PySide6.QtWidgets import QApplication

from lmscales.bench.ui import _wait
from lmscales.ui.app import build_window

WARMUP_RUNS = 10
PROMPTS = ("Name a colour and say why you like it.", "Give me a tip for a rainy day.",
           "Describe a cat in one sentence.", "What is a good breakfast?")


def _rss(pid: int | None) -> int | None:
    try:
        return int(psutil.Process(pid).memory_info().rss) if pid else None
    except psutil.Error:
        return None


def _engine_processes() -> list[psutil.Process]:
    return [p for p in psutil.Process().children(recursive=True) if "spawn_main" in " ".join(p.cmdline())]


def bench_soak(runs: int = 100, max_tokens: int = 32, threads: int | None = None) -> dict[str, Any]:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    app = QApplication.instance() or QApplication([])
    assert isinstance(app, QApplication)
    threads_before = threading.active_count()
    window, workspace = build_window(threads=threads)
    engine = workspace.local_engine("small")  # the small slot's engine, the same before and after its load
    assert engine is not None
    window.show()
    failures: list[str] = []
    try:
        if not _wait(app, lambda: engine.model is not None and not window.loaders["small"].busy, timeout=120):
            raise RuntimeError("the local model did not load")
        window.generation.max_tokens.setValue(max_tokens)

        def one(index: int) -> None:
            window.tasks.set_task("chat")
            window.tasks.chat_input.setPlainText(PROMPTS[index % len(PROMPTS)])
            window.send(("small",))
            if not _wait(app, lambda: not window.running, timeout=120):
                failures.append(f"run {index + 1}: did not finish within 120 s")
                window.stop()
            trial = window.history_store.list()[-1] if len(window.history_store) else None
            result = trial.sides[0] if trial is not None else None
            if result is not None and result.status in ("error", "incomplete"):
                failures.append(f"run {index + 1}: {result.error.message if result.error else result.status}")
            if index % 10 == 9:
                window.new_chat()  # a chat of 100 turns would test the context, not leaks

        # Warm-up: one whole cycle of the workload (ten chat turns, then a new chat). llama.cpp allocates its
        # KV cache for the whole context up front and the pages become resident as positions are first used,
        # so memory grows until the longest conversation has been seen once; a leak is growth after that.
        for index in range(WARMUP_RUNS):
            one(index)
        gc.collect()
        start = {"gui_rss": _rss(os.getpid()), "engine_rss": _rss(engine.pid), "engine_pid": engine.pid}
        started = time.perf_counter()
        for index in range(runs):
            one(index)
        seconds = time.perf_counter() - started
        gc.collect()
        _wait(app, lambda: False, timeout=0.5)
        end = {"gui_rss": _rss(os.getpid()), "engine_rss": _rss(engine.pid), "engine_pid": engine.pid}
        history_rows = window.history.row_count()
    finally:
        window.close()
        window.shutdown()
        workspace.close()
    leftover = _engine_processes()
    _, alive = psutil.wait_procs(leftover, timeout=5)
    deadline = time.monotonic() + 5
    while threading.active_count() > threads_before and time.monotonic() < deadline:
        _wait(app, lambda: False, timeout=0.1)

    def growth(key: str) -> float | None:
        if start[key] is None or end[key] is None:
            return None
        return round(100.0 * (end[key] - start[key]) / start[key], 2)  # type: ignore[operator]

    return {
        "benchmark": "soak",
        "runs": runs,
        "warmup_runs": WARMUP_RUNS,
        "max_tokens": max_tokens,
        "seconds": round(seconds, 1),
        "history_rows": history_rows,
        "rss_bytes": {"start": start, "end": end},
        "gui_rss_growth_percent": growth("gui_rss"),
        "engine_rss_growth_percent": growth("engine_rss"),
        "engine_restarted": start["engine_pid"] != end["engine_pid"],
        "leaked_threads": max(0, threading.active_count() - threads_before),
        "leaked_processes": [p.pid for p in alive],
        "failures": failures,
        "goals": {"rss_growth_percent_below": 10, "failures": 0,
                  "met": not failures and not alive and all(
                      (g is not None and g < 10) for g in (growth("gui_rss"), growth("engine_rss")))},
    }
