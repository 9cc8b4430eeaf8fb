"""How many CPU threads the small model gets: the cores this process may use, measured rates per thread count,
the choice made from them, and the adjustment to the machine's load at the start of each run.

Why measured: on a 2-core laptop a second llama.cpp thread changed decode speed by -1 % to +15 % across runs
of SmolLM2-135M but doubled the CPU-seconds; prompt evaluation scales better. So the count is taken from a
table of figures per thread count (kept per model file), never assumed from the number of cores:

- "fastest": the smallest thread count within `WITHIN` (3 %) of the best rate, separately for decode
  (`n_threads`) and for prompt evaluation (`n_threads_batch`);
- "efficient": the fewest CPU-seconds per 100 tokens.

Why adjusted per run: llama.cpp's threads wait for each other at every step, so a thread that has to share
its core with another busy process stalls all of them (measured: 2 threads fell from 165 to 46 tok/s beside
one CPU-bound process, 1 thread held 139). At the start of each run the engine uses no more threads than
there are idle cores, never fewer than one.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import psutil

from lmscales.core.storage import data_dir, write_atomically

Preference = Literal["fastest", "efficient"]
PREFERENCES: tuple[Preference, ...] = ("fastest", "efficient")
WITHIN = 0.03
STORE_FILE = "thread-measurements.json"
STORE_VERSION = 1


# -- the cores this process may use ---------------------------------------------------------------------------
def _cgroup_quota(root: Path = Path("/sys/fs/cgroup")) -> float | None:
    """CPUs' worth of time the cgroup (v2 `cpu.max`, or v1 `cpu.cfs_quota_us`) allows; None without a limit."""
    with contextlib.suppress(OSError, ValueError):
        quota, period = (root / "cpu.max").read_text().split()[:2]
        return None if quota == "max" else int(quota) / int(period)
    with contextlib.suppress(OSError, ValueError):
        quota_us = int((root / "cpu" / "cpu.cfs_quota_us").read_text())
        period_us = int((root / "cpu" / "cpu.cfs_period_us").read_text())
        return None if quota_us <= 0 or period_us <= 0 else quota_us / period_us
    return None


def allowed_cpus() -> set[int] | None:
    """The logical CPUs this process may run on (Linux and Windows; macOS has no affinity: None)."""
    if hasattr(os, "sched_getaffinity"):
        with contextlib.suppress(OSError):
            return set(os.sched_getaffinity(0))
    with contextlib.suppress(AttributeError, psutil.Error, OSError):
        return set(psutil.Process().cpu_affinity() or ())  # type: ignore[attr-defined,unused-ignore]
    return None


def _affinity() -> int | None:
    allowed = allowed_cpus()
    return len(allowed) if allowed else None


def usable_cores(
    physical: int | None = None,
    logical: int | None = None,
    affinity: int | None = None,
    quota: float | None = None,
) -> int:
    """The cores llama.cpp threads can really run on at once: physical cores (hyper-threads add nothing to a
    matmul), no more than the logical CPUs in this process's affinity mask, and no more than its cgroup's CPU
    quota (a container given 2 CPUs on a 64-core host). Arguments override what is read from this machine."""
    logical = logical if logical is not None else (os.cpu_count() or 1)
    physical = physical if physical is not None else (psutil.cpu_count(logical=False) or logical)
    affinity = affinity if affinity is not None else _affinity()
    quota = quota if quota is not None else _cgroup_quota()
    cores = physical
    if affinity:
        # With hyper-threads, the allowed logical CPUs hold at most as many physical cores (a guess when the
        # mask is a subset: llama.cpp gains nothing from a core's second hyper-thread).
        cores = min(cores, max(1, round(affinity * physical / logical)))
    if quota:
        cores = min(cores, max(1, math.floor(quota + 0.5)))
    return max(1, cores)


# -- measured figures --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ThreadRow:
    """One thread count's figures. Rates in tokens per second; CPU-seconds and joules per 100 tokens.
    Joules are the CPU package's (RAPL, every process on it), None where they cannot be read."""

    threads: int
    decode_rate: float
    prefill_rate: float
    decode_cpu_per_100: float
    prefill_cpu_per_100: float
    decode_joules_per_100: float | None = None
    prefill_joules_per_100: float | None = None

    @classmethod
    def from_figures(cls, figures: Mapping[str, float], decode_joules: float | None = None,
                     prefill_joules: float | None = None) -> ThreadRow:
        """From the engine child's raw figures (`LlamaLoop.measure`) and the energy read around each phase."""
        decode_tokens, prompt_tokens = float(figures["decode_tokens"]), float(figures["prompt_tokens"])
        return cls(
            threads=int(figures["threads"]),
            decode_rate=decode_tokens / figures["decode_seconds"],
            prefill_rate=prompt_tokens / figures["prefill_seconds"],
            decode_cpu_per_100=100.0 * figures["decode_cpu_seconds"] / decode_tokens,
            prefill_cpu_per_100=100.0 * figures["prefill_cpu_seconds"] / prompt_tokens,
            decode_joules_per_100=None if decode_joules is None else 100.0 * decode_joules / decode_tokens,
            prefill_joules_per_100=None if prefill_joules is None else 100.0 * prefill_joules / prompt_tokens,
        )

    def better_of(self, other: ThreadRow) -> ThreadRow:
        """Of two measurements of the same thread count, the faster one for each phase (noise only slows)."""
        decode = self if self.decode_rate >= other.decode_rate else other
        prefill = self if self.prefill_rate >= other.prefill_rate else other
        return ThreadRow(self.threads, decode.decode_rate, prefill.prefill_rate, decode.decode_cpu_per_100,
                         prefill.prefill_cpu_per_100, decode.decode_joules_per_100, prefill.prefill_joules_per_100)


@dataclass(frozen=True)
class ThreadChoice:
    threads: int  # decode
    threads_batch: int  # prompt evaluation
    preference: Preference
    reason: str  # for the model card and the settings: "1 thread (measured fastest)"


@dataclass(frozen=True)
class ThreadTable:
    rows: tuple[ThreadRow, ...]
    measured_at: str = ""
    model: str = ""
    usable_cores: int = 1

    def choose(self, preference: Preference = "fastest") -> ThreadChoice:
        if not self.rows:
            raise ValueError("no measurements")
        if preference == "efficient":
            decode = min(self.rows, key=lambda r: (r.decode_cpu_per_100, -r.decode_rate)).threads
            prefill = min(self.rows, key=lambda r: (r.prefill_cpu_per_100, -r.prefill_rate)).threads
            how = "measured most efficient"
        else:
            decode = smallest_within(self.rows, lambda r: r.decode_rate)
            prefill = smallest_within(self.rows, lambda r: r.prefill_rate)
            how = "measured fastest"
        return ThreadChoice(decode, prefill, preference, f"{describe_threads(decode)} ({how})")

    def to_dict(self) -> dict[str, Any]:
        return {"rows": [asdict(row) for row in self.rows], "measured_at": self.measured_at, "model": self.model,
                "usable_cores": self.usable_cores}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ThreadTable:
        return cls(rows=tuple(ThreadRow(**row) for row in data["rows"]), measured_at=str(data.get("measured_at", "")),
                   model=str(data.get("model", "")), usable_cores=int(data.get("usable_cores", 1)))


def smallest_within(rows: Sequence[ThreadRow], rate: Callable[[ThreadRow], float], within: float = WITHIN) -> int:
    """The smallest thread count whose rate is within `within` of the best one."""
    best = max(rate(row) for row in rows)
    return min(row.threads for row in rows if rate(row) >= best * (1.0 - within))


def describe_threads(n: int) -> str:
    return f"{n} thread" + ("" if n == 1 else "s")


def counts_to_measure(usable: int) -> list[int]:
    """1..usable, thinned out above 8 (a 32-core machine need not measure every count)."""
    if usable <= 8:
        return list(range(1, usable + 1))
    counts = list(range(1, 9))
    n = 12
    while n < usable:
        counts.append(n)
        n = n * 3 // 2
    return [*counts, usable]


# -- stored per model file ----------------------------------------------------------------------------------------
def model_key(path: str | os.PathLike[str], usable: int, wait_policy: str | None = None) -> str:
    """A model file as it is now (path, size, modification time) on this many usable cores, with this OpenMP
    wait policy (it changes the rates of more than one thread a lot)."""
    stat = Path(path).stat()
    return f"{Path(path).resolve()}|{stat.st_size}|{stat.st_mtime_ns}|{usable}|{wait_policy or 'default'}"


@dataclass
class ThreadStore:
    """The measured tables, one JSON file in the data folder. A damaged file is treated as empty (and
    replaced on the next measurement): a measurement can always be taken again in a few seconds."""

    path: Path = field(default_factory=lambda: data_dir() / STORE_FILE)

    def _read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text("utf-8"))
        except (OSError, ValueError):
            return {}
        if not isinstance(data, dict) or data.get("version") != STORE_VERSION:
            return {}
        tables = data.get("tables")
        return tables if isinstance(tables, dict) else {}

    def get(self, key: str) -> ThreadTable | None:
        entry = self._read().get(key)
        if not isinstance(entry, dict):
            return None
        try:
            return ThreadTable.from_dict(entry)
        except (KeyError, TypeError, ValueError):
            return None

    def put(self, key: str, table: ThreadTable) -> None:
        tables = self._read()
        tables[key] = table.to_dict()
        write_atomically(self.path, json.dumps({"version": STORE_VERSION, "tables": tables}, indent=1).encode())


# -- the machine's load -------------------------------------------------------------------------------------------
def threads_for_run(chosen: int, usable: int, busy_elsewhere: float | None) -> int:
    """No more threads than idle cores (cores minus what other processes keep busy), never fewer than one,
    never more than `chosen`. Unknown load: `chosen`."""
    if busy_elsewhere is None or not math.isfinite(busy_elsewhere):
        return max(1, chosen)
    idle = usable - max(0.0, busy_elsewhere)
    return max(1, min(chosen, math.floor(idle + 0.5)))


def _busy(times: Any) -> float:
    idle = float(times.idle) + float(getattr(times, "iowait", 0.0))
    # guest time is already counted in user time
    return float(sum(times)) - idle - float(getattr(times, "guest", 0.0)) - float(getattr(times, "guest_nice", 0.0))


def _cgroup_usage_seconds(root: Path = Path("/sys/fs/cgroup")) -> float | None:
    """CPU-seconds this cgroup (v2 `cpu.stat`, or v1 `cpuacct.usage`) has used; None where it cannot be read."""
    with contextlib.suppress(OSError, ValueError):
        for line in (root / "cpu.stat").read_text().splitlines():
            if line.startswith("usage_usec "):
                return int(line.split()[1]) / 1e6
    with contextlib.suppress(OSError, ValueError):
        return int((root / "cpuacct" / "cpuacct.usage").read_text()) / 1e9
    return None


def busy_source() -> Callable[[], float]:
    """How to read the busy CPU-seconds that compete with this process: within a CPU quota, the cgroup's own
    usage (a busy host beyond the quota is not ours to share); else the busy time of the CPUs in this
    process's affinity mask only (under `taskset`, other CPUs' load is not in our way); else every CPU's."""
    if _cgroup_quota() is not None and _cgroup_usage_seconds() is not None:
        return lambda: _cgroup_usage_seconds() or 0.0
    allowed = allowed_cpus()
    logical = os.cpu_count() or 1
    if allowed and len(allowed) < logical:
        cpus = sorted(allowed)

        def allowed_busy() -> float:
            per_cpu = psutil.cpu_times(percpu=True)
            return sum(_busy(per_cpu[cpu]) for cpu in cpus if cpu < len(per_cpu))

        return allowed_busy
    return machine_busy_seconds


def machine_busy_seconds() -> float:
    """CPU-seconds all cores have spent busy since boot."""
    return _busy(psutil.cpu_times())


class LoadProbe:
    """What the rest of the machine keeps busy, in cores, over the last couple of seconds: busy CPU time where
    this process may run (`busy_source`) minus the engine process's own (`own_pid()`), from psutil readings
    every `interval` seconds on a daemon thread. Cheap (two small reads) and the same in the window, the
    command line and the benchmarks."""

    def __init__(self, own_pid: Callable[[], int | None], interval: float = 0.5, window: float = 2.0,
                 clock: Callable[[], float] = time.monotonic, machine_busy: Callable[[], float] | None = None) -> None:
        self._own_pid = own_pid
        self._machine_busy = machine_busy or busy_source()
        self.interval, self.window = interval, window
        self._clock = clock
        self._readings: list[tuple[float, float, float]] = []  # (time, machine busy s, engine cpu s)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._process: psutil.Process | None = None

    def _engine_cpu(self) -> float:
        pid = self._own_pid()
        if pid is None:
            self._process = None
            return 0.0
        try:
            if self._process is None or self._process.pid != pid:
                self._process = psutil.Process(pid)
            times = self._process.cpu_times()
        except psutil.Error:
            self._process = None
            return 0.0
        return float(times.user + times.system)

    def read_once(self) -> None:
        reading = (self._clock(), self._machine_busy(), self._engine_cpu())
        with self._lock:
            self._readings.append(reading)
            cutoff = reading[0] - self.window - self.interval
            self._readings = [r for r in self._readings if r[0] >= cutoff]

    def busy_elsewhere(self) -> float | None:
        """Cores busy with other processes, averaged over the window; None before two readings exist."""
        with self._lock:
            readings = list(self._readings)
        if len(readings) < 2:
            return None
        (t0, busy0, own0), (t1, busy1, own1) = readings[0], readings[-1]
        if t1 - t0 <= 0:
            return None
        own = max(0.0, own1 - own0) if own1 >= own0 else 0.0  # a restarted engine starts from zero
        return max(0.0, (busy1 - busy0 - own) / (t1 - t0))

    def start(self) -> None:
        if self._thread is not None:
            return
        self.read_once()

        def loop() -> None:
            while not self._stop.wait(self.interval):
                with contextlib.suppress(Exception):  # never let a failed read end the probe
                    self.read_once()

        self._thread = threading.Thread(target=loop, name="load-probe", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout=2.0)


@dataclass(frozen=True)
class ThreadPolicy:
    """How a front end wants the threads chosen after a model loads: from `store`'s table for the file
    (measured first when there is none and `measure`), by `preference`."""

    store: ThreadStore = field(default_factory=ThreadStore)
    preference: Preference = "fastest"
    measure: bool = True
