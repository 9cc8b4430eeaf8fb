"""The verdict so far while an evaluation runs: built only when a new trial was kept and the last one is old
enough (at most every few seconds, less often when building it took long), and worded from the partial result,
with the advice that the evidence so far supports (none yet from a handful of items)."""

from __future__ import annotations

import dataclasses

from lmscales.core.decision import decide_all
from lmscales.core.decision.running import RunningVerdict, running_scores, verdict_so_far
from lmscales.core.decision.settings import DecisionSettings
from lmscales.core.quality.results import EvalResult
from tests.support.eval_sample import sample_result


def test_it_is_built_when_a_trial_is_new_and_the_last_is_old_enough() -> None:
    now = [100.0]
    built: list[float] = []

    def result() -> EvalResult:
        built.append(now[0])
        now[0] += 0.1  # building it took 0.1 s: the next one is due after max(3 s, 0.5 s)
        return sample_result()

    running = RunningVerdict(result, DecisionSettings(), every=3.0, clock=lambda: now[0])
    assert running.update(1)  # the first kept trial: shown at once
    assert running.update(1) is None  # nothing new
    now[0] += 1.0
    assert running.update(2) is None  # new, but 1.1 s after the last: not yet
    now[0] += 2.0
    assert running.update(3)  # 3.1 s after
    assert built == [100.0, 103.1]

    slow = [0.0]

    def slow_result() -> EvalResult:
        slow[0] += 2.0  # a big journal: 2 s to build, so the next waits 10 s, not 3
        return sample_result()

    running = RunningVerdict(slow_result, DecisionSettings(), every=3.0, clock=lambda: slow[0])
    assert running.update(1)
    slow[0] += 7.0
    assert running.update(2) is None
    slow[0] += 1.5
    assert running.update(3)


def test_the_words_are_the_partial_results_verdict_and_advice_so_far() -> None:
    result = sample_result()
    text = verdict_so_far(result, DecisionSettings())
    tasks = [task for task in result.tasks if task.items]
    assert len(text.splitlines()) == len(tasks)
    first = tasks[0]
    assert text.startswith(f"{first.task}, after {len(first.items)} items: ")
    heads = {d.task: d.advice.headline for d in decide_all(result, DecisionSettings())}
    assert heads
    for line, task in zip(text.splitlines(), tasks, strict=True):
        assert line.endswith(f"Advice so far: {heads[task.task]}.") if task.task in heads else "Advice" not in line
    one_side = dataclasses.replace(result, tasks=tuple(dataclasses.replace(
        task, items=tuple(dataclasses.replace(item, outputs={"small": item.outputs.get("small", "")})
                          for item in task.items)) for task in result.tasks))
    assert "Advice so far" not in verdict_so_far(one_side, DecisionSettings())  # nothing to compare: no advice


def test_running_scores_name_each_sides_main_score_and_failures() -> None:
    scores = {"small": {"chrF++": 20.84, "checks passed": 50.0}, "large": {"checks passed": 75.0}}
    assert running_scores(scores, {"large": 2}) == "small chrF++ 20.8 · large checks 75.0 · large: 2 failed"
