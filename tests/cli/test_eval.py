"""`lmscales eval`: repeated, matched A/B runs of an evaluation set through the session, with scores, statistics,
a verdict and the HTML report; against the bundled model and llama-cpp-python's server on loopback (a judge
answering fixed verdicts on the fault server)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from lmscales.core.history import TrialHistory
from tests.conftest import SERVER_MODEL

pytestmark = pytest.mark.slow


def lmscales(*args: str, data_dir: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    if data_dir is not None:
        env["LMSCALES_DATA_DIR"] = str(data_dir)
    return subprocess.run([sys.executable, "-m", "lmscales", *args], capture_output=True, text=True, check=False,
                          timeout=1200, env=env)


def test_eval_translate_smoke_with_repeats_against_the_real_server(llama_server: str, tmp_path: Path) -> None:
    report = tmp_path / "report.html"
    result = lmscales("eval", "--set", "translate", "--smoke", "--repeats", "2", "--threads", "1",
                      "--base-url", llama_server, "--model", SERVER_MODEL, "--max-tokens", "48", "--json",
                      "--report", str(report), data_dir=tmp_path / "data")
    assert result.returncode == 0, result.stderr[-3000:]
    out = json.loads(result.stdout)
    task = out["result"]["tasks"][0]
    assert task["task"] == "translate" and task["repeats"] == 2
    items = task["items"]
    assert len(items) == 6
    for item in items:
        assert set(item["outputs"]) == {"small", "large"}
        for side in ("small", "large"):
            assert {"chrF++", "BLEU"} <= set(item["scores"][side]), item["scores"]
    assert len(task["ttft"]["small"]) == 12 and len(task["ttft"]["large"]) == 12  # 6 items x 2 repeats, no warm-up
    figures = out["figures"][0]
    primary = figures["primary"]
    assert primary["name"] == "chrF++"
    low, high = primary["difference"]["low"], primary["difference"]["high"]
    assert low <= primary["difference"]["mean_difference"] <= high  # a paired difference, bootstrap interval
    assert primary["difference"]["n"] == 6
    assert "On these 6 sentences" in figures["verdict"]
    assert "nrefs:1" in out["result"]["metadata"]["signatures"]["chrF++"]  # the sacrebleu signature is kept
    # Every item's trial is in the history, with its scores (the warm-up is not).
    kept = TrialHistory.open(tmp_path / "data" / "history.jsonl").list()
    assert [t.id for t in kept] == out["trials"] and len(kept) == 12
    assert all(any(s.name == "chrF++" for s in t.side("small").scores) for t in kept)  # type: ignore[union-attr]
    assert all(t.evaluation is not None and t.evaluation.set_name.startswith("translate") for t in kept)
    html = report.read_text("utf-8")
    assert "On these 6 sentences" in html and "<svg" in html


def test_a_judge_on_a_third_endpoint_counts_a_win_only_when_both_orders_agree(fault_server, bundled_model: Path,  # type: ignore[no-untyped-def]
                                                                             tmp_path: Path) -> None:
    fault_server.scripted_replies.clear()
    # Two items: the judge prefers the large side (Answer 2, then Answer 1 when the order flips) on the first,
    # and always says "Answer 1" on the second (position bias), which is a tie.
    fault_server.scripted_replies.extend(["[[2]]", "[[1]]", "[[1]]", "[[1]]"])
    result = lmscales("eval", "--set", "chat", "--smoke", "--limit", "2", "--warmups", "0", "--threads", "1",
                      "--large-gguf", str(bundled_model), "--large-threads", "1", "--max-tokens", "16",
                      "--judge", fault_server.url("scripted"), "--judge-model", "judge-model", "--json",
                      "--no-history")
    assert result.returncode == 0, result.stderr[-3000:]
    task = json.loads(result.stdout)["result"]["tasks"][0]
    judge = task["judge"]
    assert (judge["model"], judge["large_wins"], judge["ties"], judge["small_wins"]) == ("judge-model", 1, 1, 0)
    assert judge["prompt_version"].startswith("lmscales-judge")
    assert [item["judge"] for item in task["items"]] in (["large", "tie"], ["tie", "large"])
    # Blind: neither side's name or model reached the judge.
    bodies = [json.dumps(request[4]) for request in fault_server.requests if request[0] == "scripted"]
    assert bodies and not any("small" in body.lower() or "smollm" in body.lower() for body in bodies)


def test_the_small_model_is_never_the_judge_and_bad_sets_are_named(tmp_path: Path) -> None:
    refused = lmscales("eval", "--set", "chat", "--smoke", "--sides", "small", "--judge", "large", "--no-history")
    assert refused.returncode == 2 and "--judge large needs the large side" in refused.stderr
    bad = tmp_path / "mine.jsonl"
    bad.write_text('{"id": "x", "task": "translate", "input": "Hi"}\n', encoding="utf-8")
    result = lmscales("eval", "--set", str(bad), "--no-history")
    assert result.returncode == 2 and "mine.jsonl" in result.stderr and "line 1" in result.stderr
    assert "Traceback" not in result.stderr
