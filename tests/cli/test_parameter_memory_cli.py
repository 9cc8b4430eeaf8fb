"""A command-line run has one memory of refused parameters, its own: the large side and a judge endpoint share
it, and the next run (even in the same process) starts without it. The fault server plays a model that
refuses `temperature`: a run that does not know it is refused once and asks again (two POSTs)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lmscales import cli
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
    engines, _ = cli.open_sides(args, ("large",))
    later, _ = cli.open_sides(args, ("large",))
    try:
        assert cli._judge(args, engines) is not None
        # What the large side's model refused, the judge on the same model knows without being refused again.
        assert engines["judge"].memory is engines["large"].memory
        # Another run (another `open_sides`) has a memory of its own.
        assert later["large"].memory is not engines["large"].memory
    finally:
        for engine in (*engines.values(), *later.values()):
            engine.close()
