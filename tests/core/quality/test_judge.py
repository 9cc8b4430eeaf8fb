"""The blind judge against the fault server scripted to answer fixed verdicts, streamed as real SSE."""

from __future__ import annotations

import pytest

from lmscales.core.endpoints import Endpoint
from lmscales.core.engines.local import LocalEngine
from lmscales.core.engines.remote import RemoteEngine, RemoteOptions
from lmscales.core.quality.judge import (
    PROMPT_VERSION,
    Judge,
    JudgeContext,
    JudgeRefused,
    judge_messages,
    parse_verdict,
)
from tests.support.fault_server import FaultServer

FAST = RemoteOptions(connect_timeout=2.0, read_timeout=5.0, max_rate_limit_retries=0)
CONTEXT = JudgeContext("chat", "What is the tallest mountain on Earth?")
SMALL = "The tallest mountain is Mount Olympus, in Greece."
LARGE = "Mount Everest, at 8,849 m above sea level."


@pytest.fixture
def judge(fault_server: FaultServer) -> Judge:
    fault_server.scripted_replies.clear()
    engine = RemoteEngine(Endpoint(fault_server.url("scripted"), "judge-model"), FAST)
    return Judge(engine, "judge-model", engine_is_local=False)


def judge_posts(server: FaultServer) -> list[dict[str, object]]:
    return [request[4] for request in server.requests if request[0] == "scripted" and request[1] == "POST"]


def test_both_orders_agreeing_give_a_win(judge: Judge, fault_server: FaultServer) -> None:
    before = len(judge_posts(fault_server))
    # order 1 shows the small answer first, order 2 the large one first: both prefer the large answer
    fault_server.scripted_replies.extend(["Answer 2 is correct; Answer 1 is wrong.\n[[2]]",
                                          "Answer 1 names Everest correctly.\n[[1]]"])
    verdict = judge.judge(CONTEXT, SMALL, LARGE)
    assert verdict.outcome == "b"
    assert [order.verdict for order in verdict.orders] == ["2", "1"]
    assert (verdict.judge_model, verdict.prompt_version, verdict.judge_is_contestant) == \
        ("judge-model", PROMPT_VERSION, False)

    posts = judge_posts(fault_server)[before:]
    assert len(posts) == 2
    assert all(post["temperature"] == 0.0 for post in posts)
    first_prompt = str(posts[0]["messages"][1]["content"])  # type: ignore[index]
    second_prompt = str(posts[1]["messages"][1]["content"])  # type: ignore[index]
    assert first_prompt.index(SMALL) < first_prompt.index(LARGE)
    assert second_prompt.index(LARGE) < second_prompt.index(SMALL)
    for prompt in (first_prompt, second_prompt):  # blind: no side, engine or model names
        assert "[Answer 1]" in prompt and "[Answer 2]" in prompt
        for name in ("small", "large", "SmolLM", "judge-model", "local", "remote"):
            assert name not in prompt


def test_orders_that_disagree_give_a_tie(judge: Judge, fault_server: FaultServer) -> None:
    fault_server.scripted_replies.extend(["[[1]]", "[[1]]"])  # position bias: always the first answer
    verdict = judge.judge(CONTEXT, SMALL, LARGE)
    assert verdict.outcome == "tie"
    assert "disagree" in verdict.detail


def test_a_tie_in_one_order_is_a_tie(judge: Judge, fault_server: FaultServer) -> None:
    fault_server.scripted_replies.extend(["[[2]]", "Equally good. [[TIE]]"])
    assert judge.judge(CONTEXT, SMALL, LARGE).outcome == "tie"


def test_an_unparsable_reply_is_reported_not_guessed(judge: Judge, fault_server: FaultServer) -> None:
    fault_server.scripted_replies.extend(["Answer 2 is clearly better.", "[[1]]"])
    verdict = judge.judge(CONTEXT, SMALL, LARGE)
    assert verdict.outcome == "unparsed"
    assert verdict.orders[0].verdict is None
    assert verdict.orders[0].raw == "Answer 2 is clearly better."
    assert "no single verdict token" in verdict.detail


def test_a_judge_error_is_reported_with_its_message(judge: Judge, fault_server: FaultServer) -> None:
    # nothing scripted: the server answers 500
    verdict = judge.judge(CONTEXT, SMALL, LARGE)
    assert verdict.outcome == "error"
    assert len(verdict.orders) == 1
    assert verdict.detail.startswith("The judge failed:")


@pytest.mark.parametrize(
    ("reply", "parsed"),
    [("[[1]]", "1"), ("because… [[2]]", "2"), ("[[TIE]]", "tie"), ("[[tie]]", "tie"), ("[[ 2 ]]", "2"),
     ("[[1]] or maybe [[2]]", None), ("Answer 1", None), ("[1]", None), ("", None), ("[[1]] ... [[1]]", "1")],
)
def test_verdict_tokens_are_strict(reply: str, parsed: str | None) -> None:
    assert parse_verdict(reply) == parsed


def test_the_small_local_model_is_refused_as_judge(fault_server: FaultServer) -> None:
    engine = RemoteEngine(Endpoint(fault_server.url("scripted"), "m"), FAST)
    with pytest.raises(JudgeRefused, match="small local model cannot be the judge"):
        Judge(engine, "SmolLM2-135M", engine_is_local=True)


@pytest.mark.slow
def test_the_real_local_engine_is_refused_as_judge_from_its_own_description(engine: LocalEngine) -> None:
    with pytest.raises(JudgeRefused, match="small local model cannot be the judge"):
        Judge.from_engine(engine)


def test_a_remote_judge_takes_its_model_and_place_from_the_engine(fault_server: FaultServer) -> None:
    judge = Judge.from_engine(RemoteEngine(Endpoint(fault_server.url("scripted"), "judge-7b"), FAST),
                              is_contestant=True, offline=True)  # a loopback server is allowed offline
    assert (judge.model, judge.is_contestant) == ("judge-7b", True)


def test_offline_the_judge_must_be_on_this_computer(fault_server: FaultServer) -> None:
    engine = RemoteEngine(Endpoint(fault_server.url("scripted"), "m"), FAST)
    with pytest.raises(JudgeRefused, match="Offline mode keeps every connection on this computer"):
        Judge(engine, "gpt-4o", engine_is_local=False, offline=True, on_this_computer=False)
    assert Judge(engine, "local-judge", engine_is_local=False, offline=True, on_this_computer=True).model == \
        "local-judge"


def test_each_task_has_its_rubric_in_the_prompt() -> None:
    translate = judge_messages(JudgeContext("translate", "Good morning", target_language="de"), "a", "b")[1].content
    summary_context = JudgeContext("summarize", "Long text", summary_form="in one sentence")
    summary = judge_messages(summary_context, "a", "b")[1].content
    chat = judge_messages(CONTEXT, "a", "b")[1].content
    assert "Adequacy" in translate and "Fluency" in translate and "into German" in translate
    assert all(word in summary for word in ("Coherence", "Consistency", "Fluency", "Relevance", "in one sentence"))
    assert "Helpfulness" in chat and "Correctness" in chat
