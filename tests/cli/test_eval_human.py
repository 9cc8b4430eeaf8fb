"""`lmscales eval --judge human`: a person votes on each item blind, from a pipe, stops with "q" and resumes with
`--resume ID`; the votes are kept per item in the journal and `--json`, a voted item is never asked again, and the
report shows the tally with its Wilson interval. The bundled model on the small side, llama-cpp-python's server
serving it on loopback on the large side."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from lmscales.core.eval_votes import item_order
from lmscales.core.history import TrialHistory
from lmscales.core.quality.stats import wilson_interval
from tests.conftest import SERVER_MODEL

pytestmark = pytest.mark.slow

ITEM_PROMPT = re.compile(r"^— Item (\S+) \(translate into \w+\), vote (\d+) —$", re.MULTILINE)
ID_LINE = re.compile(r"^Evaluation (\S+): if it stops", re.MULTILINE)


def eval_human(data: Path, server: str, votes: str, *extra: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LMSCALES_DATA_DIR": str(data)}
    return subprocess.run([sys.executable, "-m", "lmscales", "eval", "--set", "translate-smoke", "--judge", "human",
                           "--warmups", "0", "--threads", "1", "--max-tokens", "24", "--base-url", server,
                           "--model", SERVER_MODEL, "--json", *extra],
                          input=votes, capture_output=True, text=True, env=env, timeout=1200, check=False)


def shown(stderr: str) -> dict[str, tuple[str, str]]:
    """item id -> (the answer shown as A, as B), from what the person read."""
    out = {}
    for block in stderr.split("\n— Item ")[1:]:
        item = block.split(" ", 1)[0]
        a = block.split("\nA:\n", 1)[1].split("\n\nB:\n", 1)[0]
        b = block.split("\n\nB:\n", 1)[1].split("\n\nWhich answer is better?", 1)[0]
        out[item] = ("\n".join(line[2:] for line in a.splitlines()), "\n".join(line[2:] for line in b.splitlines()))
    return out


def outputs(document: dict[str, Any]) -> dict[str, dict[str, str]]:
    return {item["item_id"]: item["outputs"] for task in document["result"]["tasks"] for item in task["items"]}


def test_votes_from_a_pipe_stop_with_q_and_resume_to_the_tally_with_its_interval(llama_server: str,
                                                                                tmp_path: Path) -> None:
    data, report = tmp_path / "data", tmp_path / "report.html"
    first = eval_human(data, llama_server, "1\nmaybe\n2\nq\n")
    assert first.returncode == 130, first.stderr[-3000:]
    evaluation_id = ID_LINE.search(first.stderr).group(1)  # type: ignore[union-attr]
    asked_first = [item for item, _ in ITEM_PROMPT.findall(first.stderr)]
    assert len(asked_first) == 3  # two votes, then "q" at the third item
    assert "'maybe' is not a vote. Type 1, 2, 3 or 4 (or q to stop)." in first.stderr
    assert (f"Stopped at your request after 2 votes in this run. Continue with --resume {evaluation_id}: it asks "
            "for the items not yet voted, never again for a voted one.") in first.stderr
    stopped = json.loads(first.stdout)
    assert stopped["partial"] and set(stopped["votes"]) == set(asked_first[:2])
    # blind: the answers under A and B in the seeded order, and nothing naming a model before the vote
    for item, (a, b) in shown(first.stderr).items():
        order = item_order(7, item)
        answers = outputs(stopped)[item]
        assert (a, b) == (answers[order.a].strip() or "(empty)", answers[order.b].strip() or "(empty)")
    voting = first.stderr[first.stderr.index("— Item "):]  # the prompts and the progress lines between them
    assert not re.search(rf"{SERVER_MODEL}|SmolLM|small|large|chrF", voting, re.IGNORECASE), voting

    second = eval_human(data, llama_server, "3\n1\n4\n2\n", "--resume", evaluation_id, "--report", str(report))
    assert second.returncode == 0, second.stderr[-3000:]
    asked_second = [item for item, _ in ITEM_PROMPT.findall(second.stderr)]
    assert asked_second[0] == asked_first[2]  # the item run without a vote comes first
    assert not set(asked_second) & set(asked_first[:2])  # a voted item is never asked again
    assert len(asked_second) == 4

    document = json.loads(second.stdout)
    votes = document["votes"]
    assert set(votes) == set(asked_first[:2] + asked_second) and len(votes) == 6
    choices = dict(zip(asked_first[:2] + asked_second, ["A", "B", "tie", "A", "both_bad", "B"], strict=True))
    assert {vote["a"] for vote in votes.values()} == {"small", "large"}  # the order is drawn per item
    for item, vote in votes.items():
        order = item_order(7, item)
        assert (vote["choice"], vote["a"], vote["b"]) == (choices[item], order.a, order.b)
    journal = data / "evaluations" / f"{evaluation_id}.jsonl"
    records = [json.loads(line) for line in journal.read_text("utf-8").splitlines()]
    assert sorted(r["item_id"] for r in records if r["record"] == "vote") == sorted(votes)
    history = TrialHistory.open(data / "history.jsonl").list()  # the history keeps each voted trial too
    assert {t.evaluation.item_id: t.vote.choice for t in history if t.vote and t.evaluation} == choices

    wins = sum(1 for vote in votes.values() if vote["winner"] == "small")
    losses = sum(1 for vote in votes.values() if vote["winner"] == "large")
    (human,) = document["human"]
    assert (human["task"], human["wins"], human["ties"], human["both_bad"], human["losses"], human["n"]) == (
        "translate", wins, 1, 1, losses, 6)
    low, high = wilson_interval(wins, 6)
    assert human["interval"] == pytest.approx([low, high])
    sentence = (f"You preferred the small model {wins} of 6 times ({wins / 6 * 100:.0f} %, 95 % CI "
                f"{low * 100:.0f} %–{high * 100:.0f} %); 1 tie, 1 both bad.")
    assert human["sentence"] == sentence
    html = report.read_text("utf-8")
    assert "Your blind votes" in html and sentence in html


def test_human_judge_refuses_an_input_that_ends_before_the_first_vote_and_one_side(llama_server: str,
                                                                                   tmp_path: Path) -> None:
    ended = eval_human(tmp_path / "data", llama_server, "", "--limit", "1")
    assert ended.returncode == 2, ended.stderr[-3000:]
    assert ("--judge human could not read a vote: the standard input ended before the first one. Run it in a "
            "terminal, or pipe the votes in (1, 2, 3, 4 or q, one a line).") in ended.stderr

    one_side = eval_human(tmp_path / "data", llama_server, "1\n", "--sides", "small")
    assert one_side.returncode == 2
    assert "--judge human compares the two sides' answers: run it with --sides both." in one_side.stderr

    two = eval_human(tmp_path / "data", llama_server, "1\n", "--judge", "large", "--judge", "http://127.0.0.1:9/v1")
    assert two.returncode == 2
    assert "One LLM judge at a time: --judge large and --judge http://127.0.0.1:9/v1 were both given" in two.stderr
