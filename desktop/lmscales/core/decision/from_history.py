"""A task's decision from where its evidence is: the last evaluation that ran the task, or else the history's
trials of that task. Either way it is the same `TaskDecision` (`decide`), and the result says which source it
came from and how many items it rests on.

From the history, an item is one input: the trials that sent the same input (same text, target, form,
reference) are its repeats, and it is paired when both sides answered it. Only the models of the task's latest
answers count (per side: the model and host of the newest trial that side answered), so a decision never mixes
two large models the user tried one after the other. An input without a reference or a check the rule can read
(most typed by hand) is counted as undecided, never as acceptable.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from lmscales.core.decision.decide import TaskDecision, decide, runs_on_this_computer
from lmscales.core.decision.settings import DecisionSettings
from lmscales.core.quality.results import SIDES, EvalResult, SideInfo, TaskResult
from lmscales.core.task_trials import ItemTrials, side_info, summarise_task
from lmscales.core.trial import SideResult, Trial

EVALUATION = "evaluation"
HISTORY = "history"
HISTORY_SET = "history"  # the set name of a task result built from the history
TASK_NAMES = {"translate": "translation", "summarize": "summary", "chat": "chat"}


@dataclass(frozen=True)
class DecisionSource:
    kind: str  # EVALUATION or HISTORY
    items: int  # items (history: different inputs) in the task result
    paired: int  # items answered by both sides
    comparisons: int  # trials read (an evaluation's: items × repeats)
    description: str  # for people: where the evidence comes from and how much there is


@dataclass(frozen=True)
class SourcedDecision:
    decision: TaskDecision
    source: DecisionSource
    sides: tuple[SideInfo, SideInfo]  # (small, large), as the evidence names them


def _paired(task: TaskResult) -> int:
    return sum(1 for item in task.items if all(side in item.outputs for side in SIDES))


def _models(sides: tuple[SideInfo, SideInfo]) -> str:
    return f"{sides[0].label} against {sides[1].label}"


def decision_from_evaluation(task: str, result: EvalResult, settings: DecisionSettings) -> SourcedDecision | None:
    """The decision for `task` from an evaluation's result (None: the evaluation did not measure that task)."""
    task_result = next((t for t in result.tasks if t.task == task and t.items), None)
    if task_result is None:
        return None
    places = {side.slot: runs_on_this_computer(side) for side in result.sides}
    paired = _paired(task_result)
    n = len(task_result.items)
    description = (f"From the last evaluation (set {task_result.set_name}, {task_result.repeats} repeat"
                   f"{'s' if task_result.repeats != 1 else ''}): {n} item{'s' if n != 1 else ''}, {paired} answered "
                   f"by both sides; {_models(result.sides)}.")
    source = DecisionSource(EVALUATION, n, paired, n * task_result.repeats, description)
    return SourcedDecision(decide(task_result, settings, on_this_computer=places), source, result.sides)


def _latest_models(trials: Sequence[Trial]) -> dict[str, SideResult]:
    """Per side, its newest answer (the model whose evidence counts)."""
    latest: dict[str, SideResult] = {}
    for trial in reversed(trials):
        for result in trial.sides:
            if result.side in SIDES and result.side not in latest and result.ok and result.engine is not None:
                latest[result.side] = result
    return latest


def _same_model(result: SideResult, latest: dict[str, SideResult]) -> bool:
    newest = latest.get(result.side)
    if newest is None or result.engine is None or newest.engine is None:
        return False
    return (result.engine.model, result.engine.host, result.engine.model_runs) == \
        (newest.engine.model, newest.engine.host, newest.engine.model_runs)


def _input_key(trial: Trial) -> str:
    if trial.evaluation is not None:  # an evaluation's item, however its text was stored
        return f"item {trial.evaluation.set_name}/{trial.evaluation.item_id}"
    return json.dumps(trial.input.to_dict(), sort_keys=True, ensure_ascii=False)


def history_task_result(task: str, trials: Iterable[Trial]) -> tuple[TaskResult, tuple[SideInfo, SideInfo], int] | None:
    """The history's trials of `task` as a `TaskResult` (one item per input), the sides it names and the number
    of comparisons read; None when no side has answered that task."""
    of_task = [t for t in trials if t.task == task and not (t.evaluation is not None and t.evaluation.warmup)]
    latest = _latest_models(of_task)
    if not latest:
        return None
    groups: dict[str, list[Trial]] = {}
    for trial in of_task:
        sides = tuple(result for result in trial.sides if result.side in SIDES and _same_model(result, latest))
        if sides:
            groups.setdefault(_input_key(trial), []).append(replace(trial, sides=sides))
    items = []
    for number, (key, group) in enumerate(groups.items(), start=1):
        first = group[0]
        item_id = first.evaluation.item_id if first.evaluation is not None and key.startswith("item ") \
            else f"input {number}"
        # no tags: the history keeps a trial's set and item, not the item's tags
        items.append(ItemTrials(item_id, first.input.text, first.input.reference, tuple(group)))
    places = {side: result.engine.model_runs if result.engine is not None else None for side, result in latest.items()}
    named = (side_info("small", "small", latest["small"].engine if "small" in latest else None),
             side_info("large", "large", latest["large"].engine if "large" in latest else None))
    repeats = max(len(group) for group in groups.values())
    result = summarise_task(task, HISTORY_SET, repeats, items, places)
    return result, named, sum(len(group) for group in groups.values())


def decision_from_history(task: str, trials: Iterable[Trial], settings: DecisionSettings) -> SourcedDecision | None:
    """The decision for `task` from the history's trials of it (None: no side has answered that task yet)."""
    built = history_task_result(task, trials)
    if built is None:
        return None
    task_result, sides, comparisons = built
    paired = _paired(task_result)
    n = len(task_result.items)
    description = (f"From the history: {comparisons} {TASK_NAMES.get(task, task)} comparison"
                   f"{'s' if comparisons != 1 else ''} with {n} different input{'s' if n != 1 else ''}, {paired} "
                   f"answered by both sides; {_models(sides)}. An input without a reference or a check the rule "
                   "can read is not counted.")
    places = {side.slot: runs_on_this_computer(side) for side in sides if side.model != "?"}
    source = DecisionSource(HISTORY, n, paired, comparisons, description)
    return SourcedDecision(decide(task_result, settings, on_this_computer=places), source, sides)


def decision_for(task: str, evaluation: EvalResult | None, trials: Iterable[Trial],
                 settings: DecisionSettings) -> SourcedDecision | None:
    """The decision for `task`: from `evaluation` when it measured the task, else from the history's trials;
    None when neither has any answer for it."""
    if evaluation is not None:
        sourced = decision_from_evaluation(task, evaluation, settings)
        if sourced is not None:
            return sourced
    return decision_from_history(task, trials, settings)


def no_decision_text(task: str) -> str:
    """What the window says when nothing has answered `task` yet."""
    return (f"No {TASK_NAMES.get(task, task)} has been compared yet, so there is nothing to decide from. Run "
            "Evaluate… (Run menu) on a set with references, or send inputs to both sides.")
