"""One side's energy for one answer, with where it comes from: what an evaluation, the decision and a report add up.

The energy spent on this computer (RAPL "measured", or "estimated on this machine" from the CPU it used) comes
first; a model behind an endpoint whose energy was not measured here has EcoLogits' estimate with its range
("EcoLogits <version> estimate"); anything else has none (a model EcoLogits does not know: `None`, never 0).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from lmscales.core.trial import SideResult

MEASURED = "measured"
ESTIMATED_HERE = "estimated on this machine"


@dataclass(frozen=True)
class EnergyReading:
    joules: float
    low_j: float  # the same as `joules` for a figure of this machine
    high_j: float
    provenance: str  # MEASURED, ESTIMATED_HERE or "EcoLogits 0.11.3 estimate"


def energy_reading(result: SideResult) -> EnergyReading | None:
    """The energy of `result`'s answer, or None where there is no figure."""
    resources = result.resources
    if resources is not None and resources.energy.value is not None:
        value = resources.energy.value
        provenance = ESTIMATED_HERE if resources.energy.provenance == "estimated" else MEASURED
        return EnergyReading(value, value, value, provenance)
    api = result.api_energy
    if api is not None and api.energy_j is not None:
        low = api.energy_low_j if api.energy_low_j is not None else api.energy_j
        high = api.energy_high_j if api.energy_high_j is not None else api.energy_j
        return EnergyReading(api.energy_j, low, high, api.provenance)
    return None


def provenance_of(readings: Sequence[EnergyReading | None]) -> str | None:
    """One word for a set of readings: their provenance when they share it, "mixed: …" when not, None when
    there are none."""
    kinds = sorted({reading.provenance for reading in readings if reading is not None})
    if not kinds:
        return None
    return kinds[0] if len(kinds) == 1 else "mixed: " + ", ".join(kinds)


def per_100_wh(readings: Sequence[EnergyReading | None]) -> float | None:
    """The mean energy of the readings, per 100 answers, in Wh; None unless every answer has a figure."""
    if not readings or any(reading is None for reading in readings):
        return None
    return sum(reading.joules for reading in readings if reading is not None) / len(readings) * 100 / 3600


def range_per_100_wh(readings: Sequence[EnergyReading | None]) -> tuple[float | None, float | None]:
    """The low and high ends of `per_100_wh` from EcoLogits' ranges; (None, None) when no reading has a range."""
    known = [reading for reading in readings if reading is not None]
    if not readings or len(known) < len(readings) or all(r.low_j == r.high_j for r in known):
        return None, None
    scale = 100 / 3600 / len(known)
    return sum(r.low_j for r in known) * scale, sum(r.high_j for r in known) * scale
