"""Every engine says where its side runs (`EngineInfo.where`, `model_runs`, `on_this_computer`), and the rules
that depend on it read that: offline mode runs what stays on this computer (a recording of an API included) and
refuses an API."""

from __future__ import annotations

import dataclasses

import pytest

from lmscales.core.endpoints import Endpoint
from lmscales.core.engines.local import LocalEngine
from lmscales.core.engines.remote import RemoteEngine, RemoteOptions
from lmscales.core.engines.replay import ReplayEngine
from lmscales.core.session import Session
from lmscales.core.trial import GenerationParams, TaskInput
from tests.support.fault_server import FaultServer

ASK = TaskInput("chat", "Say hello.")
QUICK = GenerationParams(max_tokens=8, temperature=0.0)


@pytest.mark.slow
def test_the_local_engine_runs_on_this_cpu(engine: LocalEngine) -> None:
    info = engine.info
    assert info is not None
    assert (info.where, info.model_runs, info.on_this_computer) == ("this_cpu", "this_cpu", True)


def test_a_server_on_this_computer_and_an_api_beyond_it(fault_server: FaultServer) -> None:
    here = RemoteEngine(Endpoint(fault_server.url("ok"), "fault-model"), RemoteOptions()).info
    assert (here.where, here.on_this_computer) == ("this_computer", True)
    beyond = RemoteEngine(Endpoint("https://api.example.com/v1", "big-model"), RemoteOptions()).info  # not contacted
    assert (beyond.where, beyond.model_runs, beyond.on_this_computer) == ("remote", "remote", False)


def test_a_recording_runs_here_whatever_it_recorded(fault_server: FaultServer) -> None:
    """A replay of an API's answer: nothing leaves this computer now, but what it recorded ran at the API."""
    recorded = Session({"large": RemoteEngine(Endpoint(fault_server.url("ok"), "fault-model"), RemoteOptions())},
                       is_offline=lambda: False).run(ASK, QUICK, ("large",)).side("large")
    assert recorded is not None and recorded.engine is not None
    from_api = dataclasses.replace(recorded.engine, loopback=False, host="api.example.com")
    replay = ReplayEngine(dataclasses.replace(recorded, engine=from_api), speed=4.0).info
    assert (replay.where, replay.model_runs, replay.on_this_computer) == ("recording", "remote", True)


def test_offline_mode_refuses_the_api_and_runs_the_recording(fault_server: FaultServer) -> None:
    api = RemoteEngine(Endpoint("https://api.example.com/v1", "big-model"), RemoteOptions())
    recorded = Session({"large": RemoteEngine(Endpoint(fault_server.url("ok"), "fault-model"), RemoteOptions())},
                       is_offline=lambda: False).run(ASK, QUICK, ("large",)).side("large")
    assert recorded is not None and recorded.engine is not None
    from_api = dataclasses.replace(recorded, engine=dataclasses.replace(recorded.engine, loopback=False,
                                                                        host="api.example.com"))
    offline = Session({"small": ReplayEngine(from_api, speed=4.0), "large": api}, is_offline=lambda: True)
    trial = offline.run(ASK, QUICK, ("small", "large"))
    small, large = trial.side("small"), trial.side("large")
    assert small is not None and small.ok and small.recorded
    assert large is not None and large.status == "skipped" and "beyond this computer" in (large.skipped or "")
    assert "api.example.com" in (large.skipped or "")
