"""The resource monitor against real processes: a child Python that burns CPU and allocates memory stands in
for the engine. Only RAPL is faked (a powercap directory), because this machine may have none or not let us
read it."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import psutil
import pytest

from lmscales.core.resource_monitor import (
    ENGINE_CPU_TOOLTIP,
    ENGINE_SERIES,
    SCALAR_SERIES,
    RaplMeter,
    ResourceMonitor,
    ResourceSample,
    RingBuffer,
    engine_series,
)

MB = 2**20
NO_RAPL = Path("/nonexistent-powercap")
CPUS = psutil.cpu_count() or 1

# Waits for a command, then burns one core (after allocating 200 MB of written pages for "allocate").
CHILD = r"""
import sys, time
print("ready", flush=True)
command = sys.stdin.readline().strip()
if command == "exit":
    sys.exit(0)
if command == "allocate":
    ballast = b"x" * (200 * 2**20)
print("busy", flush=True)
deadline = time.monotonic() + 20
while time.monotonic() < deadline:
    pass
"""


class Child:
    def __init__(self) -> None:
        self.popen = subprocess.Popen(
            [sys.executable, "-c", CHILD], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        self.expect("ready")

    @property
    def pid(self) -> int:
        return self.popen.pid

    def send(self, command: str) -> None:
        assert self.popen.stdin is not None
        self.popen.stdin.write(command + "\n")
        self.popen.stdin.flush()

    def expect(self, line: str) -> None:
        assert self.popen.stdout is not None
        assert self.popen.stdout.readline().strip() == line


@pytest.fixture
def child() -> Iterator[Child]:
    process = Child()
    yield process
    process.popen.kill()
    process.popen.wait()


@pytest.fixture
def monitor() -> Iterator[ResourceMonitor]:
    instance = ResourceMonitor(powercap_root=NO_RAPL)
    yield instance
    instance.stop()


def make_zone(root: Path, zone: str, name: str, energy_uj: int, max_range_uj: int = 10_000_000) -> Path:
    directory = root / zone
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "name").write_text(name + "\n")
    (directory / "energy_uj").write_text(f"{energy_uj}\n")
    (directory / "max_energy_range_uj").write_text(f"{max_range_uj}\n")
    return directory / "energy_uj"


# -- ring buffer ----------------------------------------------------------------------------------------
def test_ring_buffer_keeps_order_across_wrap_around() -> None:
    ring = RingBuffer(3)
    assert ring.values().shape == (0,)
    ring.append(1.0)
    ring.append(2.0)
    assert ring.values().tolist() == [1.0, 2.0]
    for value in (3.0, 4.0, 5.0, 6.0, 7.0):
        ring.append(value)
    assert ring.values().tolist() == [5.0, 6.0, 7.0]
    assert len(ring) == 3 and ring.capacity == 3

    copy = ring.values()
    copy[:] = 0.0
    assert ring.values().tolist() == [5.0, 6.0, 7.0]

    ring.resize(2)
    assert ring.values().tolist() == [6.0, 7.0]
    ring.resize(4)
    ring.append(8.0)
    ring.append(9.0)
    ring.append(10.0)
    assert ring.values().tolist() == [7.0, 8.0, 9.0, 10.0]
    ring.clear()
    assert len(ring) == 0

    with pytest.raises(ValueError):
        RingBuffer(0)


def test_ring_buffer_of_rows() -> None:
    ring = RingBuffer(2, width=3)
    for row in range(5):
        ring.append([row, row, row])
    assert ring.values().tolist() == [[3, 3, 3], [4, 4, 4]]
    ring.resize(1)
    assert ring.values().shape == (1, 3)


# -- real processes -------------------------------------------------------------------------------------
def test_engine_cpu_and_memory_of_a_real_process(monitor: ResourceMonitor, child: Child) -> None:
    monitor.watch("small", child.pid)
    before = monitor.sample_once()
    assert before.engine_pid == child.pid
    assert before.engine_rss_bytes > 0 and before.engine_threads >= 1

    child.send("allocate")
    child.expect("busy")
    process = psutil.Process(child.pid)
    outer_before = sum(process.cpu_times()[:2])
    monitor.sample_once()
    time.sleep(0.5)  # the CPU figure is the mean over the interval between two samples
    busy = monitor.sample_once()
    outer_after = sum(process.cpu_times()[:2])

    # Busy, and by no more than the process's own CPU time says (how busy depends on what else runs here).
    assert 0 < busy.engine_cpu_cores * 0.5 <= (outer_after - outer_before) + 0.05
    assert busy.engine_cpu_percent == pytest.approx(busy.engine_cpu_cores * 100 / CPUS)
    assert busy.engine_cpu_percent <= 100.0 + 5.0
    assert busy.engine_rss_bytes - before.engine_rss_bytes > 150 * MB
    assert busy.power_provenance == "estimated"
    assert busy.power_watts == pytest.approx(busy.engine_cpu_cores * monitor.watts_per_core)

    # The rest of the sample is filled in too.
    assert busy.gui_rss_bytes > 0 and 0.0 <= busy.gui_cpu_percent <= 100.0
    assert len(busy.system_cpu_per_core) == CPUS
    assert 0.0 <= busy.system_cpu_percent <= 100.0
    assert 0 < busy.memory_used_bytes <= busy.memory_total_bytes
    assert busy.net_recv_bytes_per_s >= 0.0

    data = monitor.snapshot()
    per_side = {engine_series(side, name) for side in ("small", "large") for name in ENGINE_SERIES}
    assert set(data) == {*SCALAR_SERIES, *per_side, "system_cpu_per_core", "power_measured"}
    assert all(len(series) == 3 for series in data.values())
    assert data["system_cpu_per_core"].shape == (3, CPUS)
    assert np.all(np.diff(data["timestamp"]) > 0)
    assert data["engine_rss_bytes"][-1] == busy.engine_rss_bytes
    assert data["small_engine_rss_bytes"][-1] == busy.engine_rss_bytes  # the only engine: the sum is its own
    assert np.isnan(data["large_engine_rss_bytes"]).all()  # no process watched for the large side
    assert monitor.latest() == busy


def test_each_side_has_its_own_process(monitor: ResourceMonitor, child: Child) -> None:
    idle = Child()
    try:
        child.send("burn")
        child.expect("busy")
        monitor.watch("small", idle.pid)
        monitor.watch("large", child.pid)
        monitor.sample_once()
        start = {side: monitor.mark(side) for side in ("small", "large")}
        busy_before = sum(psutil.Process(child.pid).cpu_times()[:2])
        for _ in range(4):
            time.sleep(0.1)
            sample = monitor.sample_once()
        end = {side: monitor.mark(side) for side in ("small", "large")}
        busy_after = sum(psutil.Process(child.pid).cpu_times()[:2])
        data = monitor.snapshot()
        # The sample's engine figures are the two processes together; each side's series is its own process's.
        assert sample.engine_pid == idle.pid  # the small side's
        assert sample.engine_rss_bytes == pytest.approx(
            data["small_engine_rss_bytes"][-1] + data["large_engine_rss_bytes"][-1])
        assert data["large_engine_cpu_cores"][-1] > 0.1 > data["small_engine_cpu_cores"][-1]
        assert sample.engine_cpu_cores == pytest.approx(
            data["small_engine_cpu_cores"][-1] + data["large_engine_cpu_cores"][-1])

        summaries = {side: monitor.summarize_run(start[side].timestamp, end[side].timestamp, start[side], end[side])
                     for side in ("small", "large")}
        for side in ("small", "large"):
            assert summaries[side].engine_cpu_seconds.provenance == "measured"
        busy_seconds = summaries["large"].engine_cpu_seconds.value
        assert busy_seconds is not None and 0 < busy_seconds <= busy_after - busy_before + 1e-6
        idle_seconds = summaries["small"].engine_cpu_seconds.value
        assert idle_seconds is not None and idle_seconds < busy_seconds / 4
        assert summaries["large"].energy.value == pytest.approx(busy_seconds * monitor.watts_per_core)
        # A mark of one side against the other side's process is no measurement.
        mixed = monitor.summarize_run(start["small"].timestamp, end["large"].timestamp, start["small"], end["large"])
        assert mixed.engine_cpu_seconds.provenance == "estimated"

        monitor.unwatch("large")
        assert monitor.watched_pid("large") is None and monitor.watched_pid("small") == idle.pid
        assert monitor.mark("large").engine_cpu_seconds is None
        alone = monitor.sample_once()
        data = monitor.snapshot()
        assert np.isnan(data["large_engine_rss_bytes"][-1])
        assert alone.engine_rss_bytes == data["small_engine_rss_bytes"][-1]  # the busy process counts no more
    finally:
        idle.popen.kill()
        idle.popen.wait()


def test_first_cpu_reading_is_nan_not_zero(monitor: ResourceMonitor, child: Child) -> None:
    child.send("burn")
    child.expect("busy")
    monitor.watch("small", child.pid)
    first = monitor.sample_once()
    # psutil would say 0.0 here; a busy process at 0 % is a lie, so the first reading is "not available".
    for value in (first.engine_cpu_percent, first.engine_cpu_cores, first.power_watts, first.gui_cpu_percent,
                  first.system_cpu_percent, first.net_recv_bytes_per_s):
        assert np.isnan(value)
    assert first.engine_rss_bytes > 0

    time.sleep(0.3)
    monitor.watch("small", child.pid)  # the same process again keeps its baseline
    second = monitor.sample_once()
    assert second.engine_cpu_cores > 0  # busy, by how much depends on what else the machine runs
    assert np.isfinite(second.gui_cpu_percent) and np.isfinite(second.system_cpu_percent)


def test_engine_exit_while_watched(monitor: ResourceMonitor, child: Child) -> None:
    monitor.watch("small", child.pid)
    monitor.sample_once()
    child.popen.kill()
    # Dead but not yet reaped: a zombie, whose figures psutil may still report as zeros.
    deadline = time.monotonic() + 2.0
    while psutil.Process(child.pid).status() != psutil.STATUS_ZOMBIE and time.monotonic() < deadline:
        time.sleep(0.01)

    gone = monitor.sample_once()
    assert gone.engine_pid is None and monitor.watched_pid("small") is None
    assert np.isnan(gone.engine_rss_bytes) and np.isnan(gone.engine_cpu_percent)
    assert np.isnan(gone.engine_threads)
    assert monitor.mark("small").engine_cpu_seconds is None

    child.popen.wait()
    assert np.isnan(monitor.sample_once().engine_rss_bytes)
    monitor.watch("small", child.pid)  # a pid that no longer exists is no engine
    assert monitor.watched_pid("small") is None


def test_engine_restart_gives_a_fresh_baseline(monitor: ResourceMonitor, child: Child) -> None:
    monitor.watch("small", child.pid)
    monitor.sample_once()
    assert np.isfinite(monitor.sample_once().gui_cpu_percent)
    monitor.watch("small", os.getpid())  # another process: its first reading is NaN again
    assert np.isnan(monitor.sample_once().engine_cpu_percent)
    assert monitor.watched_pid("small") == os.getpid()
    monitor.unwatch("small")
    assert np.isnan(monitor.sample_once().engine_rss_bytes)


def test_run_summary_from_marks(monitor: ResourceMonitor, child: Child) -> None:
    child.send("burn")
    child.expect("busy")
    monitor.watch("small", child.pid)
    monitor.sample_once()
    process = psutil.Process(child.pid)
    outer_before = sum(process.cpu_times()[:2])
    start = monitor.mark("small")
    for _ in range(4):
        time.sleep(0.1)
        monitor.sample_once()
    end = monitor.mark("small")
    outer_after = sum(process.cpu_times()[:2])

    summary = monitor.summarize_run(start.timestamp, end.timestamp, start, end)
    assert summary.samples == 4
    assert summary.engine_cpu_seconds.provenance == "measured"
    # The process's own counters, read around the marks, bracket the figure (a loaded machine gives the
    # child less CPU, never a wrong count).
    assert summary.engine_cpu_seconds.value is not None
    assert 0 < summary.engine_cpu_seconds.value <= outer_after - outer_before + 1e-6
    assert summary.engine_mean_cpu.value is not None and summary.engine_mean_cpu.value > 0
    assert summary.engine_peak_rss.value is not None and summary.engine_peak_rss.value > 0
    assert summary.energy.provenance == "estimated"
    assert summary.energy.value == pytest.approx(summary.engine_cpu_seconds.value * monitor.watts_per_core)

    without_marks = monitor.summarize_run(start.timestamp, end.timestamp)
    assert without_marks.engine_cpu_seconds.provenance == "estimated"
    assert without_marks.engine_cpu_seconds.value is not None and without_marks.engine_cpu_seconds.value > 0.08

    empty = monitor.summarize_run(end.timestamp + 10, end.timestamp + 20)
    assert empty.samples == 0 and empty.engine_peak_rss.value is None and empty.energy.value is None


# -- tokens -----------------------------------------------------------------------------------------------
def test_tokens_per_second_over_a_sliding_second(monitor: ResourceMonitor) -> None:
    monitor.record_tokens("small", 5, timestamp=100.0)
    monitor.record_tokens("small", 3, timestamp=100.5)
    monitor.record_tokens("large", 7, timestamp=100.2)
    assert monitor.tokens_per_second("small", now=100.6) == 8.0
    assert monitor.tokens_per_second("small", now=101.2) == 3.0  # the tokens at 100.0 left the window
    assert monitor.tokens_per_second("large", now=101.2) == 0.0
    assert monitor.tokens_per_second("small", now=102.0) == 0.0

    monitor.record_tokens("small", 10)
    sample = monitor.sample_once()
    assert sample.small_tokens_per_s == 10.0 and sample.large_tokens_per_s == 0.0


def test_record_tokens_from_many_threads(monitor: ResourceMonitor) -> None:
    stamp = time.perf_counter()

    def record() -> None:
        for _ in range(500):
            monitor.record_tokens("large", 1, timestamp=stamp)

    threads = [threading.Thread(target=record) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert monitor.tokens_per_second("large", now=stamp) == 2000.0


# -- rate, thread, subscribers ----------------------------------------------------------------------------
def test_set_rate_keeps_the_newest_data() -> None:
    monitor = ResourceMonitor(rate_hz=4.0, window_s=2.0, powercap_root=NO_RAPL)
    assert monitor.capacity == 8
    stamps = [monitor.sample_once().timestamp for _ in range(10)]
    assert monitor.snapshot()["timestamp"].tolist() == stamps[-8:]

    monitor.set_rate(1.0)
    assert monitor.capacity == 2
    data = monitor.snapshot()
    assert data["timestamp"].tolist() == stamps[-2:]
    assert all(len(series) == 2 for series in data.values())

    monitor.set_rate(20.0)
    assert monitor.capacity == 40
    stamps.append(monitor.sample_once().timestamp)
    assert monitor.snapshot()["timestamp"].tolist() == stamps[-3:]

    for bad in (0.4, 20.5):
        with pytest.raises(ValueError):
            monitor.set_rate(bad)
    with pytest.raises(ValueError):
        ResourceMonitor(rate_hz=0.0)


def test_set_window_keeps_the_newest_data() -> None:
    monitor = ResourceMonitor(rate_hz=4.0, window_s=2.0, powercap_root=NO_RAPL)
    stamps = [monitor.sample_once().timestamp for _ in range(10)]
    assert monitor.snapshot()["timestamp"].tolist() == stamps[-8:]

    monitor.set_window(1.0)
    assert (monitor.window_s, monitor.capacity) == (1.0, 4)
    data = monitor.snapshot()
    assert data["timestamp"].tolist() == stamps[-4:], "shrinking drops the oldest samples"
    assert all(len(series) == 4 for series in data.values())
    assert data["system_cpu_per_core"].shape == (4, CPUS)

    monitor.set_window(5.0)
    assert (monitor.capacity, monitor.rate_hz) == (20, 4.0), "the rate stays"
    assert monitor.snapshot()["timestamp"].tolist() == stamps[-4:], "growing keeps everything"
    stamps += [monitor.sample_once().timestamp for _ in range(12)]
    assert monitor.snapshot()["timestamp"].tolist() == stamps[-16:], "and fills up as samples arrive"

    monitor.set_rate(2.0)
    assert monitor.capacity == 10, "a later rate change keeps the new window"
    for bad in (0.0, -1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError):
            monitor.set_window(bad)
    assert monitor.window_s == 5.0
    with pytest.raises(ValueError):
        ResourceMonitor(window_s=0.0)


def test_start_and_stop_promptly() -> None:
    monitor = ResourceMonitor(rate_hz=20.0, powercap_root=NO_RAPL)
    received: list[ResourceSample] = []
    three = threading.Event()

    def on_sample(sample: ResourceSample) -> None:
        received.append(sample)
        if len(received) >= 3:
            three.set()

    monitor.subscribe(on_sample)
    monitor.start()
    assert three.wait(30.0)
    monitor.stop()  # returns once the sampling thread has ended (a hang here is the failure)
    assert not monitor.running
    count = len(received)
    time.sleep(0.1)
    assert len(received) == count


def test_slow_rate_still_stops_and_changes_rate_at_once() -> None:
    monitor = ResourceMonitor(rate_hz=0.5, powercap_root=NO_RAPL)
    first = threading.Event()
    more = threading.Event()
    received: list[ResourceSample] = []

    def on_sample(sample: ResourceSample) -> None:
        received.append(sample)
        (first if len(received) == 1 else more).set()

    monitor.subscribe(on_sample)
    started = time.perf_counter()
    monitor.start()
    try:
        # The first sample comes at once, not after the 2 s interval; the rate change takes effect without
        # waiting the interval out. Margins: the interval is 2 s, a loaded machine is late by far less than 1.5 s.
        assert first.wait(1.5)
        monitor.set_rate(20.0)
        assert more.wait(1.5)
        monitor.set_rate(0.5)
    finally:
        began = time.perf_counter()
        monitor.stop()
    assert time.perf_counter() - began < 1.5  # did not sleep out the 2 s interval
    assert received[0].timestamp - started < 1.5


def test_a_failing_subscriber_does_not_stop_sampling(monitor: ResourceMonitor) -> None:
    seen: list[ResourceSample] = []

    def broken(sample: ResourceSample) -> None:
        raise RuntimeError("boom")

    monitor.subscribe(broken)
    unsubscribe = monitor.subscribe(seen.append)
    monitor.sample_once()
    unsubscribe()
    monitor.sample_once()
    assert len(seen) == 1


def test_sampling_is_cheap(monitor: ResourceMonitor) -> None:
    monitor.watch("small", os.getpid())
    # CPU time this thread spends, not wall time: a loaded machine makes a sample wait, not cost more.
    began = time.thread_time()
    for _ in range(20):
        monitor.sample_once()
    assert (time.thread_time() - began) / 20 < 0.025  # well under the 50 ms of the fastest rate


def test_engine_cpu_tooltip_explains_spinning_threads() -> None:
    assert "spin" in ENGINE_CPU_TOOLTIP and "n_threads" in ENGINE_CPU_TOOLTIP


# -- RAPL (a fake powercap directory) ---------------------------------------------------------------------
def test_rapl_power_sums_packages_and_handles_wrap_around(tmp_path: Path) -> None:
    package0 = make_zone(tmp_path, "intel-rapl:0", "package-0", 1_000_000)
    package1 = make_zone(tmp_path, "intel-rapl:1", "package-1", 5_000_000)
    make_zone(tmp_path, "intel-rapl:0:0", "core", 123)  # part of package 0: not counted twice
    make_zone(tmp_path, "intel-rapl:2", "psys", 456)  # the whole platform: not counted
    meter = RaplMeter(tmp_path)
    assert meter.available

    assert np.isnan(meter.power(10.0))
    package0.write_text("3000000\n")  # +2 J
    package1.write_text("6000000\n")  # +1 J
    assert meter.power(11.0) == pytest.approx(3.0)

    package0.write_text("1000000\n")  # wrapped at 10 J: 3 -> 10 -> 0 -> 1 is +8 J
    assert meter.power(13.0) == pytest.approx(4.0)
    assert meter.joules_between((9_000_000, 0), (500_000, 0)) == pytest.approx(1.5)


def test_rapl_unreadable_is_unavailable(tmp_path: Path) -> None:
    assert not RaplMeter(tmp_path / "missing").available
    energy = make_zone(tmp_path, "intel-rapl:0", "package-0", 1_000_000)
    energy.unlink()
    energy.mkdir()  # reading it fails with an OSError, as a permission error would
    assert not RaplMeter(tmp_path).available


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root reads files whatever their mode")
def test_rapl_permission_denied_is_unavailable(tmp_path: Path) -> None:
    energy = make_zone(tmp_path, "intel-rapl:0", "package-0", 1_000_000)
    energy.chmod(0)
    assert not RaplMeter(tmp_path).available


def test_monitor_measures_power_with_rapl(tmp_path: Path) -> None:
    energy = make_zone(tmp_path, "intel-rapl:0", "package-0", 1_000_000)
    monitor = ResourceMonitor(powercap_root=tmp_path)
    first = monitor.sample_once()
    assert first.power_provenance == "measured" and np.isnan(first.power_watts)
    start = monitor.mark()
    energy.write_text("4000000\n")
    end = monitor.mark()
    second = monitor.sample_once()
    assert second.power_watts > 0 and second.power_provenance == "measured"
    assert monitor.snapshot()["power_measured"].tolist() == [True, True]

    summary = monitor.summarize_run(start.timestamp, end.timestamp, start, end)
    assert summary.energy.provenance == "measured" and summary.energy.value == pytest.approx(3.0)

    # The counter becomes unreadable (permissions changed): power falls back to the estimate.
    energy.unlink()
    energy.mkdir()
    assert monitor.sample_once().power_provenance == "estimated"
    assert monitor.power_provenance == "estimated"
