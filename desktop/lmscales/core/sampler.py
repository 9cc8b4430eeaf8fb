"""The resource sampler: what each side costs this machine, sampled a few times a second.

A background thread (or `sample_once`, which tests call directly) reads the local engine's child process,
the GUI process, the whole system, the network and the CPU package's power, and appends each reading to
fixed-size numpy ring buffers that the graphs draw from. No Qt here: the UI subscribes through its bridge.

Timestamps are `time.perf_counter()`, the clock the engines stamp `TextDelta`s and `submitted_at` with, so
samples, token counts and run boundaries share one time axis.

Figures worked out from a difference between two readings (every CPU %, network rate and RAPL power) are
NaN in the first sample after the thing began to be watched: psutil's first `cpu_percent()` is 0.0 by
definition, not a measurement, and a difference needs two ends. A missing engine process reads NaN too.

Power is the CPU package's own energy counter (Linux RAPL, "measured") where it can be read; elsewhere it
is an *estimate*: the engine's CPU use in cores × a watts-per-core setting ("estimated"). The two differ in
scope too: RAPL covers the whole package (every process), the estimate only the engine.
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Literal

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

log = logging.getLogger(__name__)

Side = Literal["small", "large"]  # the session's slots

TOKEN_WINDOW_S = 1.0
DEFAULT_POWERCAP_ROOT = Path("/sys/class/powercap")

ENGINE_CPU_TOOLTIP = (
    "CPU used by the local engine's process. llama.cpp's worker threads spin while they wait for each other, "
    "so while it generates this reads close to n_threads × 100 % of one core (2 threads: about 2 cores) even "
    "when generation is bound by memory bandwidth rather than arithmetic. High CPU here does not mean the CPU "
    "is the bottleneck."
)

_GONE = (psutil.NoSuchProcess, psutil.AccessDenied)  # ZombieProcess is a NoSuchProcess
_NAN = math.nan


@dataclass(frozen=True)
class ResourceSample:
    """One reading of everything the sampler watches. NaN means "not available in this sample".

    CPU percentages are of the whole machine (0-100 %); `engine_cpu_cores` is the same use in cores
    (1.8 = 1.8 cores busy). Memory figures are bytes. `memory_used_bytes` is total - available.
    `net_recv_bytes_per_s` counts every interface of the machine, not only this app's traffic.
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
# (2-D: samples × cores) and "power_measured" (bool).
SCALAR_SERIES: tuple[str, ...] = tuple(
    f.name for f in fields(ResourceSample)
    if f.name not in ("engine_pid", "system_cpu_per_core", "power_provenance")
)


@dataclass(frozen=True)
class ResourceMark:
    """Cumulative counters at one instant; two marks bracket a run (see `Sampler.summarize_run`).

    `engine_cpu_seconds` is the engine's psutil cpu_times user + system since it started; `package_energy_uj`
    the raw RAPL counter of each package zone (None where RAPL cannot be read).
    """

    timestamp: float
    engine_pid: int | None
    engine_cpu_seconds: float | None
    package_energy_uj: tuple[int, ...] | None


@dataclass(frozen=True)
class RunResourceSummary:
    """What one run cost the local machine, for the run history. Each figure says how it was obtained."""

    t_start: float
    t_end: float
    samples: int
    engine_peak_rss: Figure
    engine_mean_cpu: Figure
    engine_cpu_seconds: Figure
    energy: Figure


class RingBuffer:
    """A fixed-capacity numpy ring buffer of scalars (or of rows, given `width`); the oldest value drops out."""

    def __init__(self, capacity: int, width: int | None = None, dtype: npt.DTypeLike = np.float64) -> None:
        if capacity < 1:
            raise ValueError("a ring buffer needs a capacity of at least 1")
        self._width = width
        shape = (capacity,) if width is None else (capacity, width)
        self._data: npt.NDArray[Any] = np.zeros(shape, dtype=dtype)
        self._next = 0
        self._size = 0

    @property
    def capacity(self) -> int:
        return int(self._data.shape[0])

    def __len__(self) -> int:
        return self._size

    def append(self, value: npt.ArrayLike) -> None:
        self._data[self._next] = value
        self._next = (self._next + 1) % self.capacity
        self._size = min(self._size + 1, self.capacity)

    def values(self) -> npt.NDArray[Any]:
        """A copy, oldest first."""
        first = (self._next - self._size) % self.capacity
        return self._data[(first + np.arange(self._size)) % self.capacity]

    def clear(self) -> None:
        self._next = self._size = 0

    def resize(self, capacity: int) -> None:
        """Change the capacity, keeping the newest values that fit."""
        if capacity < 1:
            raise ValueError("a ring buffer needs a capacity of at least 1")
        kept = self.values()[-capacity:]
        shape = (capacity,) if self._width is None else (capacity, self._width)
        self._data = np.zeros(shape, dtype=self._data.dtype)
        self._data[: len(kept)] = kept
        self._size = len(kept)
        self._next = len(kept) % capacity


class RaplMeter:
    """The CPU packages' energy counters under Linux powercap (`intel-rapl:N`, also used for AMD).

    Only top-level zones named `package-*` are summed: sub-zones (`intel-rapl:0:0`, core/uncore/dram) are
    parts of a package and `psys` covers the whole platform, so either would count energy twice. Reading
    `energy_uj` needs root on most current kernels; any error makes the meter unavailable, not the app fail.
    """

    def __init__(self, root: Path = DEFAULT_POWERCAP_ROOT) -> None:
        self._zones: list[tuple[Path, int]] = []
        self._available = False
        self._previous: tuple[float, tuple[int, ...]] | None = None
        try:
            candidates = sorted(root.glob("intel-rapl:*"))
        except OSError:
            candidates = []
        for zone in candidates:
            if zone.name.count(":") != 1:
                continue
            try:
                if not (zone / "name").read_text().strip().startswith("package"):
                    continue
                self._zones.append((zone / "energy_uj", int((zone / "max_energy_range_uj").read_text())))
            except (OSError, ValueError):
                self._zones = []
                break
        self._available = bool(self._zones) and self.read() is not None

    @property
    def available(self) -> bool:
        return self._available

    def read(self) -> tuple[int, ...] | None:
        """The raw counter of each package, in µJ; None (and unavailable from then on) if one cannot be read."""
        if not self._zones:
            return None
        try:
            return tuple(int(path.read_text()) for path, _ in self._zones)
        except (OSError, ValueError):
            self._available = False
            return None

    def joules_between(self, earlier: Sequence[int], later: Sequence[int]) -> float:
        """Energy between two readings, allowing each counter to wrap around once."""
        total_uj = 0
        for (_, max_range), before, after in zip(self._zones, earlier, later, strict=True):
            delta = after - before
            total_uj += delta + max_range if delta < 0 else delta
        return total_uj / 1e6

    def power(self, now: float) -> float:
        """Mean watts since the previous call; NaN on the first call or when unavailable."""
        reading = self.read() if self._available else None
        previous = self._previous
        self._previous = (now, reading) if reading is not None else None
        if reading is None or previous is None or now <= previous[0]:
            return _NAN
        return self.joules_between(previous[1], reading) / (now - previous[0])


class _Watched:
    """One process under observation, with whether its `cpu_percent` baseline has been taken."""

    def __init__(self, process: psutil.Process) -> None:
        self.process = process
        self.primed = False


_NO_PROCESS: tuple[float, float, float] = (_NAN, _NAN, _NAN)


def _read_process(watched: _Watched) -> tuple[float, float, float]:
    """(CPU % of one core, RSS bytes, threads); raises a `_GONE` error if the process is gone."""
    process = watched.process
    with process.oneshot():
        if process.status() == psutil.STATUS_ZOMBIE:  # exited, not yet reaped: its figures are zeros
            raise psutil.ZombieProcess(process.pid)
        cpu = process.cpu_percent(None)
        rss = float(process.memory_info().rss)  # cheap; memory_full_info (USS) would walk every mapping
        threads = float(process.num_threads())
    if not watched.primed:
        watched.primed = True
        cpu = _NAN  # psutil's first reading is 0.0 by definition
    return cpu, rss, threads


def _cpu_total(times: Any) -> float:
    total = float(sum(times))
    # On Linux guest time is already inside user time (psutil does the same).
    return total - float(getattr(times, "guest", 0.0)) - float(getattr(times, "guest_nice", 0.0))


def _busy_percent(before: Any, after: Any) -> float:
    elapsed = _cpu_total(after) - _cpu_total(before)
    if elapsed <= 0:
        return _NAN
    idle = (after.idle + getattr(after, "iowait", 0.0)) - (before.idle + getattr(before, "iowait", 0.0))
    return float(min(100.0, max(0.0, 100.0 * (elapsed - idle) / elapsed)))


class Sampler:
    """Samples resources into ring buffers of `rate_hz × window_s` samples; thread-safe throughout.

    The engine process is set (and changed, on a restart) with `set_engine_pid`; if it exits while
    watched, its figures read NaN and `engine_pid` becomes None.
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

        self._lock = threading.Lock()  # buffers, latest, engine watch, subscribers
        self._sample_lock = threading.Lock()  # one sample at a time, whoever takes it
        self._engine: _Watched | None = None
        self._gui = _Watched(psutil.Process(os.getpid()))
        self._last_cpu_times: list[Any] | None = None
        self._last_net: tuple[float, int] | None = None
        self._latest: ResourceSample | None = None
        self._subscribers: list[Callable[[ResourceSample], None]] = []

        capacity = self.capacity
        self._series = {name: RingBuffer(capacity) for name in SCALAR_SERIES}
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

    @property
    def engine_pid(self) -> int | None:
        engine = self._engine
        return engine.process.pid if engine is not None else None

    def set_engine_pid(self, pid: int | None) -> None:
        """Watch this process as the engine (None: no engine). The same process again keeps its CPU baseline."""
        watched: _Watched | None = None
        if pid is not None:
            try:
                watched = _Watched(psutil.Process(pid))
            except _GONE:
                watched = None
        with self._lock:
            current = self._engine
            if watched is not None and current is not None and current.process == watched.process:
                return  # psutil compares pid and creation time, so a reused pid is a different process
            self._engine = watched

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
            sample = self._take_sample()
            with self._lock:
                for name, buffer in self._series.items():
                    buffer.append(getattr(sample, name))
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

    def _take_sample(self) -> ResourceSample:
        now = time.perf_counter()
        engine = self._engine
        engine_cpu, engine_rss, engine_threads = _NO_PROCESS
        if engine is not None:
            try:
                engine_cpu, engine_rss, engine_threads = _read_process(engine)
            except _GONE:
                with self._lock:
                    if self._engine is engine:
                        self._engine = None
                engine = None
        try:
            gui_cpu, gui_rss, _ = _read_process(self._gui)
        except _GONE:  # only if the OS refuses us our own figures
            gui_cpu, gui_rss = _NAN, _NAN

        per_core = self._system_cpu()
        system_cpu = float(np.mean(per_core)) if per_core else _NAN
        memory = psutil.virtual_memory()
        engine_cores = engine_cpu / 100.0

        provenance: Provenance = "measured"
        power = self._rapl.power(now) if self._rapl.available else _NAN
        if not self._rapl.available:  # never was, or this read failed
            power, provenance = engine_cores * self.watts_per_core, "estimated"
        return ResourceSample(
            timestamp=now,
            engine_pid=engine.process.pid if engine is not None else None,
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

    def _system_cpu(self) -> tuple[float, ...]:
        # Our own delta of psutil.cpu_times rather than psutil.cpu_percent(), whose baseline is global to the
        # process: any other caller would silently shorten our interval.
        current = list(psutil.cpu_times(percpu=True))
        previous, self._last_cpu_times = self._last_cpu_times, current
        if previous is None or len(previous) != len(current):
            return tuple(_NAN for _ in current)
        return tuple(_busy_percent(before, after) for before, after in zip(previous, current, strict=True))

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
        """Copies of every series, oldest first, all the same length; keys as in `SCALAR_SERIES` plus
        "system_cpu_per_core" (samples × cores) and "power_measured" (bool)."""
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
    def mark(self) -> ResourceMark:
        """The engine's cumulative CPU-seconds and the RAPL counters now; take one at each end of a run."""
        now = time.perf_counter()
        engine = self._engine
        cpu_seconds: float | None = None
        if engine is not None:
            try:
                times = engine.process.cpu_times()
                cpu_seconds = float(times.user + times.system)
            except _GONE:
                engine = None
        return ResourceMark(
            timestamp=now,
            engine_pid=engine.process.pid if engine is not None else None,
            engine_cpu_seconds=cpu_seconds,
            package_energy_uj=self._rapl.read() if self._rapl.available else None,
        )

    def summarize_run(
        self, t_start: float, t_end: float, start: ResourceMark | None = None, end: ResourceMark | None = None
    ) -> RunResourceSummary:
        """The engine's cost between two perf_counter instants, from the samples still in the window.

        With marks taken at both ends, CPU-seconds are psutil's own counters and RAPL energy the counters'
        difference; without, both are integrated from the samples (coarser, and CPU-seconds then "estimated").
        A run longer than the window is summarised from its newest part only.
        """
        data = self.snapshot()
        times = data["timestamp"]
        inside = (times >= t_start) & (times <= t_end)
        count = int(inside.sum())
        # Each sample stands for the interval since the one before it, clipped to the run.
        starts = np.maximum(np.concatenate(([_NAN], times[:-1])), t_start)
        spans = np.where(inside, times - starts, _NAN)

        rss = data["engine_rss_bytes"][inside]
        peak = float(np.nanmax(rss)) if np.isfinite(rss).any() else None
        peak_rss = Figure(peak, "bytes", "measured", f"highest sampled RSS ({self._rate_hz:g} Hz)")
        cpu = data["engine_cpu_percent"][inside]
        mean = float(np.nanmean(cpu)) if np.isfinite(cpu).any() else None
        mean_cpu = Figure(mean, "%", "measured", "mean sampled engine CPU, % of the whole machine")

        cpu_seconds: Figure
        if (
            start is not None and end is not None and start.engine_pid is not None
            and start.engine_pid == end.engine_pid
            and start.engine_cpu_seconds is not None and end.engine_cpu_seconds is not None
        ):
            cpu_seconds = Figure(end.engine_cpu_seconds - start.engine_cpu_seconds, "s", "measured",
                                 "engine user + system CPU time between the run's marks")
        else:
            integrated = _integrate(data["engine_cpu_cores"], spans)
            cpu_seconds = Figure(integrated, "s", "estimated", "sampled engine CPU (cores) × time")

        energy: Figure
        if (
            start is not None and end is not None
            and start.package_energy_uj is not None and end.package_energy_uj is not None
            and len(start.package_energy_uj) == len(end.package_energy_uj)
        ):
            joules = self._rapl.joules_between(start.package_energy_uj, end.package_energy_uj)
            energy = Figure(joules, "J", "measured", "RAPL CPU package energy (every process) between the marks")
        elif count and bool(data["power_measured"][inside].all()):
            energy = Figure(_integrate(data["power_watts"], spans), "J", "measured",
                            "RAPL CPU package power (every process) × time")
        else:
            engine_seconds = cpu_seconds.value
            estimate = engine_seconds * self.watts_per_core if engine_seconds is not None else None
            energy = Figure(estimate, "J", "estimated", f"engine CPU-seconds × {self.watts_per_core:g} W per core")
        return RunResourceSummary(t_start, t_end, count, peak_rss, mean_cpu, cpu_seconds, energy)

    def machine_energy(self, summary: RunResourceSummary) -> Figure:
        """Energy of the whole machine over a summarised run, for an engine whose process is not ours to watch
        (a server on this computer): RAPL where it measured, else every core's sampled use × watts per core."""
        if summary.energy.provenance == "measured":
            return summary.energy
        data = self.snapshot()
        times = data["timestamp"]
        inside = (times >= summary.t_start) & (times <= summary.t_end)
        starts = np.maximum(np.concatenate(([_NAN], times[:-1])), summary.t_start)
        spans = np.where(inside, times - starts, _NAN)
        cores = data["system_cpu_percent"] / 100.0 * (psutil.cpu_count() or 1)
        busy = _integrate(cores, spans)
        return Figure(busy * self.watts_per_core if busy is not None else None, "J", "estimated",
                      f"whole machine CPU (every process, the server too) × {self.watts_per_core:g} W per core")

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
        self._thread = threading.Thread(target=self._run, name="lmscales-sampler", daemon=True)
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


def _integrate(rate: npt.NDArray[Any], spans: npt.NDArray[Any]) -> float | None:
    products = rate * spans
    finite = np.isfinite(products)
    return float(products[finite].sum()) if finite.any() else None
