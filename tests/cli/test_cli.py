"""The headless interface, run as a user runs it: a subprocess, its exit code, stdout and stderr."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def lmscales(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lmscales", *args],
        input=stdin, capture_output=True, text=True, check=False, timeout=240,
    )


def test_self_test_runs_each_task() -> None:
    result = lmscales("self-test", "--threads", "2")
    assert result.returncode == 0, result.stdout + result.stderr
    summary = json.loads(result.stdout)
    assert summary["ok"] is True
    assert summary["model"]["architecture"] == "llama"
    assert set(summary["tasks"]) == {"chat", "summarize", "translate"}
    for entry in summary["tasks"].values():
        assert entry["text"].strip() and entry["status"] in ("done", "length")
        assert entry["metrics"]["output_tokens"]["provenance"] == "measured"


@pytest.mark.parametrize(
    ("task", "extra", "text"),
    [
        ("chat", [], "What is two plus two?"),
        ("summarize", ["--length", "sentence"], "The cat sat on the mat all day. It was warm and happy."),
        ("translate", ["--target-lang", "de"], "Good morning, friends."),
    ],
)
def test_run_json(task: str, extra: list[str], text: str) -> None:
    result = lmscales("run", "--task", task, "--side", "small", "--input", "-", "--json",
                      "--max-tokens", "24", "--threads", "2", *extra, stdin=text)
    assert result.returncode == 0, result.stderr
    trial = json.loads(result.stdout)
    assert trial["task"] == task and trial["input"]["text"] == text and list(trial["sides"]) == ["small"]
    data = trial["sides"]["small"]
    assert data["status"] in ("done", "length") and data["engine"]["kind"] == "local"
    assert data["text"].strip()
    m = data["metrics"]
    assert m["time_to_first_token"]["value"] > 0
    assert m["end_to_end"]["value"] >= m["time_to_first_token"]["value"]
    assert m["native_decode_rate"]["value"] > 0


def test_run_multi_turn_chat_from_json(tmp_path: Path) -> None:
    conversation = [
        {"role": "user", "content": "My name is Ada."},
        {"role": "assistant", "content": "Nice to meet you, Ada."},
        {"role": "user", "content": "What is my name?"},
    ]
    path = tmp_path / "chat.json"
    path.write_text(json.dumps(conversation))
    result = lmscales("run", "--task", "chat", "--input", str(path), "--json", "--max-tokens", "16",
                      "--temperature", "0", "--threads", "2")
    assert result.returncode == 0, result.stderr
    trial = json.loads(result.stdout)
    assert [m["role"] for m in trial["input"]["messages"]] == ["user", "assistant", "user"]
    assert trial["sides"]["small"]["metrics"]["prompt_tokens"]["value"] > 20


def test_models_info_json(bundled_model: Path) -> None:
    result = lmscales("models", "info", str(bundled_model), "--json")
    assert result.returncode == 0
    info = json.loads(result.stdout)
    assert info["quantization"] == "Q4_1" and info["parameters_label"] == "135M"


@pytest.mark.parametrize(
    ("args", "stdin", "expected"),
    [
        (["run", "--task", "chat"], None, "No input"),
        (["run", "--task", "chat", "--input", "/nonexistent/file.txt"], None, "Input file not found"),
        (["run", "--task", "summarize", "--input", "-"], "   ", "empty"),
        (["models", "info", "/nonexistent.gguf"], None, "Model file not found"),
    ],
)
def test_user_errors_are_one_clear_line(args: list[str], stdin: str | None, expected: str) -> None:
    result = lmscales(*args, stdin=stdin)
    assert result.returncode != 0
    assert expected in result.stderr
    assert "Traceback" not in result.stderr


def test_non_utf8_input(tmp_path: Path) -> None:
    path = tmp_path / "latin1.txt"
    path.write_bytes("café crème".encode("latin-1"))
    result = lmscales("run", "--task", "summarize", "--input", str(path))
    assert result.returncode == 2
    assert "is not UTF-8 text" in result.stderr and "Traceback" not in result.stderr


def test_bad_model_on_the_command_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.gguf"
    path.write_bytes(b"")
    result = lmscales("run", "--task", "chat", "--input", "-", "--gguf", str(path), stdin="hi")
    assert result.returncode == 1
    assert "is empty" in result.stderr and "Traceback" not in result.stderr


def test_run_both_sides_against_the_real_server(llama_server: str) -> None:
    result = lmscales("run", "--task", "translate", "--target-lang", "fr", "--side", "both", "--base-url",
                      llama_server, "--model", "smollm2-server", "--input", "-", "--json", "--max-tokens", "24",
                      "--threads", "1", stdin="Good night, and thank you.")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    local, remote = data["sides"]["small"], data["sides"]["large"]
    assert local["status"] in ("done", "length") and remote["status"] in ("done", "length")
    assert local["text"].strip() and remote["text"].strip()
    assert remote["engine"]["model"] == "smollm2-server" and remote["engine"]["kind"] == "remote"
    assert remote["metrics"]["output_tokens"]["provenance"] == "estimated"
    assert remote["cost"]["usd"] == 0  # a server on this computer: no money, whatever its model is called
    assert remote["finished"]["bytes_received"] > 0


def test_run_remote_without_endpoint_is_a_usage_error() -> None:
    result = lmscales("run", "--task", "chat", "--side", "large", "--input", "-", stdin="hi")
    assert result.returncode == 2 and "--base-url URL and --model NAME" in result.stderr


def test_remote_key_stays_out_of_the_output(fault_server) -> None:  # type: ignore[no-untyped-def]
    """The key reaches the server (its request log shows it) and never the output, on success or failure."""
    import os

    secret = "sk" "-cli-SECRET-0123456789abcdef"
    for mode in ("ok", "401"):
        result = subprocess.run(
            [sys.executable, "-m", "lmscales", "run", "--task", "chat", "--side", "large", "--base-url",
             fault_server.url(mode), "--model", "fault-model", "--input", "-", "--json", "--max-tokens", "8"],
            input="hi", capture_output=True, text=True, check=False, timeout=120,
            env={**os.environ, "LMSCALES_API_KEY": secret},
        )
        headers = {key.lower(): value for key, value in fault_server.requests[-1][3].items()}
        assert headers.get("authorization") == f"Bearer {secret}"  # the key did reach the CLI and the server
        assert result.returncode == (0 if mode == "ok" else 1), result.stderr
        assert secret not in result.stdout and secret not in result.stderr
        assert "cli-SECRET" not in result.stdout + result.stderr


def test_two_gguf_sides_from_the_command_line_offline(bundled_model: Path) -> None:
    result = lmscales("--offline", "run", "--task", "chat", "--side", "both", "--large-gguf", str(bundled_model),
                      "--large-threads", "1", "--threads", "2", "--input", "-", "--json", "--max-tokens", "12",
                      stdin="Say hi.")
    assert result.returncode == 0, result.stderr
    sides = json.loads(result.stdout)["sides"]
    assert sides["small"]["engine"]["threads"] == 2 and sides["large"]["engine"]["threads"] == 1
    assert sides["large"]["engine"]["kind"] == "local" and sides["large"]["text"].strip()


def test_run_starts_from_the_shared_generation_defaults() -> None:
    from lmscales.cli import make_parser
    from lmscales.core.defaults import DEFAULT_N_CTX, GENERATION_DEFAULTS

    args = make_parser().parse_args(["run", "--task", "chat"])
    assert (args.max_tokens, args.temperature, args.top_p, args.seed, args.n_ctx) == (
        GENERATION_DEFAULTS.max_tokens, GENERATION_DEFAULTS.temperature, GENERATION_DEFAULTS.top_p,
        GENERATION_DEFAULTS.seed, DEFAULT_N_CTX)
