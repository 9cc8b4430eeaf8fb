"""The resource monitor: what each side costs this machine, sampled a few times a second.

A background thread (or `sample_once`, which tests call directly) reads the engine process of each side that
runs one on this machine (a GGUF side's child process), the GUI process, the whole system, the network and
the CPU package's power, and appends each reading to fixed-size numpy ring buffers that the graphs draw from.
No Qt here: the UI subscribes through its bridge.

Engine processes are watched per slot ("small", "large"; `watch`/`unwatch`, which only the session calls, at
each side's run), so two GGUF sides running at once each have their own series (`small_engine_cpu_percent`,
`large_engine_rss_bytes`, ...) and their own marks and run summaries (`lmscales.core.run_resources`). A
sample's `engine_*` figures are the engines' sum: what this machine's model processes use together.

Timestamps are `time.perf_counter()`, the clock the engines stamp `TextDelta`s and `submitted_at` with, so
samples, token counts and run boundaries share one time axis.

Figures worked out from a difference between two readings (every CPU %, network rate and RAPL power) are
NaN in the first sample after the thing began to be watched: psutil's first `cpu_percent()` is 0.0 by
definition, not a measurement, and a difference needs two ends. A missing engine process reads NaN too.

Power is the CPU package's own energy counter (Linux RAPL, "measured", `lmscales.core.rapl`) where it can be
read; elsewhere it is an *estimate*: the engines' CPU use in cores × a watts-per-core setting ("estimated").
The two differ in scope too: RAPL covers the whole package (every process), the estimate only the engines.
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import psutil

from lmscales.core.defaults import (
    DEFAULT_RATE_HZ,
    DEFAULT_WATTS_PER_CORE,
    DEFAULT_WINDOW_S,
    MAX_RATE_HZ,
    MIN_RATE_HZ,
)
from lmscales.core.events import Provenance
from lmscales.core.metrics import Figure
from lmscales.core.process_readings import GONE, NO_PROCESS, Watched, busy_percent, read_process
from lmscales.core.rapl import DEFAULT_POWERCAP_ROOT, RaplMeter
from lmscales.core.ring_buffer import RingBuffer
from lmscales.core.run_resources import ResourceMark, RunResourceSummary, Side, machine_energy, summarize

__all__ = [  # the marks, summaries and RAPL meter live apart; their names are still importable from here
    "DEFAULT_POWERCAP_ROOT",
    "ENGINE_CPU_TOOLTIP",
    "ENGINE_SERIES",
    "SCALAR_SERIES",
    "SLOTS",
    "RaplMeter",
    "ResourceMark",
    "ResourceMonitor",
    "ResourceSample",
    "RingBuffer",
    "RunResourceSummary",
    "Side",
    "engine_series",
]

log = logging.getLogger(__name__)

SLOTS: tuple[Side, ...] = ("small", "large")
TOKEN_WINDOW_S = 1.0

ENGINE_CPU_TOOLTIP = (
    "CPU used by the local engine's process. llama.cpp's worker threads spin while they wait for each other, "
    "so while it generates this reads close to n_threads × 100 % of one core (2 threads: about 2 cores) even "
    "when generation is bound by memory bandwidth rather than arithmetic. High CPU here does not mean the CPU "
    "is the bottleneck."
)

_NAN = math.nan


@dataclass(frozen=True)
class ResourceSample:
    """One reading of everything the monitor watches. NaN means "not available in this sample".

    CPU percentages are of the whole machine (0-100 %); `engine_cpu_cores` is the same use in cores
    (1.8 = 1.8 cores busy). The `engine_*` figures are the sum over the watched engine processes (one per side
    that runs a GGUF here; each side's own figures are in the monitor's per-side series), and `engine_pid`
    the small side's engine, else the large side's. Memory figures are bytes. `memory_used_bytes` is
    total - available. `net_recv_bytes_per_s` counts every interface of the machine, not only this app's
    traffic. (Recordings store these fields as they are: a new field needs a new recording version.)
    """

    timestamp: float
    engine_pid: int | None
    engine_cpu_percent: float
    engine_cpu_cores: float
    engine_rss_bytes: float
    engine_threads: float
    gui_cpu_percent: float
    gui_rss_bytes: float
    system_cpu_percent: float
    system_cpu_per_core: tuple[float, ...]
    memory_used_bytes: float
    memory_total_bytes: float
    net_recv_bytes_per_s: float
    small_tokens_per_s: float
    large_tokens_per_s: float
    power_watts: float
    power_provenance: Provenance


# The scalar series kept in ring buffers; `snapshot()` returns these keys plus "system_cpu_per_core"
# (2-D: samples × cores), "power_measured" (bool) and each side's engine series (`engine_series`).
SCALAR_SERIES: tuple[str, ...] = tuple(
    f.name for f in fields(ResourceSample)
    if f.name not in ("engine_pid", "system_cpu_per_core", "power_provenance")
)
ENGINE_SERIES: tuple[str, ...] = ("engine_cpu_percent", "engine_cpu_cores", "engine_rss_bytes", "engine_threads")


def engine_series(side: Side, name: str) -> str:
    """The snapshot key of one side's own engine series: ("large", "engine_rss_bytes") → "large_engine_rss_bytes"."""
    return f"{side}_{name}"


_SIDE_SERIES: tuple[str, ...] = tuple(engine_series(side, name) for side in SLOTS for name in ENGINE_SERIES)


class ResourceMonitor:
    """Samples resources into ring buffers of `rate_hz × window_s` samples; thread-safe throughout.

    Each side's engine process is watched with `watch(side, pid)` (again after a restart: a new process gets a
    fresh baseline) until `unwatch(side)`; only the session calls them, as each side's run begins. A process
    that exits while watched reads NaN and is watched no more.
    """

    def __init__(
        self,
        rate_hz: float = DEFAULT_RATE_HZ,
        window_s: float = DEFAULT_WINDOW_S,
        watts_per_core: float = DEFAULT_WATTS_PER_CORE,
        powercap_root: Path = DEFAULT_POWERCAP_ROOT,
    ) -> None:
        _check_rate(rate_hz)
        _check_window(window_s)
        self._rate_hz = rate_hz
        self._window_s = window_s
        self.watts_per_core = watts_per_core
        self._cpu_count = psutil.cpu_count() or os.cpu_count() or 1
        self._rapl = RaplMeter(powercap_root)

        self._lock = threading.Lock()  # buffers, latest, engine watches, subscribers
        self._sample_lock = threading.Lock()  # one sample at a time, whoever takes it
        self._engines: dict[Side, Watched] = {}
        self._gui = Watched(psutil.Process(os.getpid()))
        self._last_cpu_times: list[Any] | None = None
        self._last_net: tuple[float, int] | None = None
        self._latest: ResourceSample | None = None
        self._subscribers: list[Callable[[ResourceSample], None]] = []

        capacity = self.capacity
        self._series = {name: RingBuffer(capacity) for name in (*SCALAR_SERIES, *_SIDE_SERIES)}
        self._per_core = RingBuffer(capacity, width=self._cpu_count)
        self._power_measured = RingBuffer(capacity, dtype=np.bool_)

        self._token_lock = threading.Lock()
        self._tokens: dict[str, deque[tuple[float, int]]] = {"small": deque(), "large": deque()}

        self._thread: threading.Thread | None = None
        self._stopping = False
        self._wake = threading.Event()

    # -- configuration ----------------------------------------------------------------------
    @property
    def rate_hz(self) -> float:
        return self._rate_hz

    @property
    def window_s(self) -> float:
        return self._window_s

    @property
    def capacity(self) -> int:
        return max(1, round(self._rate_hz * self._window_s))

    @property
    def power_provenance(self) -> Provenance:
        return "measured" if self._rapl.available else "estimated"

    def set_rate(self, rate_hz: float) -> None:
        """Change the sampling rate; the buffers are resized to the same window, keeping the newest data."""
        _check_rate(rate_hz)
        with self._lock:
            self._rate_hz = rate_hz
            self._resize_buffers()
        self._wake.set()  # the thread recomputes its next deadline

    def set_window(self, seconds: float) -> None:
        """Change how many seconds of history the buffers hold, at the same rate, keeping the newest data.

        Shrinking drops the oldest samples at once; growing keeps everything and fills up as samples arrive.
        """
        _check_window(seconds)
        with self._lock:
            self._window_s = seconds
            self._resize_buffers()

    def _resize_buffers(self) -> None:
        capacity = self.capacity
        for buffer in (*self._series.values(), self._per_core, self._power_measured):
            if buffer.capacity != capacity:
                buffer.resize(capacity)

    # -- engine processes, one per side ---------------------------------------------------------
    def watched_pid(self, side: Side) -> int | None:
        """The process watched as `side`'s engine, if any."""
        with self._lock:
            engine = self._engines.get(side)
        return engine.process.pid if engine is not None else None

    def watch(self, side: Side, pid: int | None) -> None:
        """Watch process `pid` as `side`'s engine (one process per side; None: none, as `unwatch`). The same
        process again keeps its CPU baseline; a pid that no longer exists leaves the side unwatched."""
        watched: Watched | None = None
        if pid is not None:
            try:
                watched = Watched(psutil.Process(pid))
            except GONE:
                watched = None
        with self._lock:
            current = self._engines.get(side)
            if watched is None:
                self._engines.pop(side, None)
            # psutil compares pid and creation time, so a reused pid is another process, with a fresh baseline.
            elif current is None or current.process != watched.process:
                self._engines[side] = watched

    def unwatch(self, side: Side) -> None:
        """Watch no engine process for `side` (its model runs elsewhere, or not at all)."""
        with self._lock:
            self._engines.pop(side, None)

    # -- tokens -------------------------------------------------------------------------------
    def record_tokens(self, side: Side, count: int = 1, timestamp: float | None = None) -> None:
        """Count `count` tokens of `side` arriving at `timestamp` (perf_counter; now if None). Any thread."""
        queue = self._tokens[side]
        stamp = time.perf_counter() if timestamp is None else timestamp
        with self._token_lock:
            queue.append((stamp, count))
            horizon = stamp - 2 * TOKEN_WINDOW_S
            while queue and queue[0][0] < horizon:
                queue.popleft()

    def tokens_per_second(self, side: Side, now: float | None = None) -> float:
        """Tokens of `side` in the second up to `now`, per second; 0 when idle."""
        moment = time.perf_counter() if now is None else now
        with self._token_lock:
            total = sum(count for stamp, count in self._tokens[side] if moment - TOKEN_WINDOW_S < stamp <= moment)
        return total / TOKEN_WINDOW_S

    # -- sampling -----------------------------------------------------------------------------
    def sample_once(self) -> ResourceSample:
        """Take one sample now, store it and tell subscribers; what the thread does at each tick."""
        with self._sample_lock:
            sample, per_side = self._take_sample()
            with self._lock:
                for name in SCALAR_SERIES:
                    self._series[name].append(getattr(sample, name))
                for name, value in per_side.items():
                    self._series[name].append(value)
                self._per_core.append(_fit(sample.system_cpu_per_core, self._cpu_count))
                self._power_measured.append(sample.power_provenance == "measured")
                self._latest = sample
                subscribers = list(self._subscribers)
        for callback in subscribers:
            try:
                callback(sample)
            except Exception:
                log.exception("a resource sample subscriber failed")
        return sample

    def _read_engines(self) -> dict[Side, tuple[int, tuple[float, float, float]]]:
        """Each watched side's (pid, reading); a side whose process is gone is dropped from the watch."""
        with self._lock:
            engines = dict(self._engines)
        readings: dict[Side, tuple[int, tuple[float, float, float]]] = {}
        for side, engine in engines.items():
            try:
                readings[side] = (engine.process.pid, read_process(engine))
            except GONE:
                with self._lock:
                    if self._engines.get(side) is engine:
                        del self._engines[side]
        return readings

    def _take_sample(self) -> tuple[ResourceSample, dict[str, float]]:
        now = time.perf_counter()
        readings = self._read_engines()
        per_side: dict[str, float] = {}
        for side in SLOTS:
            cpu, rss, threads = readings[side][1] if side in readings else NO_PROCESS
            values = (cpu / self._cpu_count, cpu / 100.0, rss, threads)
            per_side.update(
                (engine_series(side, name), value) for name, value in zip(ENGINE_SERIES, values, strict=True))
        # The sum over distinct processes: two slots handed one engine are one process, counted once.
        distinct = list(dict(readings.values()).values())
        engine_cpu, engine_rss, engine_threads = (_finite_sum(reading[i] for reading in distinct) for i in range(3))
        engine_pid = next((readings[side][0] for side in SLOTS if side in readings), None)
        try:
            gui_cpu, gui_rss, _ = read_process(self._gui)
        except GONE:  # only if the OS refuses us our own figures
            gui_cpu, gui_rss = _NAN, _NAN

        per_core = self._system_cpu()
        system_cpu = float(np.mean(per_core)) if per_core else _NAN
        memory = psutil.virtual_memory()
        engine_cores = engine_cpu / 100.0

        provenance: Provenance = "measured"
        power = self._rapl.power(now) if self._rapl.available else _NAN
        if not self._rapl.available:  # never was, or this read failed
            power, provenance = engine_cores * self.watts_per_core, "estimated"
        sample = ResourceSample(
            timestamp=now,
            engine_pid=engine_pid,
            engine_cpu_percent=engine_cpu / self._cpu_count,
            engine_cpu_cores=engine_cores,
            engine_rss_bytes=engine_rss,
            engine_threads=engine_threads,
            gui_cpu_percent=gui_cpu / self._cpu_count,
            gui_rss_bytes=gui_rss,
            system_cpu_percent=system_cpu,
            system_cpu_per_core=per_core,
            memory_used_bytes=float(memory.total - memory.available),
            memory_total_bytes=float(memory.total),
            net_recv_bytes_per_s=self._net_rate(now),
            small_tokens_per_s=self.tokens_per_second("small", now),
            large_tokens_per_s=self.tokens_per_second("large", now),
            power_watts=power,
            power_provenance=provenance,
        )
        return sample, per_side

    def _system_cpu(self) -> tuple[float, ...]:
        # Our own delta of psutil.cpu_times rather than psutil.cpu_percent(), whose baseline is global to the
        # process: any other caller would silently shorten our interval.
        current = list(psutil.cpu_times(percpu=True))
        previous, self._last_cpu_times = self._last_cpu_times, current
        if previous is None or len(previous) != len(current):
            return tuple(_NAN for _ in current)
        return tuple(busy_percent(before, after) for before, after in zip(previous, current, strict=True))

    def _net_rate(self, now: float) -> float:
        counters = psutil.net_io_counters()
        if counters is None:  # no interfaces at all
            return _NAN
        received = int(counters.bytes_recv)
        previous, self._last_net = self._last_net, (now, received)
        if previous is None or now <= previous[0] or received < previous[1]:
            return _NAN
        return (received - previous[1]) / (now - previous[0])

    # -- reading ------------------------------------------------------------------------------
    def latest(self) -> ResourceSample | None:
        with self._lock:
            return self._latest

    def snapshot(self) -> dict[str, npt.NDArray[Any]]:
        """Copies of every series, oldest first, all the same length; keys as in `SCALAR_SERIES`, each side's
        engine series (`engine_series(side, name)` for each name in `ENGINE_SERIES`), "system_cpu_per_core"
        (samples × cores) and "power_measured" (bool)."""
        with self._lock:
            out = {name: buffer.values() for name, buffer in self._series.items()}
            out["system_cpu_per_core"] = self._per_core.values()
            out["power_measured"] = self._power_measured.values()
        return out

    def subscribe(self, callback: Callable[[ResourceSample], None]) -> Callable[[], None]:
        """Call `callback(sample)` after every sample, on the sampling thread; returns an unsubscribe function."""
        with self._lock:
            self._subscribers.append(callback)

        def unsubscribe() -> None:
            with self._lock:
                if callback in self._subscribers:
                    self._subscribers.remove(callback)

        return unsubscribe

    # -- run summaries ------------------------------------------------------------------------
    def mark(self, side: Side | None = None) -> ResourceMark:
        """`side`'s engine's cumulative CPU-seconds (none without a side or a watched process) and the RAPL
        counters now; take one at each end of a side's run."""
        now = time.perf_counter()
        with self._lock:
            engine = self._engines.get(side) if side is not None else None
        cpu_seconds: float | None = None
        if engine is not None:
            try:
                times = engine.process.cpu_times()
                cpu_seconds = float(times.user + times.system)
            except GONE:
                engine = None
        return ResourceMark(
            timestamp=now,
            engine_pid=engine.process.pid if engine is not None else None,
            engine_cpu_seconds=cpu_seconds,
            package_energy_uj=self._rapl.read() if self._rapl.available else None,
            side=side,
        )

    def summarize_run(
        self, t_start: float, t_end: float, start: ResourceMark | None = None, end: ResourceMark | None = None,
        side: Side | None = None,
    ) -> RunResourceSummary:
        """`side`'s engine's cost between two perf_counter instants (the start mark's side if not given; no
        side: the engines' sum), from the marks and the samples still in the window (see
        `run_resources.summarize`). A run longer than the window is summarised from its newest part only."""
        if side is None and start is not None:
            side = start.side
        data = self.snapshot()
        if side is not None:
            data.update({name: data[engine_series(side, name)] for name in ENGINE_SERIES})
        return summarize(data, t_start, t_end, start, end, rapl=self._rapl, rate_hz=self._rate_hz,
                         watts_per_core=self.watts_per_core)

    def machine_energy(self, summary: RunResourceSummary) -> Figure:
        """Energy of the whole machine over a summarised run, for an engine whose process is not ours to watch
        (a server on this computer): RAPL where it measured, else every core's sampled use × watts per core."""
        return machine_energy(self.snapshot(), summary, self._cpu_count, self.watts_per_core)

    # -- thread ---------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        thread = self._thread
        return thread is not None and thread.is_alive()

    def start(self) -> None:
        if self.running:
            return
        self._stopping = False
        self._wake.clear()
        self._thread = threading.Thread(target=self._run, name="lmscales-monitor", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the thread and wait for it (no wait when called from a subscriber, on the thread itself)."""
        thread = self._thread
        self._stopping = True
        self._wake.set()
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
        self._thread = None

    def _run(self) -> None:
        last = time.perf_counter() - 1.0 / self._rate_hz  # the first sample right away
        while not self._stopping:
            due = last + 1.0 / self._rate_hz  # read afresh: `set_rate` may have changed it
            remaining = due - time.perf_counter()
            if remaining > 0:
                self._wake.wait(remaining)
                self._wake.clear()
                continue
            now = time.perf_counter()
            last = due if now - due < 1.0 / self._rate_hz else now  # after a stall, no burst to catch up
            try:
                self.sample_once()
            except Exception:
                log.exception("resource sampling failed")


def _check_rate(rate_hz: float) -> None:
    if not MIN_RATE_HZ <= rate_hz <= MAX_RATE_HZ:
        raise ValueError(f"the sampling rate must be between {MIN_RATE_HZ:g} and {MAX_RATE_HZ:g} Hz")


def _check_window(window_s: float) -> None:
    if not (math.isfinite(window_s) and window_s > 0):
        raise ValueError("the window must be a positive number of seconds")


def _fit(values: tuple[float, ...], width: int) -> tuple[float, ...]:
    """Pad with NaN or cut to `width` (cores can go on- or offline)."""
    return (values + (_NAN,) * width)[:width]



def _finite_sum(values: Iterable[float]) -> float:
    """The sum of the finite values; NaN when there is none (no engine, or only first readings)."""
    finite = [value for value in values if math.isfinite(value)]
    return float(sum(finite)) if finite else _NAN
