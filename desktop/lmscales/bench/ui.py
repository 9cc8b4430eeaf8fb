"""`lmscales bench ui`: drive the real window offscreen and measure how responsive it stays.

Two phases, figures printed as JSON:
- both sides streaming: the local engine and llama-cpp-python's server on loopback, a chat answer each,
  while a 5 ms probe timer measures how late the GUI event loop runs (its stalls);
- a fast stream: an in-process source pushes text into the large pane as fast as it can, to find the
  characters per second a pane sustains and the stalls that causes.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
from PySide6.QtCore import QCoreApplication, QElapsedTimer, QEventLoop, QTimer
from PySide6.QtWidgets import QApplication

from lmscales.bench.engine import competing
from lmscales.bench.servers import SERVER_MODEL, LlamaServer
from lmscales.core.bundled_model import load_manifest, verify
from lmscales.core.endpoints import Endpoint
from lmscales.core.events import EngineInfo, Event, Finished, GenerationRequest, TextDelta
from lmscales.core.metrics import percentile
from lmscales.core.trial import GenerationParams, TaskInput
from lmscales.ui.app import build_window
from lmscales.ui.main_window import MainWindow

PROBE_INTERVAL_MS = 5


class StallProbe:
    """A fast timer on the GUI thread; how late each tick comes is how long the loop was busy."""

    def __init__(self) -> None:
        self._timer = QTimer()
        self._timer.setInterval(PROBE_INTERVAL_MS)
        self._timer.timeout.connect(self._tick)
        self._clock = QElapsedTimer()
        self.stalls_ms: list[float] = []
        self._last = 0

    def start(self) -> None:
        self.stalls_ms.clear()
        self._clock.start()
        self._last = self._clock.nsecsElapsed()
        self._timer.start()

    def stop(self) -> dict[str, Any]:
        self._timer.stop()
        return {
            "longest_stall_ms": round(max(self.stalls_ms, default=0.0), 2),
            "p99_stall_ms": round(percentile(self.stalls_ms, 99) or 0.0, 2),
            "p50_stall_ms": round(percentile(self.stalls_ms, 50) or 0.0, 2),
            "ticks": len(self.stalls_ms),
        }

    def _tick(self) -> None:
        now = self._clock.nsecsElapsed()
        self.stalls_ms.append(max(0.0, (now - self._last) / 1e6 - PROBE_INTERVAL_MS))
        self._last = now


class FloodEngine:
    """An in-process source for the pane's throughput: `rate` deltas a second, paced like a network stream
    (it waits between bursts, as a socket read does), or with `rate=None` as fast as Python can produce."""

    def __init__(self, seconds: float, rate: float | None, piece: str = "lorem ", paragraph: int = 100) -> None:
        self.seconds = seconds
        self.rate = rate
        self.piece = piece
        self.paragraph = paragraph  # a paragraph break every this many pieces (~600 characters), as answers have
        self._cancelled = False

    def generate(self, request: GenerationRequest) -> Iterator[Event]:
        self._cancelled = False
        start = time.perf_counter()
        deltas: list[tuple[float, str]] = []
        while not self._cancelled:
            now = time.perf_counter()
            if now - start > self.seconds:
                break
            if self.rate is not None:
                due = start + len(deltas) / self.rate
                if due > now:
                    time.sleep(due - now)
                    now = time.perf_counter()
            piece = "\n\n" if len(deltas) % self.paragraph == self.paragraph - 1 else self.piece
            deltas.append((now, piece))
            yield TextDelta(piece, now)
        yield Finished(0, "estimated", len(deltas), "estimated", start, tuple(deltas), "stop")

    info = EngineInfo(kind="remote", model="flood", context_tokens=1 << 20, host="in-process", loopback=True)
    pid = None

    def cpu_seconds(self) -> float | None:
        return None

    def cancel(self) -> None:
        self._cancelled = True

    def close(self) -> None:
        self._cancelled = True


def _wait(app: QCoreApplication, condition: Any, timeout: float) -> bool:
    """Run the real event loop until `condition()` holds (checked every 20 ms) or `timeout` passes."""
    loop = QEventLoop()
    deadline = time.monotonic() + timeout
    check = QTimer()
    check.setInterval(20)
    check.timeout.connect(lambda: loop.quit() if condition() or time.monotonic() > deadline else None)
    check.start()
    if not condition():
        loop.exec()
    check.stop()
    return bool(condition())


def _idle_cpu_percent(seconds: float) -> float:
    """CPU this process spends, in % of one core, while its event loop idles for `seconds`."""
    process = psutil.Process()
    loop = QEventLoop()
    before = process.cpu_times()
    started = time.perf_counter()
    QTimer.singleShot(int(seconds * 1000), loop.quit)
    loop.exec()
    after = process.cpu_times()
    used = (after.user - before.user) + (after.system - before.system)
    return 100.0 * used / (time.perf_counter() - started)


def _cost_of_watching(window: MainWindow, seconds: float) -> dict[str, Any]:
    """The GUI process's CPU with the app idle: monitor and graphs off, then on at 4 Hz and at 20 Hz."""
    window.resources.stop()
    window.monitor.stop()
    baseline = _idle_cpu_percent(seconds)
    figures: dict[str, Any] = {"seconds_each": seconds, "graphs_off_percent_of_core": round(baseline, 2)}
    for rate in (4.0, 20.0):
        window.monitor.set_rate(rate)
        window.resources.rate_combo.setCurrentIndex(window.resources.rate_combo.findData(rate))
        window.start_sampling()
        _idle_cpu_percent(1.0)  # let the buffers and the first samples settle
        total = _idle_cpu_percent(seconds)
        window.resources.stop()
        window.monitor.stop()
        figures[f"at_{rate:g}_hz_percent_of_core"] = round(total, 2)
        figures[f"at_{rate:g}_hz_watching_cost_percent_of_core"] = round(total - baseline, 2)
    window.monitor.set_rate(4.0)
    window.start_sampling()
    return figures


def _both_sides(app: QApplication, window: MainWindow, runs: int, max_tokens: int) -> dict[str, Any]:
    probe = StallProbe()
    window.generation.max_tokens.setValue(max_tokens)
    window.tasks.set_task("chat")
    results = []
    for index in range(runs):
        window.tasks.chat_input.setPlainText(f"Tell me a story about a lighthouse, number {index + 1}.")
        probe.start()
        window.send(("small", "large"))
        finished = _wait(app, lambda: not window.running, timeout=300)
        figures = probe.stop()
        figures["completed"] = finished
        figures["local_chars"] = len(window.panes["small"].view.answer)
        figures["remote_chars"] = len(window.panes["large"].view.answer)
        results.append(figures)
        window.new_chat()
    return {
        "runs": results,
        "longest_stall_ms": max(r["longest_stall_ms"] for r in results),
        "p99_stall_ms": max(r["p99_stall_ms"] for r in results),
    }


def _fast_stream(app: QApplication, window: MainWindow, seconds: float, rate: float | None) -> dict[str, Any]:
    flood = FloodEngine(seconds, rate)
    saved = window.session.engines["large"]
    window.session.set_engine("large", flood)
    pane = window.panes["large"]
    probe = StallProbe()
    rendered: dict[str, float] = {}
    # The pane renders the final Markdown when the side ends: time that apart from the stream.
    pane.bridge.sideEnded.connect(lambda *_: rendered.setdefault("start", time.perf_counter()))
    probe.start()
    started = time.perf_counter()
    window.submit(TaskInput("chat", "flood"), GenerationParams(max_tokens=1), ("large",))
    _wait(app, lambda: not window.running, timeout=seconds * 20 + 30)
    elapsed = rendered.get("start", time.perf_counter()) - started
    figures = probe.stop()
    figures["final_render_ms"] = round((time.perf_counter() - rendered.get("start", time.perf_counter())) * 1000, 1)
    window.session.set_engine("large", saved)
    chars = len(pane.view.answer)
    return {
        "offered_deltas_per_second": rate,
        "seconds": round(elapsed, 2),
        "chars_shown": chars,
        "chars_per_second": round(chars / elapsed),
        "appends": pane.view.appends,
        **figures,
    }


# One frame at 60 Hz for nearly every stall; no stall a user would see as a hitch.
GOALS = {"p99_stall_ms": 16.0, "longest_stall_ms": 100.0, "watching_cost_percent": 3.0}


def bench_ui(
    runs: int = 2,
    max_tokens: int = 160,
    flood_seconds: float = 2.0,
    threads: int | None = None,
    watch_seconds: float = 8.0,
    competing_processes: int = 0,
) -> dict[str, Any]:
    """The window's event-loop stalls while both sides stream with the graphs on, its throughput on a fast
    stream, and what watching costs, with `competing_processes` CPU-bound processes running throughout."""
    with competing(competing_processes):
        report = _bench_ui(runs, max_tokens, flood_seconds, threads, watch_seconds)
    report["competing_processes"] = competing_processes
    return report


def _bench_ui(
    runs: int,
    max_tokens: int,
    flood_seconds: float,
    threads: int | None,
    watch_seconds: float,
) -> dict[str, Any]:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    app = QApplication.instance() or QApplication([])
    assert isinstance(app, QApplication)
    model = verify(load_manifest())
    with LlamaServer(Path(model), threads=1) as server:
        window, workspace = build_window(threads=threads, endpoint=Endpoint(server.base_url, SERVER_MODEL))
        try:
            window.show()
            if not _wait(app, lambda: workspace.info("small") is not None and not window.loaders["small"].busy,
                         timeout=120):
                raise RuntimeError("the local model did not load")
            watching = _cost_of_watching(window, watch_seconds)
            both = _both_sides(app, window, runs, max_tokens)
            # 5,000 tokens a second: several times faster than the fastest hosted APIs stream today
            fast = _fast_stream(app, window, flood_seconds, rate=5000.0)
            unpaced = _fast_stream(app, window, flood_seconds, rate=None)
        finally:
            window.shutdown()
            window.close()
            workspace.close()
    return {
        "benchmark": "ui",
        "platform": app.platformName(),
        "cost_of_watching_idle": watching,
        "both_sides_streaming": both,
        "fast_stream": fast,
        "unpaced_flood": unpaced,
        "goals": {
            "p99_stall_ms": GOALS["p99_stall_ms"],
            "longest_stall_ms": GOALS["longest_stall_ms"],
            "watching_cost_at_4_hz_percent_of_core": GOALS["watching_cost_percent"],
            "met": both["p99_stall_ms"] <= GOALS["p99_stall_ms"]
            and both["longest_stall_ms"] <= GOALS["longest_stall_ms"]
            and watching["at_4_hz_watching_cost_percent_of_core"] < GOALS["watching_cost_percent"],
        },
        "graphs_on_during_streaming": True,
        "definitions": {
            "stall": f"how late a {PROBE_INTERVAL_MS} ms timer on the GUI thread fires: time the event loop was busy",
            "fast_stream": "an in-process source paced at 5,000 deltas (tokens) a second, waiting between them as a "
            "network read does",
            "unpaced_flood": "the same source never waiting: a Python thread holding the GIL, the pane's upper bound",
        },
    }
