"""`lmscales run` and `lmscales eval` take their shared options (engines, the large side, prices, generation)
from one definition with one set of defaults, and both honour them: the reasoning effort reaches the request
(the fault server keeps every request body), and prices go through the workspace (a per-model price, a
price file, a file that cannot be read)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from lmscales import cli
from lmscales.cli.options import CONNECT_TIMEOUT, EVAL_DEFAULTS, READ_TIMEOUT, REMOTE_CONTEXT, add_comparison_options
from lmscales.core.defaults import DEFAULT_N_CTX, GENERATION_DEFAULTS
from tests.support.fault_server import WORDS, FaultServer

# Every shared option with a value other than its default, so both commands must read each one.
EVERY_SHARED_OPTION = [
    "--gguf", "a.gguf", "--threads", "3", "--n-ctx", "1024", "--large-gguf", "b.gguf", "--large-threads", "2",
    "--base-url", "http://127.0.0.1:9/v1", "--model", "m", "--connect-timeout", "3", "--read-timeout", "4",
    "--remote-context", "4096", "--offline", "--no-remote", "--prices", "p.json", "--price-input", "1",
    "--price-output", "2",
    "--max-tokens", "9", "--temperature", "0.5", "--top-p", "0.5", "--seed", "5", "--reasoning-effort", "low",
]


def shared_options() -> dict[str, list[str]]:
    """The shared options' destinations and their flags, as the one definition makes them."""
    parser = argparse.ArgumentParser(add_help=False)
    add_comparison_options(parser)
    return {action.dest: action.option_strings for action in parser._actions}


def parsed(*argv: str) -> dict[str, object]:
    return vars(cli.make_parser().parse_args(list(argv)))


def test_run_and_eval_take_the_same_shared_options_with_one_set_of_defaults() -> None:
    shared = shared_options()
    assert {"reasoning_effort", "max_tokens", "base_url", "model_name", "prices", "large_gguf"} <= set(shared)
    flags = {flag for flag in EVERY_SHARED_OPTION if flag.startswith("--")}
    assert flags == {option for options in shared.values() for option in options}  # the list above is whole
    run = parsed("run", "--task", "chat")
    evaluate = parsed("eval", "--set", "translate")
    # Only what evaluation needs differently differs, and exactly as EVAL_DEFAULTS says.
    assert {dest for dest in shared if dest != "offline" and run[dest] != evaluate[dest]} == set(EVAL_DEFAULTS)
    assert all(evaluate[dest] == value for dest, value in EVAL_DEFAULTS.items())
    assert (run["max_tokens"], run["temperature"], run["top_p"], run["seed"], run["reasoning_effort"]) == (
        GENERATION_DEFAULTS.max_tokens, GENERATION_DEFAULTS.temperature, GENERATION_DEFAULTS.top_p,
        GENERATION_DEFAULTS.seed, None)
    assert (evaluate["top_p"], evaluate["reasoning_effort"]) == (GENERATION_DEFAULTS.top_p, None)
    for values in (run, evaluate):
        assert (values["connect_timeout"], values["read_timeout"], values["remote_context"], values["n_ctx"]) == (
            CONNECT_TIMEOUT, READ_TIMEOUT, REMOTE_CONTEXT, DEFAULT_N_CTX)
        assert values["offline"] is False
    # Every shared option given: both commands read the same values.
    run = parsed("run", "--task", "chat", *EVERY_SHARED_OPTION)
    evaluate = parsed("eval", "--set", "translate", *EVERY_SHARED_OPTION)
    assert {dest: run[dest] for dest in shared} == {dest: evaluate[dest] for dest in shared}
    assert run["reasoning_effort"] == "low" and run["offline"] is True and run["max_tokens"] == 9


@pytest.fixture
def no_key(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in ("LMSCALES_API_KEY", "OPENAI_API_KEY"):
        monkeypatch.delenv(key, raising=False)


def bodies(server: FaultServer, mode: str) -> list[dict[str, object]]:
    return [request[4] for request in server.requests if request[0] == mode and request[1] == "POST"]


@pytest.mark.parametrize("command", [
    ["run", "--task", "chat", "--side", "large", "--input", "{prompt}", "--json"],
    ["eval", "--set", "chat", "--smoke", "--limit", "1", "--warmups", "0", "--sides", "large", "--no-history",
     "--quiet", "--json"],
])
def test_the_reasoning_effort_reaches_the_request(command: list[str], fault_server: FaultServer, no_key: None,
                                                  tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    prompt = tmp_path / "prompt.txt"
    prompt.write_text("Say hello.", encoding="utf-8")
    mode = f"effort{command[0]}"  # a plain answering server; its own name, so only this command's requests count
    argv = [part.replace("{prompt}", str(prompt)) for part in command]
    code = cli.main([*argv, "--base-url", fault_server.url(mode), "--model", "fault-model",
                     "--reasoning-effort", "high"])
    out = capsys.readouterr()
    assert code == 0, out.err
    sent = bodies(fault_server, mode)
    assert sent and all(body.get("reasoning_effort") == "high" for body in sent), sent
    if command[0] == "eval":
        assert json.loads(out.out)["result"]["tasks"][0]["items"][0]["outputs"]["large"] == "".join(WORDS)


def large_cost(capsys: pytest.CaptureFixture[str]) -> dict[str, object]:
    out = json.loads(capsys.readouterr().out)
    cost: dict[str, object] = out["sides"]["large"]["cost"]
    return cost


def test_prices_come_from_the_options_through_the_workspace(fault_server: FaultServer, no_key: None,
                                                            tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    prompt = tmp_path / "prompt.txt"
    prompt.write_text("Say hello.", encoding="utf-8")
    # The "usage" server reports 21 prompt and 6 answer tokens; on this computer a model costs $0 unless priced.
    base = ["run", "--task", "chat", "--side", "large", "--input", str(prompt), "--json",
            "--base-url", fault_server.url("usage"), "--model", "fault-model"]
    assert cli.main(base) == 0
    assert large_cost(capsys)["usd"] == 0
    assert cli.main([*base, "--price-input", "1000000", "--price-output", "2000000"]) == 0
    cost = large_cost(capsys)
    assert (cost["usd"], cost["source"]) == (21 * 1 + 6 * 2, "your override")
    prices = tmp_path / "prices.json"
    prices.write_text(json.dumps({"models": {"fault-model": {"input": 3000000, "output": 0}}}), encoding="utf-8")
    assert cli.main([*base, "--prices", str(prices)]) == 0
    cost = large_cost(capsys)
    assert (cost["usd"], cost["source"]) == (21 * 3, "your override (prices.json)")
    # A file that cannot be read: said before anything is sent.
    prices.write_text("{not json", encoding="utf-8")
    sent = len(bodies(fault_server, "usage"))
    assert cli.main([*base, "--prices", str(prices)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"lmscales: The price overrides in {prices} are unreadable:"), err
    assert len(bodies(fault_server, "usage")) == sent
