"""Break-even: at a monthly volume V, each side's money and energy a month, the volume from which the small side
is cheaper, and what it costs in quality there.

Each side's money a month is a straight line in V: `fixed + per_answer × V`.

- per answer: the side's API money per answer (mean per run); for a side on this computer, plus its energy per
  answer × the electricity price (the provider's electricity is in an API's price, so a remote side pays none).
- fixed: the hardware cost / the months it is spread over, on the small side only (the machine bought to run it).

The small side is cheaper where its line is below the large side's. With `saving = large per answer - small per
answer` and `extra` = the small side's fixed cost a month (the large side has none): saving > 0 and extra > 0
cross at V = extra / saving, and the small side is cheaper above it ("from"); saving > 0 and no extra: cheaper at
any volume ("always"); both zero: the same money at every volume ("same"); otherwise "never". A figure that is
not known (no electricity price, no energy figure, no price) makes the money "unknown", never a guess. Energy a
month is energy per answer × V, for the large side from its estimate where one is given.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace

from lmscales.core.decision import wording
from lmscales.core.decision.acceptable import PassRate
from lmscales.core.decision.paired import PairedPassDifference
from lmscales.core.decision.per_answer import energy_provenance, energy_range
from lmscales.core.decision.settings import DecisionSettings
from lmscales.core.quality.results import ScoreComparison, TaskResult

CROSSOVERS = ("from", "always", "never", "same", "unknown")
_TOLERANCE = 1e-12


@dataclass(frozen=True)
class MonthlySide:
    side: str
    on_this_computer: bool
    money_per_answer: float | None  # API money + electricity on this computer; None when unknown
    fixed_money: float  # hardware cost per month
    money: float | None  # a month at the volume
    money_reason: str | None  # why money is None
    energy_kwh: float | None  # a month at the volume
    energy_provenance: str
    energy_reason: str | None
    energy_kwh_range: tuple[float, float] | None = None  # the estimate's range a month (EcoLogits' for an API)


@dataclass(frozen=True)
class BreakEven:
    task: str
    volume_per_month: int
    currency: str
    small: MonthlySide
    large: MonthlySide
    money_saved: float | None  # a month: large - small (negative: the small side costs more)
    energy_saved_kwh: float | None  # a month: large - small
    crossover: str  # one of CROSSOVERS
    crossover_volume: float | None  # answers a month where the lines cross ("from")
    crossover_reason: str
    small_pass: PassRate | None
    large_pass: PassRate | None
    pass_difference: PairedPassDifference | None  # small - large
    score_difference: ScoreComparison | None  # the task's primary score, small - large, with its interval
    sentence: str


def _monthly(task: TaskResult, side: str, settings: DecisionSettings, on_this_computer: bool) -> MonthlySide:
    volume = settings.volume_per_month
    cost = task.costs.get(side)
    wh_range = energy_range(cost)
    energy_wh = cost.energy_wh_per_100 / 100 if cost is not None and cost.energy_wh_per_100 is not None else None
    energy_kwh = energy_wh * volume / 1000 if energy_wh is not None else None
    energy_reason = None if energy_wh is not None else f"no energy figure for the {side} side"
    fixed = settings.hardware_cost / settings.hardware_months if side == "small" else 0.0
    per_answer: float | None = None
    reason: str | None = None
    api = cost.cost_per_100 / 100 if cost is not None and cost.cost_per_100 is not None else None
    if api is None:
        reason = f"the {side} side's price per answer is unknown"
    elif api > 0 and cost is not None and cost.currency != settings.currency:
        reason = f"the {side} side's price is in {cost.currency}, the electricity price in {settings.currency}"
    elif on_this_computer and energy_wh is None:
        reason = f"the {side} side runs on this computer and its energy is unknown"
    elif on_this_computer and settings.electricity_price_per_kwh is None:
        reason = "no electricity price is set"
    else:
        electricity = (energy_wh or 0.0) / 1000 * (settings.electricity_price_per_kwh or 0.0) if on_this_computer \
            else 0.0
        per_answer = api + electricity
    money = fixed + per_answer * volume if per_answer is not None else None
    return MonthlySide(side, on_this_computer, per_answer, fixed, money, reason, energy_kwh, energy_provenance(cost),
                       energy_reason, (wh_range[0] * volume / 1000, wh_range[1] * volume / 1000) if wh_range else None)


def crossover(small: MonthlySide, large: MonthlySide) -> tuple[str, float | None, str]:
    """Where the small side's money line is below the large side's (see the module docstring)."""
    if small.money_per_answer is None or large.money_per_answer is None:
        return "unknown", None, small.money_reason or large.money_reason or "a price is unknown"
    saving = large.money_per_answer - small.money_per_answer
    extra = small.fixed_money - large.fixed_money
    saving = 0.0 if math.isclose(saving, 0.0, abs_tol=_TOLERANCE) else saving
    extra = 0.0 if math.isclose(extra, 0.0, abs_tol=_TOLERANCE) else extra
    if saving == 0 and extra == 0:
        return "same", None, "both sides cost the same per answer and neither has a fixed cost"
    if saving > 0 and extra > 0:
        return "from", extra / saving, "the hardware cost is paid back by what each answer saves"
    if saving > 0:
        return "always", None, "the small side costs less per answer and has no fixed cost"
    if saving < 0:
        return "never", None, "the small side costs more per answer"
    return "never", None, "both cost the same per answer and the small side has a fixed cost"


def break_even(task: TaskResult, settings: DecisionSettings, *, on_this_computer: Mapping[str, bool],
               rates: Mapping[str, PassRate], pass_difference: PairedPassDifference | None,
               score_difference: ScoreComparison | None) -> BreakEven:
    small = _monthly(task, "small", settings, on_this_computer.get("small", True))
    large = _monthly(task, "large", settings, on_this_computer.get("large", False))
    kind, volume, reason = crossover(small, large)
    money_saved = large.money - small.money if small.money is not None and large.money is not None else None
    energy_saved = (large.energy_kwh - small.energy_kwh
                    if small.energy_kwh is not None and large.energy_kwh is not None else None)
    currency = settings.currency
    result = BreakEven(task.task, settings.volume_per_month, currency, small, large, money_saved, energy_saved, kind,
                       volume, reason, rates.get("small"), rates.get("large"), pass_difference, score_difference,
                       sentence="")
    return replace(result, sentence=sentence(result))


def _money_part(result: BreakEven) -> str:
    if result.money_saved is None:
        return f"costs an unknown amount ({result.small.money_reason or result.large.money_reason})"
    if math.isclose(result.money_saved, 0.0, abs_tol=1e-9):
        return f"costs the same ({wording.money(result.small.money or 0.0, result.currency)})"
    amount = wording.money(result.money_saved, result.currency)
    return f"saves {amount}" if result.money_saved > 0 else f"costs {amount} more"


def _energy_part(result: BreakEven) -> str:
    if result.energy_saved_kwh is None:
        return ("uses energy that cannot be compared "
                f"({result.small.energy_reason or result.large.energy_reason})")
    if math.isclose(result.energy_saved_kwh, 0.0, abs_tol=1e-12):
        return "uses the same energy"
    amount = wording.energy_kwh(result.energy_saved_kwh)
    return f"saves {amount}" if result.energy_saved_kwh > 0 else f"uses {amount} more"


def _quality_part(result: BreakEven) -> str:
    d = result.pass_difference
    if d is None:
        return "cannot be compared on quality (no item was decided on both sides)"
    text = (f"passes {wording.percent(d.small_rate)} instead of {wording.percent(d.large_rate)} of them "
            f"(difference {wording.signed_points(d.difference)} points, 95 % CI {wording.points(d.low, d.high)}, "
            f"on {d.n} items)")
    score = result.score_difference
    if score is not None:
        s = score.difference
        text += (f"; {score.name} difference {wording.signed(s.mean_difference)} points "
                 f"(95 % CI {wording.signed(s.low)} to {wording.signed(s.high)})")
    return text


def _crossover_part(result: BreakEven) -> str:
    noun = wording.volume_noun(result.task, 2)
    if result.crossover == "from" and result.crossover_volume is not None:
        return f"It is cheaper from about {wording.count(math.ceil(result.crossover_volume))} {noun} a month."
    if result.crossover == "always":
        return "It is cheaper at any volume."
    if result.crossover == "never":
        return "It is cheaper at no volume."
    if result.crossover == "same":
        return "Neither side is cheaper at any volume."
    return f"Which side is cheaper is unknown: {result.crossover_reason}."


def sentence(result: BreakEven) -> str:
    """"At 10,000 translations a month, the small model saves $41 and 3.1 kWh and passes 62 % instead of 91 %
    (…). It is cheaper from about 2,400 translations a month." """
    volume = result.volume_per_month
    opening = f"At {wording.count(volume)} {wording.volume_noun(result.task, volume)} a month, the small model"
    money, energy = _money_part(result), _energy_part(result)
    both_saved = money.startswith("saves ") and energy.startswith("saves ")
    costs = f"{money} and {energy.removeprefix('saves ')}" if both_saved else f"{money}, {energy},"
    return f"{opening} {costs} and {_quality_part(result)}. {_crossover_part(result)}"
