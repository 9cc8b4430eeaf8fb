"""`lmscales run --side large --json` against the fault server's cases for today's models: the new fields
(thinking, ignored parameters, the rate's basis, the fault's kind) are in what it prints."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest

from tests.support.fault_server import THOUGHTS, WORDS, FaultServer

pytestmark = pytest.mark.slow


def run_large(server: FaultServer, mode: str, *extra: str) -> tuple[int, dict[str, Any] | None, str]:
    env = {key: value for key, value in os.environ.items() if key not in ("LMSCALES_API_KEY", "OPENAI_API_KEY")}
    result = subprocess.run(
        [sys.executable, "-m", "lmscales", "run", "--task", "chat", "--side", "large", "--base-url", server.url(mode),
         "--model", "fault-model", "--input", "-", "--json", "--max-tokens", "16", "--read-timeout", "1", *extra],
        input="Say hello.", capture_output=True, text=True, check=False, timeout=120, env=env,
    )
    data = json.loads(result.stdout) if result.stdout.strip() else None
    return result.returncode, data, result.stderr


def test_a_reasoning_stream_prints_its_thinking_fields(fault_server: FaultServer) -> None:
    code, data, stderr = run_large(fault_server, "reasoning", "--reasoning-effort", "high")
    assert code == 0, stderr
    assert data is not None
    large = data["sides"]["large"]
    assert large["text"] == "".join(WORDS)
    finished = large["finished"]
    assert finished["reasoning_tokens"] == 40 and finished["reasoning_tokens_provenance"] == "measured"
    assert "".join(text for _, text in finished["reasoning_deltas"]) == "".join(THOUGHTS)
    metrics = large["metrics"]
    assert metrics["time_to_first_any"]["value"] < metrics["time_to_first_token"]["value"]
    assert metrics["reasoning_tokens"]["value"] == 40
    assert "thinking" in metrics["decode_rate"]["basis"]
    assert large["cost"]["usd"] == 0  # a server on this computer
    assert fault_server.requests[-1][4]["reasoning_effort"] == "high"


def test_a_refused_temperature_prints_the_ignored_parameter(fault_server: FaultServer) -> None:
    code, data, stderr = run_large(fault_server, "notemp")
    assert code == 0, stderr
    assert data is not None and data["sides"]["large"]["finished"]["ignored_parameters"] == ["temperature"]


def test_a_burst_prints_no_rate_and_why(fault_server: FaultServer) -> None:
    code, data, stderr = run_large(fault_server, "burst")
    assert code == 0, stderr
    assert data is not None
    rate = data["sides"]["large"]["metrics"]["decode_rate"]
    assert rate["value"] is None and "one network read" in rate["reason"]


@pytest.mark.parametrize(("mode", "kind", "words"), [
    ("html", "not_sse", "captive portal"),
    ("quota", "quota", "billing"),
    ("stallheaders", "timeout", "sent nothing for 1 s"),
    ("context", "context_length", "cut about 1,308 tokens"),
])
def test_faults_print_their_kind_and_message(fault_server: FaultServer, mode: str, kind: str, words: str) -> None:
    code, data, stderr = run_large(fault_server, mode)
    assert code == 1
    assert data is not None
    error = data["sides"]["large"]["error"]
    assert error["kind"] == kind and words in error["message"]
    assert words in stderr


def test_a_renamed_token_limit_prints_the_notice_and_runs(fault_server: FaultServer) -> None:
    code, data, stderr = run_large(fault_server, "nomaxtokens")
    assert code == 0, stderr
    assert data is not None
    large = data["sides"]["large"]
    assert large["text"] == "".join(WORDS) and large["finished"]["ignored_parameters"] == []
    assert any(notice["kind"] == "parameter_renamed" and notice["replacement"] == "max_completion_tokens"
               and "takes 'max_completion_tokens' instead" in notice["message"] for notice in large["notices"])
    assert fault_server.requests[-1][4]["max_completion_tokens"] == 16  # the limit still applied


@pytest.mark.parametrize("mode", ["hiddenreasoning", "reasoningfield"])
def test_thinking_the_model_hides_or_streams_as_reasoning_is_counted(fault_server: FaultServer, mode: str) -> None:
    code, data, stderr = run_large(fault_server, mode)
    assert code == 0, stderr
    assert data is not None
    finished = data["sides"]["large"]["finished"]
    if mode == "hiddenreasoning":  # only usage says it thought: no text, a measured count
        assert finished["reasoning_tokens"] == 494 and not finished["reasoning_deltas"]
    else:
        assert "".join(text for _, text in finished["reasoning_deltas"]) == "".join(THOUGHTS)
    assert data["sides"]["large"]["text"] == "".join(WORDS)


def test_a_reset_after_the_last_chunk_is_a_complete_answer(fault_server: FaultServer) -> None:
    code, data, stderr = run_large(fault_server, "finishreset")
    assert code == 0, stderr
    assert data is not None
    large = data["sides"]["large"]
    assert large["error"] is None and large["finished"]["stop_reason"] == "stop"
    assert any(notice["kind"] == "closed_after_answer" and "after the answer was complete" in notice["message"]
               for notice in large["notices"])


def test_a_rate_limit_with_retry_after_ms_is_retried_then_answers(fault_server: FaultServer) -> None:
    code, data, stderr = run_large(fault_server, "429ms")
    assert code == 0, stderr
    assert data is not None
    large = data["sides"]["large"]
    assert large["text"] == "".join(WORDS)
    assert any(notice["kind"] == "rate_limited" and notice["attempt"] == 1 and notice["retry_after"] == 0.15
               and "retry 1" in notice["message"] for notice in large["notices"])


def test_a_stall_in_the_middle_prints_the_read_timeout(fault_server: FaultServer) -> None:
    code, data, _ = run_large(fault_server, "stallmid")
    assert code == 1
    assert data is not None
    error = data["sides"]["large"]["error"]
    assert error["kind"] == "timeout" and "sent nothing for 1 s in the middle of the answer" in error["message"]
