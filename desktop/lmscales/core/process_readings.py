"""Readings of processes and of the whole machine's CPUs through psutil, for the resource monitor.

psutil's first `Process.cpu_percent()` is 0.0 by definition, not a measurement: a watched process remembers
whether its baseline has been taken, and its first reading is NaN.
"""

from __future__ import annotations

import math
from typing import Any

import psutil

GONE = (psutil.NoSuchProcess, psutil.AccessDenied)  # ZombieProcess is a NoSuchProcess
_NAN = math.nan


class Watched:
    """One process under observation, with whether its `cpu_percent` baseline has been taken."""

    def __init__(self, process: psutil.Process) -> None:
        self.process = process
        self.primed = False


NO_PROCESS: tuple[float, float, float] = (_NAN, _NAN, _NAN)


def read_process(watched: Watched) -> tuple[float, float, float]:
    """(CPU % of one core, RSS bytes, threads); raises a `GONE` error if the process is gone."""
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


def busy_percent(before: Any, after: Any) -> float:
    """How busy one CPU was between two `psutil.cpu_times` readings, in % (NaN if no time passed)."""
    elapsed = _cpu_total(after) - _cpu_total(before)
    if elapsed <= 0:
        return _NAN
    idle = (after.idle + getattr(after, "iowait", 0.0)) - (before.idle + getattr(before, "iowait", 0.0))
    return float(min(100.0, max(0.0, 100.0 * (elapsed - idle) / elapsed)))
