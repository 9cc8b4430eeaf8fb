"""The judge of an evaluation comes from one place (`Workspace.judge`, over `core.judge_choice`), used by the
command line and the window's Evaluate… dialog: the large side or a third endpoint built by the factory; never
the small model. Driven with no QApplication."""

from __future__ import annotations

import pytest

from lmscales import cli
from lmscales.core.endpoints import Endpoint
from lmscales.core.engines.factory import EndpointSpec
from lmscales.core.quality.judge import SMALL_MODEL_REFUSED, JudgeRefused
from lmscales.core.workspace import Workspace
from tests.support.fault_server import FaultServer


def test_the_small_model_is_never_the_judge(fault_server: FaultServer, capsys: pytest.CaptureFixture[str]) -> None:
    workspace = Workspace()
    try:
        with pytest.raises(JudgeRefused) as refused:
            workspace.judge("small")
        assert str(refused.value) == SMALL_MODEL_REFUSED
        assert str(refused.value).startswith("The small local model cannot be the judge:")
        with pytest.raises(JudgeRefused, match=r"^The large side is not set up, so it cannot judge\.$"):
            workspace.judge("large")
    finally:
        workspace.close()
    # The command line asks the workspace too, and says why (a usage error, before any item runs).
    code = cli.main(["eval", "--set", "translate", "--smoke", "--sides", "large", "--no-history", "--judge", "small",
                     "--base-url", fault_server.url("judgesmall"), "--model", "fault-model"])
    assert code == cli.EXIT_USAGE
    assert capsys.readouterr().err == f"lmscales: {SMALL_MODEL_REFUSED}\n"
    assert not [r for r in fault_server.requests if r[0] == "judgesmall"]


def test_a_judge_endpoint_is_built_by_the_factory_and_refused_offline_beyond_this_computer(
        fault_server: FaultServer) -> None:
    offline = [False]
    workspace = Workspace(is_offline=lambda: offline[0])
    try:
        judge = workspace.judge(EndpointSpec(Endpoint(base_url=fault_server.url("judge"), model="fault-model")))
        assert judge.model == "fault-model" and not judge.is_contestant
        assert judge.engine.memory is workspace.parameter_memory  # type: ignore[attr-defined]
        offline[0] = True
        with pytest.raises(JudgeRefused, match=r"^Offline mode keeps every connection on this computer"):
            workspace.judge(EndpointSpec(Endpoint(base_url="https://judge.example.com/v1", model="big")))
        with pytest.raises(JudgeRefused, match=r"^Judge: "):
            workspace.judge(EndpointSpec(Endpoint(base_url="not a url", model="big")))
    finally:
        workspace.close()
