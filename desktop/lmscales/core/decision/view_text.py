"""What a window shows of a decision, made here so front ends only display it: the pass rates in one line, the
advice and break-even for a results list, and the monthly cost against volume as chart data (the two money
lines, the user's volume and where they cross)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from lmscales.core.decision import wording
from lmscales.core.decision.acceptable import PassRate
from lmscales.core.decision.break_even import BreakEven
from lmscales.core.decision.decide import TaskDecision

CHART_POINTS = 60


def pass_rate_text(label: str, rate: PassRate) -> str:
    """"small: 4 of 6 acceptable (67 %, 95 % CI 30–90 %)", with what was left out; "unknown" when none decided."""
    if rate.rate is None or rate.low is None or rate.high is None:
        text = f"{label}: unknown (no answer the rule could decide)"
    else:
        text = (f"{label}: {rate.passed} of {rate.decided} acceptable ({wording.percent(rate.rate)}, 95 % CI "
                f"{rate.low * 100:.0f}–{rate.high * 100:.0f} %)")
    left_out = [f"{rate.undecided} undecided"] if rate.undecided else []
    left_out += [f"{rate.unanswered} not answered"] if rate.unanswered else []
    return text + (f"; {', '.join(left_out)}" if left_out else "")


def pass_rates_text(decision: TaskDecision, labels: tuple[str, str] = ("Small", "Large")) -> str:
    acceptable = decision.acceptable
    return f"{pass_rate_text(labels[0], acceptable.small)}. {pass_rate_text(labels[1], acceptable.large)}."


def advice_text(decision: TaskDecision) -> str:
    """"Advice: use large. <evidence>" — the headline first, as the window and the evaluation dialog show it."""
    return f"Advice: {decision.advice.headline}. {decision.advice.evidence}"


def results_text(decision: TaskDecision) -> str:
    """A task's advice and break-even for a list of results (the evaluation dialog's)."""
    lines = [f"{decision.task}: {advice_text(decision)}", decision.break_even.sentence]
    if decision.routing_sentence:
        lines.append(f"By tag: {decision.routing_sentence}.")
    return "\n".join(lines)


@dataclass(frozen=True)
class CostChart:
    """Monthly money against monthly volume for both sides: straight lines `fixed + per answer × volume`."""

    volumes: tuple[float, ...]
    small: tuple[float, ...]
    large: tuple[float, ...]
    volume: int  # the user's
    crossover: float | None  # where the lines cross (the small side is cheaper above it)
    crossover_money: float | None  # the money a month of both sides there
    x_label: str
    y_label: str
    caption: str


def cost_chart(result: BreakEven, points: int = CHART_POINTS) -> CostChart | None:
    """The chart's data, or None when either side's money per answer is unknown (no line is drawn from a guess;
    `cost_chart_unknown` says why)."""
    small, large = result.small, result.large
    if small.money_per_answer is None or large.money_per_answer is None:
        return None
    crossing = result.crossover_volume if result.crossover == "from" else None
    top = max(result.volume_per_month * 2, (crossing or 0) * 1.5, 10)
    volumes = tuple(top * index / (points - 1) for index in range(points))
    noun = wording.volume_noun(result.task, 2)
    if crossing is not None:
        caption = f"The lines cross at about {wording.count(math.ceil(crossing))} {noun} a month."
    else:
        caption = {"always": "The small side costs less at every volume.",
                   "never": "The small side costs more at every volume.",
                   "same": "Both sides cost the same at every volume."}.get(result.crossover, "")
    return CostChart(
        volumes=volumes,
        small=tuple(small.fixed_money + small.money_per_answer * v for v in volumes),
        large=tuple(large.fixed_money + large.money_per_answer * v for v in volumes),
        volume=result.volume_per_month, crossover=crossing,
        crossover_money=large.fixed_money + large.money_per_answer * crossing if crossing is not None else None,
        x_label=f"{noun} a month",
        y_label=f"money a month ({result.currency})", caption=caption)


def cost_chart_unknown(result: BreakEven) -> str:
    return f"No cost chart: {result.crossover_reason}."
