"""`lmscales eval` stopped by a signal, as `timeout`, a CI runner, `docker stop` or a real Ctrl+C stop it: the run
ends like a Ctrl+C to the parent alone, with its partial results printed, the report written and marked
partial, no trial blamed on an engine that "exited unexpectedly" and no traceback. Against the bundled model."""

from __future__ import annotations

import json
import os
import re
import signal
import sys
from pathlib import Path

import pytest

from tests.support.eval_process import EvalProcess

pytestmark = [
    pytest.mark.slow,
    # Windows has neither SIGTERM handlers that run (TerminateProcess) nor process groups to send SIGINT to.
    pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals and process groups"),
]


def eval_run(tmp_path: Path) -> EvalProcess:
    """An evaluation long enough to be stopped in the middle (6 items × 5 repeats on the small side), started as a
    terminal's foreground job is, and waited for until a progress line says an item is done ("[1/30] …")."""
    run = EvalProcess(tmp_path / "data", "--set", "translate-smoke", "--sides", "small", "--warmups", "0",
                      "--repeats", "5", "--threads", "1", "--max-tokens", "64",
                      "--report", str(tmp_path / "report.html"))
    run.wait_for(re.compile(r"^\[1/"))
    return run


def check_partial_ending(tmp_path: Path, returncode: int, expected_code: int, stdout: str, stderr: str) -> None:
    assert returncode == expected_code, stderr
    assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr, stderr
    assert "exited unexpectedly" not in stderr, stderr
    assert "Interrupted: stopped before the end; the results above are partial (" in stderr, stderr
    assert "of 30 comparisons, and so is the report)." in stderr
    assert stdout.startswith("Only the small model ran on th"), stdout  # the verdict over what was measured
    report = (tmp_path / "report.html").read_text("utf-8")
    assert "Stopped before the end: partial results." in report
    kept = [json.loads(line) for line in (tmp_path / "data" / "history.jsonl").read_text("utf-8").splitlines()]
    assert 1 <= len(kept) < 30
    for trial in kept:  # no trial blames the engine: each kept run finished or was stopped
        side = trial["sides"]["small"]
        assert side.get("error") is None, side["error"]


def test_sigterm_ends_eval_with_partial_results_and_report(tmp_path: Path) -> None:
    run = eval_run(tmp_path)
    run.process.send_signal(signal.SIGTERM)  # to the parent alone, as `timeout` and `docker stop` send it
    code, stdout, stderr = run.finish()
    check_partial_ending(tmp_path, code, 128 + signal.SIGTERM, stdout, stderr)


def test_ctrl_c_to_the_whole_process_group_does_not_kill_the_engine_first(tmp_path: Path) -> None:
    run = eval_run(tmp_path)
    os.killpg(run.process.pid, signal.SIGINT)  # a terminal's Ctrl+C: the parent and the engine both get it
    code, stdout, stderr = run.finish()
    check_partial_ending(tmp_path, code, 130, stdout, stderr)
