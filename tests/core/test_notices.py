"""Notices are typed: what a run says on the way has a kind and its facts (host, retry, part of n, parameter),
from real runs against the fault server, and a trial keeps them so through the history file; a trial written
when notices were plain sentences still loads."""

from __future__ import annotations

import json

import pytest

from lmscales.core import tasks
from lmscales.core.endpoints import Endpoint
from lmscales.core.engines.map_reduce import summarize
from lmscales.core.engines.remote import RemoteEngine, RemoteOptions
from lmscales.core.events import GenerationRequest, Notice
from lmscales.core.session import Session
from lmscales.core.trial import GenerationParams, TaskInput, Trial
from tests.support.fault_server import FaultServer

ASK = GenerationRequest(tasks.chat_messages([], "Say hello."), max_tokens=24, temperature=0.0)


def engine(server: FaultServer, mode: str, **options: object) -> RemoteEngine:
    return RemoteEngine(Endpoint(server.url(mode), "fault-model"), RemoteOptions(**options))  # type: ignore[arg-type]


def notices_of(events: object) -> list[Notice]:
    return [event for event in events if isinstance(event, Notice)]  # type: ignore[attr-defined]


def test_a_real_429_gives_a_rate_limited_notice_with_its_host_and_wait(fault_server: FaultServer,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fault_server, "retry_after", "0.3")  # the module's server: restored after this test
    remote = engine(fault_server, "429", max_rate_limit_retries=2)
    said = notices_of(remote.generate(ASK))
    assert [notice.kind for notice in said] == ["rate_limited", "rate_limited"]
    assert [(n.host, n.attempt, n.attempts, n.retry_after) for n in said] == [
        (remote.endpoint.host, 1, 2, 0.3), (remote.endpoint.host, 2, 2, 0.3)]
    assert not any(notice.progress for notice in said)


def test_a_map_reduce_summary_says_which_part_it_is_on(fault_server: FaultServer) -> None:
    text = " ".join(f"Sentence {index} of a long report says something about the harbour and the budget."
                    for index in range(120))
    said = notices_of(summarize(engine(fault_server, "ok"), text, "sentence", None, ASK, context_tokens=600))
    parts = [notice for notice in said if notice.kind == "map_reduce_part"]
    assert len(parts) >= 2 and all(notice.progress for notice in said)
    first_round = [notice for notice in parts if notice.round == 1]
    assert [notice.part for notice in first_round] == list(range(1, len(first_round) + 1))
    assert {notice.parts for notice in first_round} == {len(first_round)}
    assert said[-1].kind == "map_reduce_combine" and said[-1].parts is not None


@pytest.mark.parametrize(("mode", "kind", "parameter", "replacement"), [
    ("notemp", "parameter_dropped", "temperature", None),
    ("nomaxtokens", "parameter_renamed", "max_tokens", "max_completion_tokens"),
])
def test_a_refused_parameter_is_named_in_the_notice(fault_server: FaultServer, mode: str, kind: str,
                                                     parameter: str, replacement: str | None) -> None:
    remote = engine(fault_server, mode)
    said = notices_of(remote.generate(ASK))
    assert [(n.kind, n.parameter, n.replacement, n.model, n.host) for n in said] == [
        (kind, parameter, replacement, "fault-model", remote.endpoint.host)]


def test_a_trial_keeps_its_notices_typed_through_json(fault_server: FaultServer) -> None:
    session = Session({"large": engine(fault_server, "429once", max_rate_limit_retries=2)}, is_offline=lambda: False)
    trial = session.run(TaskInput("chat", "Say hello."), GenerationParams(max_tokens=16), ("large",))
    large = trial.side("large")
    assert large is not None and large.ok and [notice.kind for notice in large.notices] == ["rate_limited"]
    line = json.loads(json.dumps(trial.to_dict()))
    assert line["sides"]["large"]["notices"][0]["kind"] == "rate_limited"
    again = Trial.from_dict(line).side("large")
    assert again is not None
    strip = [(n.kind, n.message, n.host, n.attempt, n.attempts, n.retry_after) for n in large.notices]
    assert [(n.kind, n.message, n.host, n.attempt, n.attempts, n.retry_after) for n in again.notices] == strip


def test_a_trial_written_with_sentence_notices_still_loads(fault_server: FaultServer) -> None:
    """History lines from before notices had kinds hold plain strings: each loads as an "info" notice with that
    sentence, and an unknown kind from a newer version reads as "info" too."""
    session = Session({"large": engine(fault_server, "ok")}, is_offline=lambda: False)
    line = session.run(TaskInput("chat", "Say hello."), GenerationParams(max_tokens=16), ("large",)).to_dict()
    line["sides"]["large"]["notices"] = ["Rate limited by api.example.com (429): retry 1 of 3 in 2 s.",
                                         {"kind": "from_the_future", "message": "Something new."}]
    old = Trial.from_dict(json.loads(json.dumps(line))).side("large")
    assert old is not None
    assert [(n.kind, n.message) for n in old.notices] == [
        ("info", "Rate limited by api.example.com (429): retry 1 of 3 in 2 s."), ("info", "Something new.")]


def test_a_stored_notice_keeps_only_fields_of_their_type() -> None:
    """A damaged or hand-edited history line: a field of the wrong type is left out (code that reads `attempt`
    gets a number or None, never a string or a list), and the notice still shows its sentence."""
    stored = {"kind": "rate_limited", "message": "Rate limited.", "host": ["api.example.com"], "attempt": "2",
              "attempts": True, "retry_after": 1e300, "part": -1, "model": "m", "parts": 3, "timestamp": "x",
              "unknown_field": 1}
    notice = Notice.from_dict(stored)
    assert (notice.kind, notice.message, notice.host, notice.attempt, notice.attempts, notice.retry_after,
            notice.part, notice.model, notice.parts, notice.timestamp) == (
        "rate_limited", "Rate limited.", None, None, None, None, None, "m", 3, 0.0)
    assert Notice.from_dict({"kind": "rate_limited", "retry_after": 2, "attempt": 1}).retry_after == 2
    assert Notice.from_dict(["not", "a", "notice"]).message == ""
