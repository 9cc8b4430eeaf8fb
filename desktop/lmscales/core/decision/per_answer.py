"""Money, energy, CPU time and time per *acceptable* answer on each side: the side's mean per answer (per run)
divided by its pass rate, which is the side's totals divided by its acceptable answers when every answer costs
about the same. Each figure keeps where it came from (`provenance`), and a figure that cannot be given is None
with the reason.

Money is what the side's runs cost in API money (the small side's electricity is in `break_even`, which has the
electricity price); energy in watt-hours; CPU time in CPU-seconds; time is the end-to-end time of one answer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from lmscales.core.decision.acceptable import PassRate
from lmscales.core.quality.results import SideCost, TaskResult

TIME_PROVENANCE = "measured (end to end, mean over the measured runs)"
CPU_PROVENANCE = "measured (CPU-seconds of the side's engine process)"
UNKNOWN_PROVENANCE = "not recorded"


def energy_provenance(cost: SideCost | None) -> str:
    return cost.energy_provenance if cost is not None and cost.energy_provenance else UNKNOWN_PROVENANCE


@dataclass(frozen=True)
class PerAnswerFigure:
    name: str  # "money", "energy", "cpu_time" or "time"
    unit: str  # the currency code, "Wh", "CPU-s" or "s"
    per_answer: float | None  # mean per answer (per run)
    per_acceptable: float | None
    provenance: str
    reason: str | None = None  # why `per_acceptable` is None
    # the ends of the estimate's range (EcoLogits' for an API's energy), per answer and per acceptable answer
    per_answer_range: tuple[float, float] | None = None
    per_acceptable_range: tuple[float, float] | None = None


@dataclass(frozen=True)
class SidePerAcceptable:
    side: str
    pass_rate: float | None
    money: PerAnswerFigure
    energy: PerAnswerFigure
    cpu_time: PerAnswerFigure
    time: PerAnswerFigure


def _figure(name: str, unit: str, per_answer: float | None, rate: PassRate, provenance: str, missing: str,
            per_answer_range: tuple[float, float] | None = None) -> PerAnswerFigure:
    if per_answer is None:
        return PerAnswerFigure(name, unit, None, None, provenance, missing)
    if rate.rate is None:
        return PerAnswerFigure(name, unit, per_answer, None, provenance,
                               "the rule decided none of this side's answers", per_answer_range)
    if rate.passed == 0:
        return PerAnswerFigure(name, unit, per_answer, None, provenance,
                               f"no acceptable answer (0 of {rate.decided})", per_answer_range)
    scaled = (per_answer_range[0] / rate.rate, per_answer_range[1] / rate.rate) if per_answer_range else None
    return PerAnswerFigure(name, unit, per_answer, per_answer / rate.rate, provenance, None, per_answer_range,
                           scaled)


def _per_answer(per_100: float | None) -> float | None:
    return per_100 / 100 if per_100 is not None else None


def energy_range(cost: SideCost | None) -> tuple[float, float] | None:
    """The energy estimate's range per answer in Wh, where the producer gave one."""
    if cost is None or cost.energy_wh_per_100_low is None or cost.energy_wh_per_100_high is None:
        return None
    return cost.energy_wh_per_100_low / 100, cost.energy_wh_per_100_high / 100


def per_acceptable_answer(task: TaskResult, rates: Mapping[str, PassRate]) -> dict[str, SidePerAcceptable]:
    """Per side that has a pass rate: the four figures per answer and per acceptable answer."""
    figures = {}
    for side, rate in rates.items():
        cost = task.costs.get(side)
        times = task.end_to_end.get(side, ())
        money = _per_answer(cost.cost_per_100) if cost else None
        energy = _per_answer(cost.energy_wh_per_100) if cost else None
        cpu = _per_answer(cost.cpu_seconds_per_100) if cost else None
        currency = cost.currency if cost else "USD"
        figures[side] = SidePerAcceptable(
            side=side, pass_rate=rate.rate,
            money=_figure("money", currency, money, rate, cost.cost_provenance if cost else UNKNOWN_PROVENANCE,
                          "no money figure for this side (an answer had no price)"),
            energy=_figure("energy", "Wh", energy, rate, energy_provenance(cost), "no energy figure for this side",
                           energy_range(cost)),
            cpu_time=_figure("cpu_time", "CPU-s", cpu, rate, CPU_PROVENANCE,
                             "no CPU time for this side (it runs on another computer or was not measured)"),
            time=_figure("time", "s", sum(times) / len(times) if times else None, rate, TIME_PROVENANCE,
                         "no end-to-end time was measured for this side"),
        )
    return figures
