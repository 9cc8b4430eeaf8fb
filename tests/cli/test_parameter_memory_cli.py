"""A command-line run has one memory of refused parameters, its own: the large side and a judge endpoint (both
built by the run's workspace) share it, and the next run (even in the same process) starts without it. The fault
server plays a model that refuses `temperature`: a run that does not know it is refused once and asks again (two
POSTs)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lmscales import cli
from lmscales.cli.sides import judge, open_workspace
from tests.support.fault_server import FaultServer


def posts(server: FaultServer) -> int:
    return sum(1 for r in server.requests if r[0] == "notemp" and r[1] == "POST")


def test_each_run_has_its_own_memory(fault_server: FaultServer, monkeypatch: pytest.MonkeyPatch,
                                     capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    for key in ("LMSCALES_API_KEY", "OPENAI_API_KEY"):
        monkeypatch.delenv(key, raising=False)
    prompt = tmp_path / "prompt.txt"
    prompt.write_text("Say hello.", encoding="utf-8")
    for _ in range(2):
        before = posts(fault_server)
        code = cli.main(["run", "--task", "chat", "--side", "large", "--base-url", fault_server.url("notemp"),
                         "--model", "fault-model", "--input", str(prompt), "--json", "--max-tokens", "16",
                         "--read-timeout", "10"])
        out = capsys.readouterr().out
        assert code == 0, out
        large = json.loads(out)["sides"]["large"]
        assert large["finished"]["ignored_parameters"] == ["temperature"]
        # Refused, then asked again without it: the run before left nothing behind in this process.
        assert posts(fault_server) - before == 2


def test_a_judge_endpoint_shares_the_runs_memory(fault_server: FaultServer,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    for key in ("LMSCALES_API_KEY", "OPENAI_API_KEY"):
        monkeypatch.delenv(key, raising=False)
    url = fault_server.url("notemp")
    args = cli.make_parser().parse_args(["eval", "--set", "translate", "--side", "large", "--base-url", url,
                                         "--model", "fault-model", "--judge", url, "--judge-model", "fault-model"])
    workspace = open_workspace(args, ("large",))
    later = open_workspace(args, ("large",))
    try:
        made = judge(args, workspace, ("large",), url)
        assert made is not None and made.engine is not workspace.engine("large")  # a third engine
        large = workspace.engine("large")
        # What the large side's model refused, the judge on the same model knows without being refused again.
        assert made.engine.memory is large.memory  # type: ignore[attr-defined]
        # Another run (another workspace) has a memory of its own.
        assert later.engine("large").memory is not large.memory  # type: ignore[union-attr]
    finally:
        workspace.close()
        later.close()
