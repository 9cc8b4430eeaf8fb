"""The CPU packages' own energy counters (Linux RAPL under powercap), read by the resource monitor and the
engine benchmark.

Where they can be read, energy and power are "measured" for the whole package (every process on it); where
not (another system, or a kernel that lets only root read them), the meter says it is unavailable and its
users fall back to an estimate.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

DEFAULT_POWERCAP_ROOT = Path("/sys/class/powercap")


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
            return math.nan
        return self.joules_between(previous[1], reading) / (now - previous[0])
