"""`lmscales eval` gives the decision: per task the acceptable answers, the figures per acceptable answer, the
break-even at the user's volume and the advice, in `--json`, in the text output and in the report; its values come
from the user's settings with the command line's flags on top, each checked where it is parsed. Against the
bundled model and llama-cpp-python's server on loopback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import SERVER_MODEL


def lmscales(*args: str, config: Path, data: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LMSCALES_CONFIG_DIR": str(config), "LMSCALES_DATA_DIR": str(data)}
    return subprocess.run([sys.executable, "-m", "lmscales", *args], capture_output=True, text=True, check=False,
                          timeout=900, env=env)


def short_eval(server: str, *extra: str) -> tuple[str, ...]:
    return ("eval", "--set", "translate", "--smoke", "--limit", "3", "--warmups", "0", "--threads", "1",
            "--max-tokens", "24", "--base-url", server, "--model", SERVER_MODEL, "--no-history", *extra)


def write_settings(config: Path, **decision: object) -> None:
    from lmscales.core.settings import SCHEMA_VERSION

    config.mkdir(parents=True, exist_ok=True)
    (config / "settings.json").write_text(json.dumps({"schema_version": SCHEMA_VERSION, "decision": decision}),
                                          encoding="utf-8")


@pytest.mark.slow
def test_json_holds_the_decision_per_task_from_the_settings_with_the_flags_on_top(llama_server: str,
                                                                                  tmp_path: Path) -> None:
    write_settings(tmp_path / "config", volume_per_month=777, hardware_cost=360.0, hardware_months=12)
    report = tmp_path / "report.html"
    result = lmscales(*short_eval(llama_server, "--json", "--volume", "500", "--electricity-price", "0.2",
                                  "--report", str(report)), config=tmp_path / "config", data=tmp_path / "data")
    assert result.returncode == 0, result.stderr[-3000:]
    out = json.loads(result.stdout)
    assert isinstance(out["method"], dict) and out["method"]  # the method card, once at the top
    (decision,) = out["decisions"]
    assert decision["task"] == "translate"
    assert set(decision) >= {"per_acceptable_answer", "acceptable", "break_even", "advice", "advice_by_tag",
                             "routing", "disagreements"}
    for side in ("small", "large"):
        figures = decision["per_acceptable_answer"][side]
        for name in ("money", "energy", "cpu_time", "time"):
            figure = figures[name]
            assert figure["provenance"], figure
            assert (figure["per_acceptable"] is None) == (figure["reason"] is not None), figure
        rate = decision["acceptable"][side]
        assert rate["decided"] + rate["undecided"] + rate["unanswered"] == 3
        if rate["decided"]:
            low, high = rate["wilson_95"]
            assert 0 <= low <= rate["rate"] + 1e-12 and rate["rate"] <= high <= 1  # (0 of n: low is 5.6e-17)
    assert "chrF++" in decision["acceptable"]["definition"]
    break_even = decision["break_even"]
    # --volume wins over the settings' 777; the hardware cost is the settings' (360 over 12 months)
    assert break_even["volume_per_month"] == 500
    assert break_even["sentence"].startswith("At 500 translations a month, the small model")
    small, large = break_even["small"], break_even["large"]
    assert small["fixed_money"] == pytest.approx(30.0) and large["fixed_money"] == 0
    assert small["on_this_computer"] and large["on_this_computer"]  # the server runs on loopback: this computer
    for side in (small, large):
        if side["money_per_answer"] is not None:
            assert side["money"] == pytest.approx(side["fixed_money"] + side["money_per_answer"] * 500)
        else:
            assert side["money"] is None and side["money_reason"]
    assert decision["advice"]["kind"] == "not_enough_evidence"  # 3 items, fewer than the 10 advice needs
    assert "at least 10 items" in decision["advice"]["evidence"]
    html = report.read_text("utf-8")
    assert "Which model for this task" in html and ("Money a month against volume" in html or "No cost chart" in html)
    assert "At 500 translations a month" in html


@pytest.mark.slow
def test_the_text_output_says_the_break_even_and_the_advice_after_each_verdict(llama_server: str,
                                                                                tmp_path: Path) -> None:
    result = lmscales(*short_eval(llama_server, "--volume", "2000", "--min-items", "2", "--quiet"),
                      config=tmp_path / "config", data=tmp_path / "data")
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.splitlines()
    verdict = next(index for index, line in enumerate(lines) if line.startswith("On these 3 sentences"))
    assert lines[verdict + 1].startswith("At 2,000 translations a month, the small model")
    assert lines[verdict + 2].startswith("Advice: ")


@pytest.mark.parametrize(("flag", "value", "message"), [
    ("--volume", "-5", "argument --volume: must be from 0 to 1,000,000,000 answers a month, not -5"),
    ("--volume", "lots", "argument --volume: must be a whole number of answers a month, not 'lots'"),
    ("--electricity-price", "nan", "argument --electricity-price: must be from 0 to 10 USD per kWh, not nan"),
    ("--hardware-months", "0", "argument --hardware-months: must be from 1 to 240 months, not 0"),
    ("--chrf-min", "101", "argument --chrf-min: must be from 0 to 100 chrF++ points, not 101"),
    ("--margin", "100", "argument --margin: must be from 0 to 99 percentage points, not 100"),
    ("--min-items", "0", "argument --min-items: must be from 1 to 100,000 items, not 0"),
])
def test_a_bad_decision_value_is_a_usage_message_naming_the_option(flag: str, value: str, message: str,
                                                                   tmp_path: Path) -> None:
    result = lmscales("eval", "--set", "translate", flag, value, config=tmp_path / "config", data=tmp_path / "data")
    assert result.returncode == 2
    assert message in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
