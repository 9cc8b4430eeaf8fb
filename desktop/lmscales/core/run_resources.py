"""What one run of one side cost this machine: the marks that bracket it and the summary worked out from them
and from the resource monitor's samples (`lmscales.core.resource_monitor`).

A mark holds cumulative counters at one instant (the side's engine process's CPU-seconds, the RAPL energy
counters); two marks of the same side and the same process give "measured" figures. Without them, or when the
side's process changed in between (a restart), CPU-seconds are integrated from the samples ("estimated").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from lmscales.core.metrics import Figure
from lmscales.core.rapl import RaplMeter

Side = Literal["small", "large"]  # the session's slots

_NAN = float("nan")


@dataclass(frozen=True)
class ResourceMark:
    """Cumulative counters at one instant; two marks of one side bracket its run (see `summarize`).

    `engine_cpu_seconds` is the user + system CPU time of `side`'s engine process since it started (None when
    the side has no process of ours); `package_energy_uj` the raw RAPL counter of each package zone (None where
    RAPL cannot be read).
    """

    timestamp: float
    engine_pid: int | None
    engine_cpu_seconds: float | None
    package_energy_uj: tuple[int, ...] | None
    side: Side | None = None


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


Series = Mapping[str, npt.NDArray[Any]]


def summarize(
    data: Series, t_start: float, t_end: float, start: ResourceMark | None, end: ResourceMark | None, *,
    rapl: RaplMeter, rate_hz: float, watts_per_core: float,
) -> RunResourceSummary:
    """The run's cost between two perf_counter instants, from `data`: the monitor's snapshot with the engine
    series ("engine_rss_bytes", "engine_cpu_percent", "engine_cpu_cores") of the one process summarised.

    With marks of that process at both ends, CPU-seconds are psutil's own counters and RAPL energy the
    counters' difference; without, both are integrated from the samples (coarser, CPU-seconds then "estimated").
    """
    times = data["timestamp"]
    inside, spans = _spans(times, t_start, t_end)
    count = int(inside.sum())

    rss = data["engine_rss_bytes"][inside]
    peak = float(np.nanmax(rss)) if np.isfinite(rss).any() else None
    peak_rss = Figure(peak, "bytes", "measured", f"highest sampled RSS ({rate_hz:g} Hz)")
    cpu = data["engine_cpu_percent"][inside]
    mean = float(np.nanmean(cpu)) if np.isfinite(cpu).any() else None
    mean_cpu = Figure(mean, "%", "measured", "mean sampled engine CPU, % of the whole machine")

    cpu_seconds: Figure
    if (
        start is not None and end is not None and start.engine_pid is not None
        and start.engine_pid == end.engine_pid and start.side == end.side
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
        joules = rapl.joules_between(start.package_energy_uj, end.package_energy_uj)
        energy = Figure(joules, "J", "measured", "RAPL CPU package energy (every process) between the marks")
    elif count and bool(data["power_measured"][inside].all()):
        energy = Figure(_integrate(data["power_watts"], spans), "J", "measured",
                        "RAPL CPU package power (every process) × time")
    else:
        engine_seconds = cpu_seconds.value
        estimate = engine_seconds * watts_per_core if engine_seconds is not None else None
        energy = Figure(estimate, "J", "estimated", f"engine CPU-seconds × {watts_per_core:g} W per core")
    return RunResourceSummary(t_start, t_end, count, peak_rss, mean_cpu, cpu_seconds, energy)


def machine_energy(data: Series, summary: RunResourceSummary, cpu_count: int, watts_per_core: float) -> Figure:
    """Energy of the whole machine over a summarised run, for an engine whose process is not ours to watch
    (a server on this computer): RAPL where it measured, else every core's sampled use × watts per core."""
    if summary.energy.provenance == "measured":
        return summary.energy
    _, spans = _spans(data["timestamp"], summary.t_start, summary.t_end)
    cores = data["system_cpu_percent"] / 100.0 * cpu_count
    busy = _integrate(cores, spans)
    return Figure(busy * watts_per_core if busy is not None else None, "J", "estimated",
                  f"whole machine CPU (every process, the server too) × {watts_per_core:g} W per core")


def _spans(times: npt.NDArray[Any], t_start: float, t_end: float) -> tuple[npt.NDArray[Any], npt.NDArray[Any]]:
    """Which samples fall in the run, and the time each stands for: the interval since the one before it,
    clipped to the run (NaN outside)."""
    inside = (times >= t_start) & (times <= t_end)
    starts = np.maximum(np.concatenate(([_NAN], times[:-1])), t_start)
    return inside, np.where(inside, times - starts, _NAN)


def _integrate(rate: npt.NDArray[Any], spans: npt.NDArray[Any]) -> float | None:
    products = rate * spans
    finite = np.isfinite(products)
    return float(products[finite].sum()) if finite.any() else None
