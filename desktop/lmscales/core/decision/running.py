"""What an evaluation says so far, while it runs: each side's running main score, and per task the verdict and
advice of the partial result, which firm up as items come in (the advice stays "not enough evidence yet" until
the evidence supports more). The partial result is built at most every few seconds, and less often when building
it takes long (a large evaluation's journal is read from disk), so watching never slows the runs much."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

from lmscales.core.decision.decide import decide_all
from lmscales.core.decision.settings import DecisionSettings
from lmscales.core.quality.results import SIDES, EvalResult, task_figures
from lmscales.core.task_trials import CHECKS_SCORE


def running_scores(scores: Mapping[str, Mapping[str, float]], failed: Mapping[str, int] | None = None) -> str:
    """"small chrF++ 20.8 · large chrF++ 22.2": each side's running mean of its main score (the first reference
    score, else the share of checks passed), and its failed runs if any."""
    parts = []
    for side in SIDES:
        means = scores.get(side)
        if not means:
            continue
        name = next((name for name in means if name != CHECKS_SCORE), CHECKS_SCORE)
        shown = "checks" if name == CHECKS_SCORE else name
        parts.append(f"{side} {shown} {means[name]:.1f}")
    for side, count in (failed or {}).items():
        if count:
            parts.append(f"{side}: {count} failed")
    return " · ".join(parts)


def verdict_so_far(result: EvalResult, settings: DecisionSettings) -> str:
    """Per task with answers: "translate, after 12 items: <verdict> Advice so far: <headline>."."""
    lines = []
    both = {task.task for task in result.tasks if any(set(SIDES) <= set(item.outputs) for item in task.items)}
    decisions = {d.task: d for d in decide_all(result, settings)} if both else {}
    for task in result.tasks:
        if not task.items:
            continue
        line = f"{task.task}, after {len(task.items)} item{'s' * (len(task.items) != 1)}: {task_figures(task).verdict}"
        decision = decisions.get(task.task)
        if decision is not None:
            line += f" Advice so far: {decision.advice.headline}."
        lines.append(line)
    return "\n".join(lines)


class RunningVerdict:
    """`update(measured)` from the evaluation's own thread between runs: the text of `verdict_so_far` when a new
    trial was kept and the last one is at least `every` seconds old (or five times what building it took), else
    None (nothing new to show)."""

    def __init__(self, result: Callable[[], EvalResult], settings: DecisionSettings, every: float = 3.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.result, self.settings, self.every, self.clock = result, settings, every, clock
        self._due = float("-inf")
        self._measured = 0

    def update(self, measured: int) -> str | None:
        now = self.clock()
        if measured <= self._measured or now < self._due:
            return None
        self._measured = measured
        text = verdict_so_far(self.result(), self.settings)
        spent = self.clock() - now
        self._due = now + max(self.every, 5 * spent)
        return text
