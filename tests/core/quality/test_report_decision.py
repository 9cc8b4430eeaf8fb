"""The decision in the HTML report: per task "Which model for this task" (advice, routing by tag, acceptable
answers, figures per acceptable answer with provenance, the break-even and its chart), once "Where only one model
was acceptable" (escaped, filterable without a script); and the quality-against-cost chart's fallback to energy or
CPU time when no side cost money."""

from __future__ import annotations

import dataclasses
import re
import subprocess
import tempfile
from html import escape
from pathlib import Path

import pytest

from lmscales.core.decision import DecisionSettings, decide_all
from lmscales.core.decision.report_html import render_report
from lmscales.core.quality.eval_report import render_eval_report
from lmscales.core.quality.report_charts import cost_axis, quality_cost_svg
from lmscales.core.quality.results import EvalResult, ItemResult, SideCost, TaskResult, task_figures
from tests.core.quality.test_eval_report import CHROMIUM, META, constant_task
from tests.core.quality.test_eval_report import SIDES as LOOPBACK_SIDES
from tests.support.eval_sample import sample_result

# the large side elsewhere: its electricity is in its price (on loopback it would be this computer's, unknown here)
SIDES = (LOOPBACK_SIDES[0], dataclasses.replace(LOOPBACK_SIDES[1], host="api.example.test"))

HOSTILE = "<script>alert('x')</script><img src=x onerror=alert(1)>"


def tagged_task(n: int = 24) -> TaskResult:
    """Translations where the large side passes every item (chrF++ 80) and the small side only the first half,
    once with a hostile answer and a hostile tag."""
    items = []
    for index in range(n):
        small_chrf = 70.0 if index < n // 2 else 20.0
        tags = ("<b>tech</b>",) if index % 2 else ("everyday",)
        small = HOSTILE if index == n - 1 else f"small answer {index}"
        items.append(ItemResult(f"t{index}", f"source {index}", "reference", {"small": small, "large": "large"},
                                {"small": {"chrF++": small_chrf}, "large": {"chrF++": 80.0}}, tags=tags))
    task = constant_task(n)
    return dataclasses.replace(task, items=tuple(items), costs={
        "small": SideCost(0.0, 2.0, 200.0, energy_provenance="estimated on this machine"),
        "large": SideCost(0.05, None, 5.0, energy_provenance=None)})


def test_each_task_says_which_model_with_its_evidence_figures_and_break_even() -> None:
    result = EvalResult(SIDES, (tagged_task(),), META)
    settings = DecisionSettings(volume_per_month=10_000, electricity_price_per_kwh=0.3, hardware_cost=900)
    (decision,) = decide_all(result, settings)
    html = render_report(result, (decision,))
    assert "Which model for this task" in html
    assert f"Advice: <b>{escape(decision.advice.headline)}</b>" in html
    assert escape(decision.advice.evidence) in html
    assert escape(decision.acceptable.definition) in html and "chrF++ against the reference is at least 50" in html
    assert "12 of 24 acceptable (50 %, 95 % CI 31–69 %)" in html  # the Wilson interval of each side
    assert "24 of 24 acceptable" in html
    assert "Newcombe" in html  # the paired difference and its method
    assert escape(decision.break_even.sentence) in html
    assert html.count("<h4>By tag</h4>") == 1 and "&lt;b&gt;tech&lt;/b&gt;" in html  # routing table, escaped tag
    # per acceptable answer: the large side's energy is unknown, with its reason, and no number
    cell = re.search(r"<tr><th>energy</th>.*?</tr>", html, re.S)
    assert cell is not None
    large_cell = cell.group(0).split("<td>")[2]
    assert "unknown" in large_cell and "no energy figure for this side" in large_cell
    assert not re.search(r"\d", large_cell.split("unknown", 1)[1].split("not recorded")[0])
    small_cell = cell.group(0).split("<td>")[1]
    assert "~0.04 Wh" in small_cell and "estimated on this machine" in small_cell  # 2 Wh/100 ÷ 50 %, marked
    # the cost chart: both lines, the user's volume, the crossing (900/36 a month paid back by the saving)
    assert "Money a month against volume" in html and html.count("<polyline") == 2
    assert "your volume: 10,000" in html and 'class="crossing"' in html
    assert decision.break_even.crossover == "from"


def test_a_local_side_without_an_electricity_price_has_no_cost_chart_and_says_why() -> None:
    result = EvalResult(SIDES, (tagged_task(),), META)
    html = render_report(result, decide_all(result, DecisionSettings(electricity_price_per_kwh=None)))
    assert "No cost chart: no electricity price is set." in html and "<polyline" not in html
    assert "costs an unknown amount (no electricity price is set)" in html


def test_where_only_one_model_was_acceptable_shows_both_answers_escaped_and_filters_without_a_script() -> None:
    result = EvalResult(SIDES, (tagged_task(),), META)
    html = render_report(result, decide_all(result, DecisionSettings(electricity_price_per_kwh=0.3)))
    assert "Where only one model was acceptable" in html
    section = html.split('id="only-one"', 1)[1]
    assert section.count('<details class="dis') == 12  # the small side failed the second half
    assert "<script" not in html and "<img" not in html and "<b>tech" not in html
    assert escape(HOSTILE, quote=True) in section  # the hostile answer, shown as text beside the large one's
    assert "only <b class=\"large\">large</b> acceptable; small: chrF++ 20 is below 50" in section
    # filters: radio buttons and CSS rules, one per task and per tag
    assert 'id="dis-tag-0"' in section and 'id="dis-tag-1"' in section and 'id="dis-task-0"' in section
    assert "#dis-tag-1:checked ~ .dis-list .dis:not(.tag-1) { display: none; }" in section
    # still self-contained: nothing that loads anything
    assert not re.search(r"\b(?:src|href)\s*=", html.replace(escape(HOSTILE, quote=True), ""))
    assert "@import" not in html and "url(" not in html


def test_a_run_without_disagreements_says_so() -> None:
    task = dataclasses.replace(tagged_task(), items=tuple(
        dataclasses.replace(item, scores={"small": {"chrF++": 80.0}, "large": {"chrF++": 80.0}})
        for item in tagged_task().items))
    result = EvalResult(SIDES, (task,), META)
    html = render_report(result, decide_all(result, DecisionSettings()))
    assert "both answers or neither were acceptable" in html and "<details" not in html


def _free(task: TaskResult, large_energy: float | None) -> TaskResult:
    return dataclasses.replace(task, costs={"small": SideCost(0.0, 2.0, 200.0),
                                            "large": SideCost(0.0, large_energy, 150.0)})


def test_the_quality_chart_uses_energy_when_no_side_costs_money() -> None:
    paid = EvalResult(SIDES, (constant_task(),), META)
    figures = [(task, task_figures(task)) for task in paid.tasks]
    assert cost_axis(paid, figures).field == "cost_per_100"
    assert "money per 100 items (USD)" in quality_cost_svg(paid, figures)
    free = EvalResult(SIDES, (_free(constant_task(), 6.0),), META)
    figures = [(task, task_figures(task)) for task in free.tasks]
    svg = quality_cost_svg(free, figures)
    assert "Quality against energy (no side cost money)" in svg and "energy per 100 items (Wh)" in svg
    assert "money per 100" not in svg
    assert ">6<" in svg or "6 (energy" in svg  # the large side's point at 6 Wh per 100 items
    html = render_eval_report(free)
    assert "Neither side cost any money, so this chart puts each task" in html and "energy 100 items used" in html


def test_the_quality_chart_uses_cpu_time_when_energy_is_missing_on_a_side() -> None:
    free = EvalResult(SIDES, (_free(constant_task(), None),), META)
    figures = [(task, task_figures(task)) for task in free.tasks]
    svg = quality_cost_svg(free, figures)
    assert "Quality against CPU time" in svg and "CPU time per 100 items (CPU-s)" in svg
    assert "CPU time 100 items took" in render_eval_report(free)


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium is not installed (Debian: apt-get install chromium)")
def test_the_decision_renders_in_headless_chromium(tmp_path: Path) -> None:
    result = sample_result()
    decisions = decide_all(result, DecisionSettings(electricity_price_per_kwh=0.3, hardware_cost=800))
    page = tmp_path / "report.html"
    page.write_text(render_report(result, decisions), encoding="utf-8")
    assert CHROMIUM is not None
    flags = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--no-first-run", "--window-size=1280,2000"]
    with tempfile.TemporaryDirectory() as profile:
        dom = subprocess.run([*flags, f"--user-data-dir={profile}", "--dump-dom", page.as_uri()],
                             capture_output=True, text=True, encoding="utf-8", timeout=180, check=True).stdout
    assert dom.count("Which model for this task") == 3
    assert dom.count('class="chart-title">Money a month against volume') == 3 and dom.count("<polyline") == 6
    for decision in decisions:
        assert escape(decision.break_even.sentence, quote=False) in dom
    assert "Where only one model was acceptable" in dom
    assert dom.count('<details class="dis') == sum(len(d.disagreements) for d in decisions)
