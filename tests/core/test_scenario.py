"""Scenario files: the built-in demos load, and every way a file can be wrong gives a message naming the
file, the step and the fault."""

from __future__ import annotations

from pathlib import Path

import pytest

from lmscales.core import scenario
from lmscales.core.scenario import ScenarioError

GOOD = '''
format = "lmscales-scenario"
version = 1
title = "Two steps"

[[steps]]
title = "Hello"
task = "chat"
input = "Say hello."
talking_points = ["First point", "Second point"]
sides = ["small"]
[steps.params]
max_tokens = 32
temperature = 0.0
seed = 3

[[steps]]
title = "Into French"
task = "translate"
target_language = "fr"
input = "Good morning."
reference = "Bonjour."
'''


def test_a_scenario_file_reads_into_steps_the_session_can_run(tmp_path: Path) -> None:
    path = tmp_path / "demo.toml"
    path.write_text(GOOD, encoding="utf-8")
    loaded = scenario.load(path)
    assert loaded.title == "Two steps"
    assert [step.title for step in loaded.steps] == ["Hello", "Into French"]
    first, second = loaded.steps
    assert first.input.task == "chat" and first.input.text == "Say hello."
    assert first.sides == ("small",)
    assert first.talking_points == ("First point", "Second point")
    assert (first.params.max_tokens, first.params.temperature, first.params.seed) == (32, 0.0, 3)
    assert second.sides == ("small", "large")
    assert second.input.target_lang == "fr" and second.input.reference == "Bonjour."


def test_the_builtin_scenarios_are_there_and_load() -> None:
    names = scenario.builtin_names()
    titles = {scenario.load_builtin(name).title for name in names}
    assert {"Speed on this laptop", "Translation: where size shows", "Summarize a long report (map-reduce)",
            "Offline: pull the plug", "Cost of a million answers"} <= titles
    report = scenario.find("long-report")
    # The long report is longer than the small model's context, so it goes through map-reduce.
    assert len(report.steps[-1].input.text) > 4096 * 3
    assert scenario.find("Cost of a million answers").steps[0].extrapolate == "million_answers"


def test_find_takes_a_file_a_name_or_a_title_and_says_what_exists(tmp_path: Path) -> None:
    path = tmp_path / "mine.toml"
    path.write_text(GOOD, encoding="utf-8")
    assert scenario.find(str(path)).title == "Two steps"
    assert scenario.find("speed on this laptop").title == "Speed on this laptop"
    with pytest.raises(ScenarioError, match=r"No scenario file or built-in scenario called 'nope'.*speed"):
        scenario.find("nope")
    with pytest.raises(ScenarioError, match=r"No scenario file at .*missing\.toml"):
        scenario.find(str(tmp_path / "missing.toml"))


@pytest.mark.parametrize(("text", "message"), [
    (GOOD.replace('title = "Hello"\n', ""), r"demo\.toml, step 1 has no 'title'"),
    (GOOD.replace('task = "chat"\n', ""), r"step 1 \(Hello\) has no 'task' \(one of chat, summarize, translate\)"),
    (GOOD.replace('input = "Say hello."\n', ""), r"step 1 \(Hello\) has no 'input'"),
    (GOOD.replace('task = "chat"', 'task = "poetry"'), r"step 1 \(Hello\): unknown task 'poetry'; it must be one of"),
    (GOOD.replace('target_language = "fr"\n', ""), r"step 2 \(Into French\) translates but has no 'target_language'"),
    (GOOD.replace('target_language = "fr"', 'target_language = "xx"'), r"unknown target_language 'xx'"),
    (GOOD.replace("version = 1", "version = 7"), r"written for a newer LM Scales \(scenario version 7; this version "
                                                 r"reads 1\)\. Update LM Scales"),
    (GOOD.replace("version = 1\n", ""), r"has no 'version'"),
    (GOOD.replace('sides = ["small"]', 'sides = ["left"]'), r"sides must be a list of \"small\" and/or \"large\""),
    (GOOD.replace("max_tokens = 32", 'max_tokens = "many"'), r"params\.max_tokens must be a number"),
    (GOOD.replace("seed = 3", "seed = 3\nbeams = 4"), r"unknown params beams"),
    (GOOD.replace('reference = "Bonjour."', 'refrence = "Bonjour."'), r"unknown field\(s\) refrence"),
    (GOOD.split("[[steps]]")[0], r"has no steps"),
    (GOOD.replace('"lmscales-scenario"', '"something-else"'), r"is not an LM Scales scenario"),
    (GOOD[: GOOD.index("Say hello.") + 4],
     r"demo\.toml is not a complete TOML file \(it may be truncated or damaged\)"),
])
def test_a_bad_scenario_file_says_what_is_wrong(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "demo.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ScenarioError, match=message):
        scenario.load(path)


def test_an_input_file_is_read_beside_the_scenario_and_a_missing_one_is_named(tmp_path: Path) -> None:
    (tmp_path / "report.txt").write_text("A long report.", encoding="utf-8")
    path = tmp_path / "demo.toml"
    path.write_text(GOOD.replace('input = "Say hello."', 'input_file = "report.txt"'), encoding="utf-8")
    assert scenario.load(path).steps[0].input.text == "A long report."
    path.write_text(GOOD.replace('input = "Say hello."', 'input_file = "gone.txt"'), encoding="utf-8")
    with pytest.raises(ScenarioError, match=r"step 1 \(Hello\): cannot read input_file gone\.txt"):
        scenario.load(path)
