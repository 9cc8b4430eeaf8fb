"""The command line fed what a careless or hostile user feeds it: bytes that are not UTF-8 on standard input,
chat JSON an engine cannot template, out-of-range numbers, odd set files. Each ends in one clear line on stderr
and exit status 2 (or runs, where the input is fine), never a traceback or a crashed engine."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def lmscales(*args: str, stdin: bytes | str | None = None, data_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LMSCALES_DATA_DIR": str(data_dir)}
    data = stdin.encode("utf-8") if isinstance(stdin, str) else stdin
    result = subprocess.run([sys.executable, "-m", "lmscales", *args], input=data, capture_output=True,
                            check=False, timeout=300, env=env)
    return subprocess.CompletedProcess(result.args, result.returncode, result.stdout.decode("utf-8", "replace"),
                                       result.stderr.decode("utf-8", "replace"))


def assert_clean_refusal(result: subprocess.CompletedProcess[str], message: str) -> None:
    assert result.returncode == 2, result.stderr
    assert message in result.stderr, result.stderr
    assert "Traceback" not in result.stderr and "exited unexpectedly" not in result.stderr, result.stderr


SMALL_RUN = ("run", "--side", "small", "--threads", "1", "--max-tokens", "8", "--input", "-")


def test_bytes_on_standard_input_that_are_not_utf8_get_the_same_message_as_a_file(tmp_path: Path) -> None:
    result = lmscales(*SMALL_RUN, "--task", "translate", stdin=b"Hi \xff\n", data_dir=tmp_path)
    assert_clean_refusal(result, "lmscales: The standard input is not UTF-8 text (byte 3 cannot be decoded). "
                                 "Save it as UTF-8 and try again.")
    path = tmp_path / "input.txt"
    path.write_bytes(b"Hi \xff\n")
    from_file = lmscales(*SMALL_RUN[:-1], str(path), "--task", "translate", data_dir=tmp_path)
    assert_clean_refusal(from_file, f"lmscales: {path} is not UTF-8 text (byte 3 cannot be decoded).")


@pytest.mark.parametrize(("conversation", "message"), [
    ('[{"role":"user","content":123}]',
     "lmscales: Chat input, message 1 has content 123; the content must be text (a JSON string)."),
    ('[{"role":"user","content":{"text":"hi"}}]', 'message 1 has content {"text": "hi"}; the content must be text'),
    ('[{"role":"bot","content":"hi"}]',
     'lmscales: Chat input, message 1 has role "bot"; use "system", "user" or "assistant".'),
])
@pytest.mark.parametrize("side", ["small", "large"])
def test_chat_json_an_engine_cannot_template_is_refused_before_any_side_runs(
        tmp_path: Path, conversation: str, message: str, side: str) -> None:
    # The large side points at a closed loopback port: a request sent at all would fail with a connection error.
    result = lmscales("run", "--task", "chat", "--side", side, "--threads", "1", "--max-tokens", "8",
                      "--base-url", "http://127.0.0.1:9/v1", "--model", "any", "--input", "-",
                      stdin=conversation, data_dir=tmp_path)
    assert_clean_refusal(result, message)


def test_a_plain_message_that_starts_with_a_bracket_is_one_turn(tmp_path: Path) -> None:
    result = lmscales(*SMALL_RUN, "--task", "chat", "--json", "--temperature", "0", stdin="[urgent] call me",
                      data_dir=tmp_path)
    assert result.returncode == 0, result.stderr
    trial = json.loads(result.stdout)
    assert trial["input"]["text"] == "[urgent] call me" and trial["input"]["messages"] is None
    assert trial["sides"]["small"]["text"].strip()


@pytest.mark.parametrize("limit", ["0", "-1"])
def test_a_limit_that_is_not_positive_is_a_usage_error(tmp_path: Path, limit: str) -> None:
    result = lmscales("eval", "--set", "chat-smoke", "--sides", "small", "--limit", limit, "--warmups", "0",
                      "--threads", "1", "--max-tokens", "4", "--no-history", data_dir=tmp_path)
    assert_clean_refusal(result, f"lmscales eval: error: argument --limit: must be at least 1, not {limit}")


@pytest.mark.parametrize("n_ctx", ["-5", "99999999"])
def test_a_context_size_out_of_range_is_refused_without_blaming_the_model(tmp_path: Path, n_ctx: str) -> None:
    result = lmscales(*SMALL_RUN, "--task", "chat", "--n-ctx", n_ctx, stdin="hi", data_dir=tmp_path)
    assert_clean_refusal(result, f"argument --n-ctx: the context must be between 256 and 1,048,576 tokens, not "
                                 f"{int(n_ctx):,}")
    assert "damaged" not in result.stderr


@pytest.mark.parametrize("value", ["nan", "inf", "-1", "3"])
@pytest.mark.parametrize("command", ["run", "eval"])
def test_a_temperature_that_is_not_a_number_in_range_is_refused(tmp_path: Path, value: str, command: str) -> None:
    args = (*SMALL_RUN, "--task", "chat") if command == "run" else (
        "eval", "--set", "chat-smoke", "--sides", "small", "--limit", "1", "--warmups", "0", "--threads", "1",
        "--max-tokens", "4", "--no-history")
    result = lmscales(*args, "--temperature", value, stdin="hi", data_dir=tmp_path)
    assert_clean_refusal(result, f"argument --temperature: must be a number from 0 to 2, not {value}")


def test_a_set_with_a_bom_runs_and_one_side_on_one_item_reads_right(tmp_path: Path) -> None:
    path = tmp_path / "mine.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + b'{"id": "hi", "task": "chat", "input": "Say hello.", "answers": ["hello"]}\n')
    result = lmscales("eval", "--set", str(path), "--sides", "small", "--warmups", "0", "--threads", "1",
                      "--max-tokens", "8", "--no-history", data_dir=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ("Only the small model ran on this prompt (free: it runs on this computer), so "
                                     "there is nothing to compare it with.")
    assert "1 comparison in" in result.stderr and "Traceback" not in result.stderr


def test_a_set_nested_too_deeply_is_named_not_a_traceback(tmp_path: Path) -> None:
    path = tmp_path / "deep.jsonl"
    path.write_text("[" * 100_000 + "]" * 100_000 + "\n", encoding="utf-8")
    result = lmscales("eval", "--set", str(path), "--sides", "small", "--no-history", data_dir=tmp_path)
    assert_clean_refusal(result, "lmscales: deep.jsonl line 1: the JSON is nested too deeply to read")
