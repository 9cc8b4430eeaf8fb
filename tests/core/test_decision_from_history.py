"""A task's decision from the history's trials when no evaluation measured it, and from the last evaluation
when one did: items are inputs (repeats of an input are one item), only the latest models count, the source and
its size are said; the window's texts (pass rates, cost chart) come from here too. No QApplication."""

from __future__ import annotations

import dataclasses

from lmscales.core.decision import NOT_ENOUGH, USE_LARGE, DecisionSettings
from lmscales.core.decision.from_history import (
    EVALUATION,
    HISTORY,
    decision_for,
    decision_from_history,
    history_task_result,
    no_decision_text,
)
from lmscales.core.decision.view_text import cost_chart, cost_chart_unknown, pass_rates_text, results_text
from lmscales.core.history import TrialHistory
from lmscales.core.quality.results import EvalResult, RunMetadata, SideInfo
from lmscales.core.trial import EvalRef
from lmscales.core.workspace import EvaluationEnded, Workspace, WorkspaceEvent
from tests.support.history_trials import translation_items, translation_trial
from tests.support.trials import LARGE_INFO

SETTINGS = DecisionSettings(volume_per_month=10_000, electricity_price_per_kwh=0.30)


def test_twelve_inputs_answered_by_both_sides_give_advice_and_a_break_even_from_the_history() -> None:
    trials = [translation_trial(item, n) for n, item in enumerate(translation_items(12))]
    sourced = decision_from_history("translate", trials, SETTINGS)
    assert sourced is not None
    assert sourced.source.kind == HISTORY and sourced.source.items == 12 and sourced.source.paired == 12
    assert sourced.source.description.startswith("From the history: 12 translation comparisons with 12 different")
    decision = sourced.decision
    # the large side answered with the reference, the small one copied the source: 12 of 12 against 0 of 12
    assert (decision.acceptable.large.passed, decision.acceptable.small.passed) == (12, 0)
    assert decision.advice.kind == USE_LARGE and decision.advice.n_items == 12
    assert decision.break_even.sentence.startswith("At 10,000 translations a month, the small model")
    assert "passes 0 % instead of 100 %" in decision.break_even.sentence
    assert pass_rates_text(decision) == ("Small: 0 of 12 acceptable (0 %, 95 % CI 0–24 %). "
                                         "Large: 12 of 12 acceptable (100 %, 95 % CI 76–100 %).")
    assert results_text(decision).startswith("translate: Advice: use large. On 12 items")


def test_repeats_of_one_input_are_one_item_and_too_few_items_give_no_verdict() -> None:
    items = translation_items(3)
    trials = [translation_trial(item, n) for n, item in enumerate(items)]
    trials.append(translation_trial(items[0], 99))  # the same input again: a repeat, not a new item
    sourced = decision_from_history("translate", trials, SETTINGS)
    assert sourced is not None and sourced.source.items == 3 and sourced.source.comparisons == 4
    advice = sourced.decision.advice
    assert advice.kind == NOT_ENOUGH and advice.headline.startswith("not enough evidence yet")
    assert "Advice needs at least 10 items; there are 3." in advice.evidence


def test_only_the_latest_models_count() -> None:
    items = translation_items(4)
    other = dataclasses.replace(LARGE_INFO, model="gpt-4.1")
    old = [translation_trial(item, n) for n, item in enumerate(items)]
    old = [dataclasses.replace(t, sides=(t.sides[0], dataclasses.replace(t.sides[1], engine=other))) for t in old]
    new = [translation_trial(items[0], 50)]
    built = history_task_result("translate", old + new)
    assert built is not None
    task_result, sides, _ = built
    assert sides[1].model == "gpt-4o-mini"
    answered_by_large = [item for item in task_result.items if "large" in item.outputs]
    assert len(answered_by_large) == 1  # gpt-4.1's four answers are another model's evidence


def test_no_trial_of_the_task_gives_no_decision_and_says_so() -> None:
    trials = [translation_trial(item, n) for n, item in enumerate(translation_items(2))]
    assert decision_from_history("summarize", trials, SETTINGS) is None
    assert no_decision_text("summarize").startswith("No summary has been compared yet")


def test_the_last_evaluation_wins_over_the_history_and_the_workspace_says_when_one_ended() -> None:
    items = translation_items(12)
    trials = [translation_trial(item, n) for n, item in enumerate(items)]
    from_history = history_task_result("translate", trials)
    assert from_history is not None
    task_result = dataclasses.replace(from_history[0], set_name="translate", repeats=1)
    sides = (SideInfo("small", "SmolLM2 on this CPU", "SmolLM2", "this computer", "local"),
             SideInfo("large", "gpt-4o-mini at api.openai.com", "gpt-4o-mini", "api.openai.com", "remote"))
    result = EvalResult(sides, (task_result,), RunMetadata("2026-01-01T00:00:00", "m", "0", {}, {}))
    workspace = Workspace(history=TrialHistory(keep=False))
    seen: list[WorkspaceEvent] = []
    workspace.subscribe(seen.append)
    for trial in trials[:2]:
        workspace.history.append(trial)
    before = workspace.decision("translate")
    assert before is not None and before.source.kind == HISTORY and before.source.items == 2
    workspace.evaluation_ended(result)
    assert isinstance(seen[-1], EvaluationEnded) and seen[-1].result is result
    after = workspace.decision("translate")
    assert after is not None and after.source.kind == EVALUATION and after.source.items == 12
    assert after.source.description.startswith("From the last evaluation (set translate, 1 repeat): 12 items")
    # a task the evaluation did not measure still comes from the history
    assert decision_for("chat", result, trials, SETTINGS) is None


def test_an_evaluation_item_in_the_history_keeps_its_id() -> None:
    item = translation_items(1)[0]
    made = dataclasses.replace(translation_trial(item, 1), evaluation=EvalRef("translate", item.id, 1))
    built = history_task_result("translate", [made])
    assert built is not None and built[0].items[0].item_id == item.id


def test_the_cost_chart_draws_both_money_lines_and_marks_the_crossover() -> None:
    trials = [translation_trial(item, n) for n, item in enumerate(translation_items(12))]
    settings = dataclasses.replace(SETTINGS, hardware_cost=360.0, hardware_months=36)  # $10 a month
    sourced = decision_from_history("translate", trials, settings)
    assert sourced is not None
    result = sourced.decision.break_even
    chart = cost_chart(result)
    assert chart is not None and result.crossover == "from" and chart.crossover is not None
    small, large = result.small, result.large
    assert small.money_per_answer is not None and large.money_per_answer is not None
    # at the crossing both lines give the same money; the chart's lines are the break-even's
    crossing = chart.crossover
    assert abs((10 + small.money_per_answer * crossing) - large.money_per_answer * crossing) < 1e-9
    assert chart.small[0] == 10 and chart.large[0] == 0 and chart.volumes[-1] >= crossing
    assert chart.caption.startswith("The lines cross at about ")
    unknown = decision_from_history("translate", trials, dataclasses.replace(SETTINGS, electricity_price_per_kwh=None))
    assert unknown is not None and cost_chart(unknown.decision.break_even) is None
    assert cost_chart_unknown(unknown.decision.break_even) == "No cost chart: no electricity price is set."
