"""`lmscales eval` stopped midway (Ctrl+C to the process group, or SIGTERM) and resumed with `--resume ID`: only
what was missing runs, and the per-item answers and scores are those of an uninterrupted run with the same seed
(greedy decoding, the real bundled model). A changed set, changed parameters or an unknown id refuse to resume,
saying why."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.support.eval_process import EvalProcess

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals and process groups"),
]

OPTIONS = ["--set", "translate-smoke", "--sides", "small", "--warmups", "0", "--repeats", "3", "--threads", "1",
           "--max-tokens", "48", "--seed", "1"]
RUNS = 18  # 6 items × 3 repeats
ID_LINE = re.compile(r"^Evaluation (\S+): if it stops, continue it with --resume \1$")


def per_item(document: dict[str, Any]) -> dict[str, tuple[str, dict[str, float]]]:
    """item id -> (the small side's answer, its scores) from `eval --json`."""
    out = {}
    for task in document["result"]["tasks"]:
        for item in task["items"]:
            out[item["item_id"]] = (item["outputs"].get("small"), item["scores"].get("small", {}))
    return out


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    run = EvalProcess(tmp_path_factory.mktemp("whole") / "data", *OPTIONS, "--json")
    code, stdout, stderr = run.finish()
    assert code == 0, stderr
    document: dict[str, Any] = json.loads(stdout)
    assert len(document["trials"]) == RUNS and not document["partial"]
    return document


@pytest.mark.parametrize("how", ["ctrl-c", "sigterm"])
def test_a_stopped_evaluation_resumes_to_the_uninterrupted_result(uninterrupted: dict[str, Any], tmp_path: Path,
                                                                   how: str) -> None:
    data = tmp_path / "data"
    first = EvalProcess(data, *OPTIONS, "--json")
    evaluation_id = first.wait_for(ID_LINE).group(1)
    first.wait_for(re.compile(r"^\[2/"))  # an item done, the next one running
    if how == "ctrl-c":
        os.killpg(first.process.pid, signal.SIGINT)  # a terminal's Ctrl+C: the parent and the engine both get it
    else:
        first.process.send_signal(signal.SIGTERM)
    code, stdout, stderr = first.finish()
    assert code == (130 if how == "ctrl-c" else 128 + signal.SIGTERM), stderr
    stopped = json.loads(stdout)
    assert stopped["partial"] and 1 <= len(stopped["trials"]) < RUNS, stderr

    second = EvalProcess(data, *OPTIONS, "--json", "--resume", evaluation_id)
    code, stdout, stderr = second.finish()
    assert code == 0, stderr
    assert f"Resuming evaluation {evaluation_id}" in stderr
    # only what was missing ran: the progress counts the runs left, not all of them
    totals = {int(total) for total in re.findall(r"^\[\d+/(\d+)\]", stderr, re.MULTILINE)}
    assert totals == {RUNS - len(stopped["trials"])}, stderr
    resumed = json.loads(stdout)
    assert not resumed["partial"]
    assert len(resumed["trials"]) == RUNS
    assert set(stopped["trials"]) <= set(resumed["trials"])  # the first run's trials are kept, not run again
    assert per_item(resumed) == per_item(uninterrupted)
    assert resumed["result"]["metadata"]["parameters"]["evaluation id"] == evaluation_id
    assert any(note.startswith("Resumed 1 time(s)") for note in resumed["result"]["metadata"]["notes"])
    journal = data / "evaluations" / f"{evaluation_id}.jsonl"
    records = [json.loads(line) for line in journal.read_text("utf-8").splitlines()]
    assert [record["record"] for record in records].count("trial") == RUNS


def write_set(path: Path, first_input: str) -> Path:
    items = [{"id": "one", "task": "translate", "source": "en", "target": "fr", "input": first_input,
              "reference": "Bonjour."},
             {"id": "two", "task": "translate", "source": "en", "target": "de", "input": "Thank you.",
              "reference": "Danke."}]
    path.write_text("".join(json.dumps(item) + "\n" for item in items), encoding="utf-8")
    return path


def run_eval(data: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LMSCALES_DATA_DIR": str(data)}
    return subprocess.run([sys.executable, "-m", "lmscales", "eval", "--sides", "small", "--warmups", "0",
                           "--threads", "1", "--max-tokens", "16", "--quiet", *args],
                          capture_output=True, text=True, env=env, timeout=300)


def test_resume_refuses_a_changed_set_changed_parameters_and_an_unknown_id(tmp_path: Path) -> None:
    data = tmp_path / "data"
    mine = write_set(tmp_path / "mine.jsonl", "Hello.")
    done = run_eval(data, "--set", str(mine))
    assert done.returncode == 0, done.stderr
    evaluation_id = ID_LINE.match(done.stderr.splitlines()[0]).group(1)  # type: ignore[union-attr]

    write_set(mine, "Good morning.")  # one input changed
    changed = run_eval(data, "--set", str(mine), "--resume", evaluation_id)
    assert changed.returncode == 2
    assert (f"Cannot resume the evaluation {evaluation_id}: the set 'mine' changed since it started (2 items, "
            "hash ") in changed.stderr, changed.stderr
    assert "Run it with the same set and options, or start a new evaluation (without --resume)." in changed.stderr

    write_set(mine, "Hello.")  # as it was, but other parameters
    other = run_eval(data, "--set", str(mine), "--resume", evaluation_id, "--max-tokens", "20", "--repeats", "2")
    assert other.returncode == 2
    assert "max tokens was 16, now 20; repeats were 1, now 2." in other.stderr, other.stderr

    unknown = run_eval(data, "--set", str(mine), "--resume", "20200101-000000-beef")
    assert unknown.returncode == 2
    assert (f"There is no evaluation '20200101-000000-beef' to resume in {data / 'evaluations'}. The evaluations "
            f"kept there, newest first: {evaluation_id}.") in unknown.stderr, unknown.stderr

    same = run_eval(data, "--set", str(mine), "--resume", evaluation_id)  # unchanged: nothing is left to run
    assert same.returncode == 0, same.stderr
