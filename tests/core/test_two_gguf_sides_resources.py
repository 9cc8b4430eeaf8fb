"""Two GGUF sides running at once, with the resource monitor on: each side's CPU-seconds, memory and energy are
its own engine process's, not a mix of both (issue 22: the monitor once watched one process for the whole
session, so a side's run could open with a mark on its process and close with one on the other's).

Two real engines on the bundled model; each side's figures are checked against psutil's own counters of that
side's process, read around the run. The small side has a long conversation behind it (its own chat, which the
large side has not had), so it reads far more before it answers and runs several times as long: a figure of the
other side's process, taken over this side's run, is then far from its own."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from lmscales.core.engines.local import LocalEngine
from lmscales.core.resource_monitor import ResourceMonitor
from lmscales.core.session import Session, SessionEvent, SideEnded, SideStarted
from lmscales.core.tasks import ChatTurn
from lmscales.core.trial import GenerationParams, TaskInput

pytestmark = pytest.mark.slow

# RAPL measures the whole CPU package, which both sides share; a side's own energy is the estimate from its own
# CPU-seconds. No powercap directory here, so the test means the same on a machine whose RAPL can be read.
NO_RAPL = Path("/nonexistent-powercap")
TOLERANCE = 0.20
LONG_ENOUGH = GenerationParams(max_tokens=64, temperature=0.0, seed=1)
COUNTING = TaskInput("chat", "Count from 1 to 200, separated by commas. Write only the numbers.")
EARLIER_TURN = ChatTurn("Count from 1 to 100, separated by commas.", ", ".join(str(n) for n in range(1, 101)))


@pytest.fixture(scope="module")
def two_engines(bundled_model: Path) -> Iterator[tuple[LocalEngine, LocalEngine]]:
    """The bundled model loaded twice, as File › Open GGUF model for the large side does: two engine processes."""
    engines: list[LocalEngine] = []
    try:
        for threads in (2, 1):
            engine = LocalEngine(n_ctx=2048, n_threads=threads)
            engines.append(engine)
            engine.load(bundled_model)
        yield engines[0], engines[1]
    finally:
        for engine in engines:
            engine.close()


def _cpu_seconds(pid: int) -> float:
    times = psutil.Process(pid).cpu_times()
    return float(times.user + times.system)


def test_two_gguf_sides_in_parallel_each_get_their_own_cpu_seconds_memory_and_energy(
    two_engines: tuple[LocalEngine, LocalEngine],
) -> None:
    small, large = two_engines
    pids = {"small": small.pid, "large": large.pid}
    assert None not in pids.values() and pids["small"] != pids["large"]
    monitor = ResourceMonitor(rate_hz=20.0, powercap_root=NO_RAPL)
    session = Session({"small": small, "large": large}, monitor=monitor)
    session.transcripts["small"].append(EARLIER_TURN)
    events: list[SessionEvent] = []
    lock = threading.Lock()

    def keep(event: SessionEvent) -> None:
        with lock:
            events.append(event)

    session.subscribe(keep)
    monitor.start()
    try:
        before = {side: _cpu_seconds(pid) for side, pid in pids.items() if pid is not None}
        trial = session.run(COUNTING, LONG_ENOUGH, mode="parallel")
        after = {side: _cpu_seconds(pid) for side, pid in pids.items() if pid is not None}
        rss = {side: float(psutil.Process(pid).memory_info().rss) for side, pid in pids.items() if pid is not None}
    finally:
        monitor.stop()

    # The sides did run at the same time: both started before either ended.
    order = [(type(event), event.side) for event in events if isinstance(event, SideStarted | SideEnded)]
    assert [kind for kind, _ in order[:2]] == [SideStarted, SideStarted], order
    # The monitor watches each side's own process, set by the session alone.
    assert {side: monitor.watched_pid(side) for side in ("small", "large")} == pids
    own = {side: after[side] - before[side] for side in pids}
    assert own["small"] > 2 * own["large"], f"the sides' work is too alike to tell their processes apart: {own}"

    for result in trial.sides:
        side = result.side
        assert result.ok and result.finished is not None, result.to_dict()
        assert result.finished.output_tokens >= 48, f"{side} produced {result.finished.output_tokens} tokens"
        assert own[side] > 0.05, f"{side}'s process used {own[side]:.3f} CPU-s: too little to compare"

        assert result.cpu_seconds is not None
        assert result.cpu_seconds == pytest.approx(own[side], rel=TOLERANCE), f"{side}: SideResult CPU-seconds"
        resources = result.resources
        assert resources is not None
        cpu = resources.engine_cpu_seconds
        assert cpu.provenance == "measured", f"{side}: {cpu.how}"
        assert cpu.value is not None
        assert cpu.value == pytest.approx(own[side], rel=TOLERANCE), f"{side}: the run summary's CPU-seconds"
        # Its own process's memory, not both processes' (each holds the whole model, so a sum is about twice).
        assert resources.engine_peak_rss.value == pytest.approx(rss[side], rel=TOLERANCE), f"{side}: peak RSS"
        assert resources.energy.provenance == "estimated"
        assert resources.energy.value == pytest.approx(cpu.value * monitor.watts_per_core), f"{side}: energy"
