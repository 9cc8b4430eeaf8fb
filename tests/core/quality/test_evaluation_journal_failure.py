"""A journal that cannot be written costs the resume, never the evaluation's results: on a data folder that is
full or read-only from the start the evaluation runs without one, and when writing fails midway the trials
from then on are kept in memory; either way every item is in the result, and its notes say why it cannot be
resumed. Both sides are the fault server's plain stream on loopback."""

from __future__ import annotations

from pathlib import Path

import pytest

from lmscales.core import eval_journal
from lmscales.core.endpoints import Endpoint
from lmscales.core.engines.remote import RemoteEngine, RemoteOptions
from lmscales.core.eval_journal import EvalJournal, JournalError
from lmscales.core.evaluation import EvalPlan, Evaluation
from lmscales.core.quality.sets import load_set
from lmscales.core.session import Session
from tests.support.fault_server import FaultServer

FAST = RemoteOptions(connect_timeout=2.0, read_timeout=5.0, max_rate_limit_retries=0)


def evaluation(fault_server: FaultServer) -> Evaluation:
    session = Session({side: RemoteEngine(Endpoint(fault_server.url("ok"), f"{side}-model"), FAST)
                       for side in ("small", "large")}, is_offline=lambda: False)
    return Evaluation(session, EvalPlan(load_set("chat", smoke=True), warmups=0))


def test_a_journal_that_fails_midway_keeps_the_rest_in_memory(fault_server: FaultServer, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    run = evaluation(fault_server)
    journal = run.start_journal(folder=tmp_path)
    assert journal is not None
    written = []
    real = EvalJournal.append_trial

    def append_twice(self: EvalJournal, trial: object) -> None:
        if len(written) == 2:
            raise JournalError(f"Could not write to the evaluation's journal {self.path}: No space left on device.")
        written.append(trial)
        real(self, trial)  # type: ignore[arg-type]

    monkeypatch.setattr(EvalJournal, "append_trial", append_twice)
    result = run.run()
    items = len(run.plan.evaluation_set.items)
    assert len(list(EvalJournal.open(journal.evaluation_id, tmp_path).trials())) == 2  # the two before the failure
    assert len(run.trial_ids()) == items and sum(len(task.items) for task in result.tasks) == items
    assert run.journal_problem is not None and "No space left on device" in run.journal_problem
    assert any("Runs were kept in memory from then on" in note and "No space left" in note
               for note in result.metadata.notes)


def test_a_journal_that_cannot_start_runs_the_evaluation_without_it(fault_server: FaultServer, tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_args: object, **_kwargs: object) -> EvalJournal:
        raise JournalError(f"Could not start the evaluation's journal in {tmp_path}: Read-only file system.")

    monkeypatch.setattr(eval_journal.EvalJournal, "create", refuse)
    run = evaluation(fault_server)
    assert run.start_journal(folder=tmp_path) is None
    result = run.run()
    assert sum(len(task.items) for task in result.tasks) == len(run.plan.evaluation_set.items)
    assert any("Read-only file system" in note for note in result.metadata.notes)
    with pytest.raises(JournalError):  # a resume, though, needs its journal: refused with the reason
        run.start_journal("no-such-evaluation", folder=tmp_path)
