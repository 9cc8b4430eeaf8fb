"""`lmscales run` says what left this computer (`egress` per side in --json), holds sensitive input for a side
beyond this computer unless --send-sensitive, and fails closed with --no-remote (shown in --help of run and eval).

The endpoints beyond this computer are names that cannot resolve (`.invalid`): each refusal happens before any
connection, which the run proves by ending with the refusal, not a network error."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest

from tests.conftest import SERVER_MODEL
from tests.support.recording_proxy import RecordingProxy

pytestmark = pytest.mark.slow

UNREACHABLE = "https://api.example.invalid/v1"
EMAIL_INPUT = "Write a reply to jane.doe@example.com about the meeting."


def lmscales(*args: str, stdin: str = "Say hello.") -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if key not in ("LMSCALES_API_KEY", "OPENAI_API_KEY")}
    return subprocess.run([sys.executable, "-m", "lmscales", *args], input=stdin, capture_output=True, text=True,
                          check=False, timeout=300, env=env, encoding="utf-8")


def test_run_json_holds_each_sides_egress_and_the_request_the_server_received(llama_server: str) -> None:
    with RecordingProxy(llama_server) as proxy:
        result = lmscales("run", "--task", "chat", "--side", "both", "--base-url", proxy.base_url, "--model",
                          SERVER_MODEL, "--input", "-", "--json", "--max-tokens", "8", "--temperature", "0",
                          "--threads", "1", "--n-ctx", "512")
        proxy.wait_idle()
        received = proxy.received()
    assert result.returncode == 0, result.stderr
    data: dict[str, Any] = json.loads(result.stdout)
    large, small = data["sides"]["large"]["egress"], data["sides"]["small"]["egress"]
    assert set(large) >= {"host", "bytes_sent", "bytes_received", "request"}
    assert large["host"].startswith("127.0.0.1:")
    assert large["bytes_sent"] == len(received)
    assert large["request"].encode("utf-8") == received.partition(b"\r\n\r\n")[2]
    assert small["bytes_sent"] == 0 and "request" not in small and small["provenance"] == "measured"


@pytest.mark.parametrize("command", ["run", "eval"])
def test_no_remote_is_in_the_help_of_run_and_eval(command: str) -> None:
    result = lmscales(command, "--help")
    assert result.returncode == 0
    assert "--no-remote" in result.stdout and "beyond this computer" in result.stdout


def test_no_remote_refuses_a_side_beyond_this_computer_with_a_message() -> None:
    result = lmscales("run", "--task", "chat", "--side", "large", "--base-url", UNREACHABLE, "--model", "m",
                      "--input", "-", "--no-remote")
    assert result.returncode == 1
    assert "Not sent: the large side would send the input to api.example.invalid, beyond this computer" \
        in result.stderr
    assert "Never send to a remote side" in result.stderr


def test_no_remote_refuses_an_evaluation_with_a_remote_large_side() -> None:
    result = lmscales("eval", "--set", "translate", "--smoke", "--base-url", UNREACHABLE, "--model", "m",
                      "--no-remote")
    assert result.returncode == 1
    assert "Not sent: the large side would send the input to api.example.invalid" in result.stderr


def test_sensitive_input_is_held_for_a_remote_side_unless_send_sensitive() -> None:
    result = lmscales("run", "--task", "chat", "--side", "large", "--base-url", UNREACHABLE, "--model", "m",
                      "--input", "-", stdin=EMAIL_INPUT)
    assert result.returncode == 2
    assert "Not sent: The input holds an e-mail address (j•••@e•••.com)" in result.stderr
    assert "api.example.invalid" in result.stderr and "--send-sensitive" in result.stderr
    assert "jane.doe@example.com" not in result.stderr + result.stdout  # only a masked sample is ever shown
    # Allowed, it goes on to the connection (which fails: the name does not resolve).
    sent = lmscales("run", "--task", "chat", "--side", "large", "--base-url", UNREACHABLE, "--model", "m",
                    "--input", "-", "--send-sensitive", "--connect-timeout", "2", stdin=EMAIL_INPUT)
    assert sent.returncode == 1 and "Not sent" not in sent.stderr


def test_sensitive_input_is_not_held_for_a_server_on_this_computer(llama_server: str) -> None:
    result = lmscales("run", "--task", "chat", "--side", "large", "--base-url", llama_server, "--model", SERVER_MODEL,
                      "--input", "-", "--max-tokens", "4", stdin=EMAIL_INPUT)
    assert result.returncode == 0, result.stderr
    assert "Not sent" not in result.stderr


def test_the_evaluations_method_card_says_what_left_this_computer(llama_server: str) -> None:
    result = lmscales("eval", "--set", "chat", "--smoke", "--limit", "1", "--warmups", "0", "--threads", "1",
                      "--base-url", llama_server, "--model", SERVER_MODEL, "--max-tokens", "4", "--json",
                      "--no-history")
    assert result.returncode == 0, result.stderr
    sent = json.loads(result.stdout)["method"]["sent"]
    assert sent.startswith("The evaluation sent ") and f" to {llama_server.split('/')[2]}" in sent
    assert sent.endswith("; the small side sent nothing (measured).")
