"""The HTML report: escaping of untrusted answers, the verdict sentence, and rendering in headless Chromium."""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
import subprocess
import tempfile
from html import escape
from pathlib import Path

import pytest

from lmscales.core.quality.eval_report import largest_gaps, render_eval_report
from lmscales.core.quality.results import (
    EvalResult,
    ItemResult,
    JudgeSummary,
    RunMetadata,
    SideCost,
    SideInfo,
    TaskResult,
    task_figures,
)
from tests.support.eval_sample import sample_result

SIDES = (SideInfo("small", "tiny <i>model</i>", "SmolLM2", "this computer", "local"),
         SideInfo("large", "big model", "big-1", "127.0.0.1:8080", "remote"))
META = RunMetadata("2026-11-28 18:00 UTC", "test machine", "0.1.0", {"temperature": "0"}, {})


def constant_task(n: int = 60) -> TaskResult:
    items = tuple(
        ItemResult(f"t{i}", f"source {i}", "reference", {"small": "a", "large": "b"},
                   {"small": {"chrF++": 20.0}, "large": {"chrF++": 51.0}})
        for i in range(n)
    )
    return TaskResult(
        task="translate", set_name="translate", repeats=1, items=items,
        ttft={"small": (0.1,) * n, "large": (0.7,) * n}, decode_rate={"small": (40.0,) * n, "large": (90.0,) * n},
        end_to_end={"small": (1.0,) * n, "large": (1.2,) * n},
        costs={"small": SideCost(0.0, 2.0, 200.0), "large": SideCost(0.05, None, 5.0)},
        judge=JudgeSummary("judge-model", "v1", False, large_wins=55, ties=3, small_wins=2),
    )


def test_the_verdict_is_one_plain_sentence_with_speed_money_quality_and_judge() -> None:
    figures = task_figures(constant_task())
    assert figures.verdict == (
        "On these 60 sentences the small model is 7.0× faster to the first token, free where the large one costs "
        "$0.050 per 100 sentences, and scores 31 chrF++ points lower (95 % CI 31–31); the judge prefers the large "
        "model in 55 of 60 (95 % CI 82–96 %), the small one in 2, with 3 ties."
    )


def test_figures_and_results_export_as_json() -> None:
    result = sample_result()
    figures = json.loads(json.dumps(dataclasses.asdict(task_figures(result.tasks[0]))))
    assert figures["primary"]["name"] == "chrF++"
    assert figures["primary"]["difference"]["low"] < figures["primary"]["difference"]["high"] < 0
    assert figures["ttft"]["small"]["n"] == 120
    exported = json.loads(json.dumps(dataclasses.asdict(result)))
    assert exported["tasks"][0]["items"][0]["scores"]["large"]["chrF++"] > 0


def test_a_difference_whose_interval_includes_zero_is_called_about_the_same() -> None:
    task = constant_task(4)
    items = tuple(ItemResult(f"t{i}", "s", "r", {"small": "a", "large": "b"},
                             {"small": {"chrF++": 50.0 + d}, "large": {"chrF++": 50.0}})
                  for i, d in enumerate((-3.0, 3.0, -2.0, 2.0)))
    verdict = task_figures(TaskResult(**{**task.__dict__, "items": items})).verdict
    assert "scores about the same on chrF++ (+0.0 points" in verdict
    renamed = tuple(dataclasses.replace(item, scores={side: {"ROUGE-L": values["chrF++"]}
                                                      for side, values in item.scores.items()}) for item in items)
    summary = dataclasses.replace(task, task="summarize", items=renamed)
    verdict = task_figures(summary).verdict
    assert "about the same on ROUGE-L (" in verdict and "ROUGE−L" not in verdict  # only numbers get a minus sign


def test_an_interval_that_excludes_zero_is_never_rounded_to_reach_it() -> None:
    """A difference of -8.0 to -0.2 points: the verdict says 0.2–8.0, never '0–8', which would read as
    'maybe no difference'."""
    task = constant_task(4)
    items = tuple(ItemResult(f"t{i}", "s", "r", {"small": "a", "large": "b"},
                             {"small": {"chrF++": 50.0 - d}, "large": {"chrF++": 50.0}})
                  for i, d in enumerate((0.2, 8.0, 0.2, 8.0)))
    figures = task_figures(TaskResult(**{**task.__dict__, "items": items}))
    assert figures.primary is not None and figures.primary.difference.excludes_zero
    low, high = sorted((abs(figures.primary.difference.low), abs(figures.primary.difference.high)))
    assert round(low) == 0
    assert f"(95 % CI {low:.1f}–{high:.1f})" in figures.verdict, figures.verdict
    # and the difference itself keeps its decimal beside it (4.1, not "4")
    assert f"scores {abs(figures.primary.difference.mean_difference):.1f} chrF++ points lower" in figures.verdict


def test_the_largest_gaps_are_the_items_whose_main_score_differs_most() -> None:
    gaps = {"t0": 5.0, "t1": 40.0, "t2": -60.0, "t3": 0.0, "t4": 12.0}  # large minus small; t5 is unscored
    items = tuple(ItemResult(name, "source", "ref", {"small": "a", "large": "b"},
                             {"small": {"chrF++": 50.0}, "large": {"chrF++": 50.0 + gap}})
                  for name, gap in gaps.items())
    items += (ItemResult("t5", "source", "ref", {"small": "a"}, {"small": {"chrF++": 1.0}}),)
    task = dataclasses.replace(constant_task(), items=items)
    fig = task_figures(task)
    assert [item.item_id for item in largest_gaps(task, fig, 3)] == ["t2", "t1", "t4"]  # either direction
    html = render_eval_report(EvalResult(SIDES, (task,), META))
    assert "Largest gaps in chrF++" in html


def test_the_report_carries_its_run_metadata() -> None:
    meta = RunMetadata("2026-11-28 18:00 UTC", "8 CPUs, Example CPU", "9.9.9",
                       {"temperature": "0", "repeats": "3", "item order seed": "7"}, {"chrF++": "nrefs:1|case:mixed"},
                       notes=("Sides ran one after the other.",))
    html = render_eval_report(EvalResult(SIDES, (constant_task(),), meta))
    for text in ("2026-11-28 18:00 UTC", "8 CPUs, Example CPU", "9.9.9", "item order seed", "nrefs:1|case:mixed",
                 "Sides ran one after the other."):
        assert escape(text) in html, text


def test_answers_and_labels_are_escaped() -> None:
    hostile = "<script>alert('x')</script><img src=x onerror=alert(1)>"
    task = constant_task(3)
    hostile_item = ItemResult("t<0>", "in <b>put</b>", "ref & co", {"small": hostile, "large": "fine"},
                              {"small": {"chrF++": 1.0}, "large": {"chrF++": 2.0}})
    items = (hostile_item, *task.items[1:])
    html = render_eval_report(EvalResult(SIDES, (TaskResult(**{**task.__dict__, "items": items}),), META))
    assert "<script" not in html and "<img" not in html and "<i>model" not in html
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in html
    assert "tiny &lt;i&gt;model&lt;/i&gt;" in html and "ref &amp; co" in html


def test_the_report_is_self_contained() -> None:
    html = render_eval_report(sample_result())
    assert not re.search(r"\b(?:src|href)\s*=", html)
    assert "@import" not in html and "url(" not in html
    assert re.findall(r"https?://[^\"' ]+", html) == ["http://www.w3.org/2000/svg"] * html.count("<svg")
    assert html.count("<svg") == 1 + 2 * 3  # quality against cost, then TTFT and decode rate per task


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium is not installed (Debian: apt-get install chromium)")
def test_the_report_renders_in_headless_chromium_with_its_verdict_and_charts(tmp_path: Path) -> None:
    result = sample_result()
    page = tmp_path / "report.html"
    page.write_text(render_eval_report(result), encoding="utf-8")
    assert CHROMIUM is not None
    flags = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--no-first-run", "--window-size=1280,2000"]
    with tempfile.TemporaryDirectory() as profile:
        dom = subprocess.run([*flags, f"--user-data-dir={profile}", "--dump-dom", page.as_uri()],
                             capture_output=True, text=True, encoding="utf-8", timeout=180, check=True).stdout
    with tempfile.TemporaryDirectory() as profile:
        shot = tmp_path / "report.png"
        subprocess.run([*flags, f"--user-data-dir={profile}", f"--screenshot={shot}", page.as_uri()],
                       capture_output=True, timeout=180, check=True)
    # the parsed page still holds every verdict and every chart with its marks
    for task in result.tasks:
        assert escape(task_figures(task).verdict, quote=False) in dom
    assert dom.count("<svg") == 7
    assert dom.count("<circle") > 2 * sum(len(values) for task in result.tasks for values in task.ttft.values())
    assert "Quality against cost" in dom and "Time to first token" in dom and "Decode rate" in dom
    assert shot.stat().st_size > 50_000  # a rendered page, not a blank one


def test_interval_digits_follow_the_size_of_the_low_bound() -> None:
    from lmscales.core.quality.results import _interval

    assert _interval(12.4, 30.2) == "12–30"
    assert _interval(1.34, 2.4) == "1.3–2.4"
    assert _interval(0.04, 3.2) == "0.04–3.20"  # never "0.0–3.2" for an interval that excludes zero


def test_the_energy_row_says_where_each_figure_comes_from() -> None:
    """The small side's measured energy and the large side's EcoLogits estimate with its range, each labelled:
    the row once said "this computer only" over a figure estimated for an API's data centre."""
    task = dataclasses.replace(constant_task(), costs={
        "small": SideCost(0.0, 2.0, 200.0, energy_provenance="measured"),
        "large": SideCost(0.05, 1.38, 5.0, energy_provenance="EcoLogits 0.11.3 estimate",
                          energy_wh_per_100_low=1.24, energy_wh_per_100_high=1.51)})
    page = render_eval_report(EvalResult(SIDES, (task,), META))
    row = re.search(r"<tr><th>energy .*?</tr>", page, re.S)
    assert row is not None
    cells = re.findall(r"<td>(.*?)</td>", row.group(0), re.S)
    text = [re.sub(r"<[^>]+>", " ", cell).split() for cell in cells]
    assert text[0] == ["2", "Wh", "measured"]
    assert text[1] == ["~1.38", "(1.24–1.51)", "Wh", "EcoLogits", "0.11.3", "estimate"]
    assert "this computer only" not in row.group(0)
