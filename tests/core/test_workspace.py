"""The Qt-free application model: slots built through one factory, the readiness rules as data, the history
and recorder fed by the session, offline state and prices, driven with no QApplication."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from lmscales.core import offline
from lmscales.core.endpoints import Endpoint
from lmscales.core.engines.factory import EndpointSpec, GgufSpec
from lmscales.core.history import TrialHistory
from lmscales.core.trial import GenerationParams, TaskInput
from lmscales.core.workspace import (
    OfflineChanged,
    SlotChanged,
    TrialKept,
    TrialNotKept,
    Workspace,
    WorkspaceEvent,
)
from tests.conftest import SERVER_MODEL, TEST_THREADS

SHORT = GenerationParams(max_tokens=8, temperature=0.0, seed=1)
HELLO = TaskInput(task="chat", text="Say hello.")


def test_an_empty_workspace_says_why_nothing_can_be_sent() -> None:
    workspace = Workspace()
    assert workspace.can_send().reason == "Neither model is ready yet."
    assert workspace.can_send(("large",)).reason == "The large side is not set up."
    assert workspace.can_send(has_text=False).reason == "Type or paste some text first."
    assert not workspace.can_send().ok
    assert workspace.engine("small") is None and workspace.engine("large") is None


def test_an_endpoint_is_ready_at_once_and_its_trial_is_kept(llama_server: str, tmp_path: Path) -> None:
    history = TrialHistory.open(tmp_path / "history.jsonl")
    workspace = Workspace(history=history)
    events: list[WorkspaceEvent] = []
    workspace.subscribe(events.append)
    workspace.set_slot("large", EndpointSpec(Endpoint(base_url=llama_server, model=SERVER_MODEL)))
    assert isinstance(events[-1], SlotChanged) and events[-1].info is not None
    assert events[-1].info.kind == "remote" and events[-1].info.loopback
    readiness = workspace.can_send()
    assert readiness.sides == ("large",)
    assert readiness.reason == "The small side is not set up. Only the large side runs."
    trial = workspace.session.run(HELLO, SHORT, readiness.sides)
    assert trial.sides[0].error is None and trial.sides[0].text
    assert [type(event) for event in events[-1:]] == [TrialKept]
    assert TrialHistory.open(tmp_path / "history.jsonl").get(trial.id) is not None
    assert workspace.recorder.trials[-1].id == trial.id
    workspace.close()


def test_a_gguf_slot_is_ready_only_once_loaded_and_keeps_its_engine_across_files(bundled_model: Path,
                                                                                   tmp_path: Path) -> None:
    workspace = Workspace()
    engine = workspace.set_slot("small", GgufSpec(str(bundled_model), n_ctx=1024, threads=TEST_THREADS))
    try:
        assert workspace.can_send(("small",)).reason == "The small side has no model loaded."
        model = workspace.load("small")
        assert model.n_ctx == 1024
        assert workspace.can_send(("small",)).sides == ("small",)
        # A second file that cannot load: the slot keeps its engine and the model it had.
        broken = tmp_path / "broken.gguf"
        broken.write_bytes(b"not a gguf")
        assert workspace.set_slot("small", GgufSpec(str(broken), n_ctx=1024, threads=TEST_THREADS)) is engine
        from lmscales.core.engines.local import LoadError

        with pytest.raises(LoadError):
            workspace.load("small")
        assert workspace.info("small") is not None and workspace.info("small").path == str(bundled_model.resolve())
        trial = workspace.session.run(HELLO, SHORT, ("small",))
        assert trial.sides[0].text
    finally:
        workspace.close()


def test_a_trial_the_history_cannot_write_is_reported_not_kept(llama_server: str, tmp_path: Path) -> None:
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the history's folder should be")
    workspace = Workspace(history=TrialHistory(blocked / "history.jsonl"))
    events: list[WorkspaceEvent] = []
    workspace.subscribe(events.append)
    workspace.set_slot("large", EndpointSpec(Endpoint(base_url=llama_server, model=SERVER_MODEL)))
    trial = workspace.session.run(HELLO, SHORT, ("large",))
    not_kept = [event for event in events if isinstance(event, TrialNotKept)]
    assert [event.trial.id for event in not_kept] == [trial.id]
    assert not_kept[0].reason
    workspace.close()


def test_offline_mode_is_workspace_state_with_an_event() -> None:
    workspace = Workspace()
    events: list[WorkspaceEvent] = []
    workspace.subscribe(events.append)
    workspace.set_slot("large", EndpointSpec(Endpoint(base_url="https://api.example.com/v1", model="m",
                                                      api_key="sk" "-test")))
    try:
        assert workspace.ready("large")
        workspace.set_offline(True)
        assert offline.enabled() and workspace.offline
        assert not workspace.ready("large")  # beyond this computer: refused offline
        assert OfflineChanged(True) in events
    finally:
        workspace.set_offline(False)
    assert not offline.enabled()
    assert events[-1] == OfflineChanged(False)


def test_price_overrides_replace_the_sessions_table() -> None:
    workspace = Workspace()
    table = workspace.set_price_overrides([("my-model", 1.0, 2.0)])
    assert workspace.session.prices is table
    price = table.lookup("my-model")
    assert price is not None and price.output_per_million == 2.0


def test_importing_the_workspace_loads_neither_engine_nor_the_sdk() -> None:
    """Start-up: the factory imports an engine's module when a slot first needs it."""
    code = ("import sys, lmscales.core.workspace as w; w.Workspace(); "
            "print(sorted(m for m in ('openai', 'llama_cpp', 'lmscales.core.engines.local', "
            "'lmscales.core.engines.remote', 'PySide6') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_a_recording_borrows_a_slot_and_gives_back_the_engine_it_held(llama_server: str) -> None:
    """A replay must not close the model a slot holds: the slot gets the same engine back, and the lent
    replay engine is closed."""
    from lmscales.core.engines.factory import ReplaySpec

    workspace = Workspace()
    held = workspace.set_slot("large", EndpointSpec(Endpoint(base_url=llama_server, model=SERVER_MODEL)))
    recorded = workspace.session.run(HELLO, SHORT, ("large",))
    give_back = workspace.lend({"large": ReplaySpec(recorded.sides[0], speed=4.0)})
    assert workspace.engine("large") is not held
    assert workspace.info("large") is not None and workspace.info("large").recorded
    replayed = workspace.session.run(HELLO, SHORT, ("large",))
    assert replayed.sides[0].text == recorded.sides[0].text and replayed.sides[0].recorded
    give_back()
    assert workspace.engine("large") is held
    assert not workspace.info("large").recorded
    assert workspace.session.run(HELLO, SHORT, ("large",)).sides[0].error is None  # the held engine still works
    workspace.close()


def test_a_swap_asked_for_during_a_run_waits_for_the_controlling_thread(llama_server: str) -> None:
    """The session's worker never swaps a slot (a new run could start between its check and the swap): the
    swap is queued, the side is stopped, and `apply_pending` on the controlling thread puts it in."""
    workspace = Workspace()
    first = workspace.set_slot("large", EndpointSpec(Endpoint(base_url=llama_server, model=SERVER_MODEL)))
    workspace.session.submit(HELLO, GenerationParams(max_tokens=64, temperature=0.0, seed=1), ("large",))
    second = EndpointSpec(Endpoint(base_url=llama_server, model=SERVER_MODEL, name="second"))
    assert workspace.set_slot_when_idle("large", second) is False
    assert workspace.session.wait(60) is not None
    assert workspace.engine("large") is first and workspace.pending("large")
    workspace.apply_pending()
    assert workspace.engine("large") is not first and workspace.specs["large"] == second
    workspace.close()
