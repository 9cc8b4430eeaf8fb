"""`lmscales bench engine`: its figures are there and consistent, `--check` is an exit code, bad options are a
clear message. (The figures themselves are never held to a threshold here: that is what `--check` is for, on a
quiet machine.)"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from lmscales.bench import engine as bench_engine_module
from lmscales.bench import ui as bench_ui_module
from lmscales.cli import EXIT_FAILED

pytestmark = pytest.mark.slow


def lmscales(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "lmscales", *args], capture_output=True, text=True, timeout=600,
                          check=False)


def test_bench_engine_tells_the_whole_story_per_thread_count() -> None:
    result = lmscales("bench", "engine", "--threads", "1", "--runs", "1", "--max-tokens", "32", "--thread-counts",
                      "1,2", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    rows = report["per_thread_count"]
    assert [row["threads"] for row in rows] == [1, 2]
    for row in rows:
        assert row["end_to_end_decode_rate"] > 0 and row["native_decode_rate"] > 0
        assert row["ratio"] == pytest.approx(row["end_to_end_decode_rate"] / row["native_decode_rate"], rel=1e-2)
        assert row["cpu_seconds_per_100_tokens"] > 0
        assert row["ttft_s"] > 0 and row["native_prefill_rate"] > 0
        assert "joules_per_100_tokens" in row  # null where RAPL cannot be read
        assert all(run["cached_prompt_tokens"] == 0 for run in row["per_run"])  # TTFT against a whole prefill
    without, with_reuse = report["chat"]
    assert not without["reuse"] and with_reuse["reuse"]
    assert [t["cached_prompt_tokens"] for t in without["turns"]] == [0] * 5
    assert all(t["cached_prompt_tokens"] > 0 for t in with_reuse["turns"][1:])
    assert set(report["chat_turn_5_ttft_s"]) == {"with_reuse", "without_reuse"}
    assert report["goals"]["ratio_min"] == 0.98 and isinstance(report["goals"]["met"], bool)
    assert report["wait_policy"] == "spin:1000" and report["low_priority"] is True


def _run_engine_bench(monkeypatch: pytest.MonkeyPatch, goals: dict[str, float], *extra: str) -> int:
    from lmscales.__main__ import main

    monkeypatch.setattr(bench_engine_module, "GOALS", goals)
    return main(["bench", "engine", "--threads", "1", "--runs", "1", "--max-tokens", "16", "--no-chat", *extra])


def test_check_turns_the_goals_into_an_exit_code(monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    unreachable = {"ratio_min": 10.0, "ttft_overhead_max_ms": 0.0}
    assert _run_engine_bench(monkeypatch, unreachable, "--check") == EXIT_FAILED
    assert "NOT met" in capsys.readouterr().out
    assert _run_engine_bench(monkeypatch, unreachable) == 0  # without --check: figures only
    reachable = {"ratio_min": 0.0, "ttft_overhead_max_ms": 1e9}
    assert _run_engine_bench(monkeypatch, reachable, "--check") == 0


@pytest.mark.parametrize(("counts", "message"), [("one,two", "numbers separated by commas"),
                                                 ("0", "must be 1 or more")])
def test_bad_thread_counts_are_a_clear_usage_error(counts: str, message: str) -> None:
    result = lmscales("bench", "engine", "--threads", "1", "--thread-counts", counts)
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("seconds", ["0", "-1", "nan", "soon"])
def test_a_bad_watch_time_is_a_clear_usage_error(seconds: str) -> None:
    result = lmscales("bench", "ui", "--watch-seconds", seconds)
    assert result.returncode == 2
    assert "--watch-seconds" in result.stderr and "seconds" in result.stderr.split("--watch-seconds")[-1]
    assert "Traceback" not in result.stderr


def test_bench_ui_check_is_an_exit_code_too(monkeypatch: pytest.MonkeyPatch, qapp) -> None:  # type: ignore[no-untyped-def]
    from lmscales.__main__ import main

    monkeypatch.setattr(bench_ui_module, "GOALS", {"p99_stall_ms": -1.0, "longest_stall_ms": -1.0,
                                                   "watching_cost_percent": 0.0})
    assert main(["bench", "ui", "--threads", "1", "--runs", "1", "--max-tokens", "16", "--flood-seconds", "0.3",
                 "--watch-seconds", "0.5", "--check"]) == EXIT_FAILED
