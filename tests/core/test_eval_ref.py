"""An evaluation trial says where it belongs in typed fields (`Trial.evaluation`: set, item, repeat, warm-up),
kept through the history file; a line written when these were "eval:"/"item:"/"repeat:" tags still loads with
the same fields, and its free tags stay free."""

from __future__ import annotations

import json
from pathlib import Path

from lmscales.core.endpoints import Endpoint
from lmscales.core.engines.remote import RemoteEngine, RemoteOptions
from lmscales.core.history import TrialHistory
from lmscales.core.session import Session
from lmscales.core.trial import EvalRef, GenerationParams, TaskInput, Trial
from tests.support.fault_server import FaultServer


def a_trial(server: FaultServer, evaluation: EvalRef | None, tags: tuple[str, ...] = ()) -> Trial:
    session = Session({"large": RemoteEngine(Endpoint(server.url("ok"), "fault-model"), RemoteOptions())},
                      is_offline=lambda: False)
    return session.run(TaskInput("chat", "Say hello."), GenerationParams(max_tokens=8), ("large",), tags=tags,
                       evaluation=evaluation)


def test_the_evaluation_fields_go_through_the_history_file(fault_server: FaultServer, tmp_path: Path) -> None:
    ref = EvalRef("translate-smoke", "en-fr-03", repeat=2)
    trial = a_trial(fault_server, ref, tags=("mine",))
    assert trial.evaluation == ref
    history = TrialHistory.open(tmp_path / "history.jsonl")
    assert history.append(trial) is None
    line = json.loads((tmp_path / "history.jsonl").read_text("utf-8").splitlines()[-1])
    assert line["evaluation"] == {"set_name": "translate-smoke", "item_id": "en-fr-03", "repeat": 2, "warmup": False}
    assert line["tags"] == ["mine"]  # nothing of the evaluation hides in the tags
    again = TrialHistory.open(tmp_path / "history.jsonl").list()[-1]
    assert again.evaluation == ref and again.tags == ("mine",)


def test_a_line_with_the_old_evaluation_tags_still_loads(fault_server: FaultServer, tmp_path: Path) -> None:
    line = a_trial(fault_server, None).to_dict()
    del line["evaluation"]  # as a version before `Trial.evaluation` wrote it
    line["tags"] = ["eval:chat", "item:capital-fr", "repeat:3", "scenario:demo"]
    (tmp_path / "history.jsonl").write_text(json.dumps(line) + "\n", "utf-8")
    (old,) = TrialHistory.open(tmp_path / "history.jsonl").list()
    assert old.evaluation == EvalRef("chat", "capital-fr", 3)
    assert old.tags == ("scenario:demo",)
    # And written again, it is in the new form.
    assert Trial.from_dict(json.loads(json.dumps(old.to_dict()))).evaluation == EvalRef("chat", "capital-fr", 3)


def test_a_trial_outside_any_evaluation_has_none(fault_server: FaultServer) -> None:
    trial = a_trial(fault_server, None, tags=("item:not-an-eval",))  # a free tag that merely looks like one
    loaded = Trial.from_dict(json.loads(json.dumps(trial.to_dict())))
    assert loaded.evaluation is None and loaded.tags == ("item:not-an-eval",)
