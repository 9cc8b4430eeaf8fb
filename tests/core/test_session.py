"""The Qt-free session: one input on the chosen sides, as a frozen trial, against the real engine on the
bundled model and llama-cpp-python's real server on loopback."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from lmscales.core import offline
from lmscales.core.endpoints import Endpoint
from lmscales.core.engines.local import LocalEngine
from lmscales.core.engines.remote import RemoteEngine, RemoteOptions
from lmscales.core.events import TextDelta
from lmscales.core.session import (
    Session,
    SessionBusyError,
    SessionEvent,
    SideEnded,
    SideQueued,
    SideStarted,
    SideStreamed,
    TrialEnded,
    TrialStarted,
    build_messages,
)
from lmscales.core.tasks import TaskInputError
from lmscales.core.trial import GenerationParams, TaskInput, Trial
from tests.conftest import SERVER_MODEL

pytestmark = pytest.mark.slow
QUICK = GenerationParams(max_tokens=16, temperature=0.0, seed=1)


class Recorder:
    """Every session event, in the order the session reported them (from its worker threads)."""

    def __init__(self) -> None:
        self.events: list[SessionEvent] = []
        self.lock = threading.Lock()

    def __call__(self, event: SessionEvent) -> None:
        with self.lock:
            self.events.append(event)

    def of(self, kind: type) -> list[SessionEvent]:
        with self.lock:
            return [event for event in self.events if isinstance(event, kind)]


@pytest.fixture(scope="module")
def second_engine(bundled_model: Path) -> Iterator[LocalEngine]:
    """The bundled model loaded a second time, with another thread count: a second side on this CPU."""
    local = LocalEngine(n_ctx=2048, n_threads=1)
    local.load(bundled_model)
    yield local
    local.close()


def test_two_gguf_sides_compare_offline(engine: LocalEngine, second_engine: LocalEngine) -> None:
    offline.enable()
    try:
        session = Session({"small": engine, "large": second_engine}, labels={"large": "Q4 again, 1 thread"})
        recorder = Recorder()
        session.subscribe(recorder)
        trial = session.run(TaskInput("translate", "Good morning, everyone.", target_lang="fr"), QUICK)
    finally:
        offline.disable()
    assert [r.side for r in trial.sides] == ["small", "large"]
    assert all(r.ok and r.text.strip() for r in trial.sides), [r.to_dict() for r in trial.sides]
    small, large = trial.sides
    assert small.engine is not None and large.engine is not None
    assert (small.engine.kind, large.engine.kind) == ("local", "local")
    assert small.engine.threads != large.engine.threads
    assert large.label == "Q4 again, 1 thread"
    assert small.cpu_seconds is not None and large.cpu_seconds is not None and small.cost is None
    started = recorder.of(TrialStarted)
    assert len(started) == 1 and started[0].trial_id == trial.id  # type: ignore[attr-defined]
    assert [e.side for e in recorder.of(SideEnded)] and recorder.of(TrialEnded)[0].trial is trial  # type: ignore[attr-defined]
    # Every streamed piece is in the answer, in order.
    for result in trial.sides:
        pieces = [e.event.text for e in recorder.of(SideStreamed)  # type: ignore[attr-defined]
                  if e.side == result.side and isinstance(e.event, TextDelta)]  # type: ignore[attr-defined]
        assert "".join(pieces) == result.text


def test_local_and_server_side_by_side_in_sequence(engine: LocalEngine, llama_server: str) -> None:
    remote = RemoteEngine(Endpoint(llama_server, SERVER_MODEL), RemoteOptions(context_tokens=2048))
    session = Session({"small": engine, "large": remote})
    recorder = Recorder()
    session.subscribe(recorder)
    trial = session.run(TaskInput("chat", "Name one colour."), QUICK, mode="sequential")
    assert trial.mode == "sequential" and {r.status for r in trial.sides} <= {"done", "length"}
    assert [e.side for e in recorder.of(SideQueued)] == ["large"]  # type: ignore[attr-defined]
    starts = recorder.of(SideStarted)
    ends = recorder.of(SideEnded)
    # One after the other: the large side starts only after the small one has ended.
    assert recorder.events.index(ends[0]) < recorder.events.index(starts[1])
    large = trial.side("large")
    assert large is not None and large.engine is not None and large.engine.kind == "remote"
    assert large.engine.host is not None and large.engine.host.startswith("127.0.0.1:")
    # a server on this computer costs no money, whatever it calls its model
    assert large.cost is not None and large.cost.usd == 0 and large.cost.on_this_computer


def test_chat_sides_keep_their_own_transcripts(engine: LocalEngine) -> None:
    session = Session({"small": engine})
    first = session.run(TaskInput("chat", "My name is Ada."), QUICK)
    second = session.run(TaskInput("chat", "What is my name?"), QUICK)
    assert (first.chat_turn, second.chat_turn) == (0, 1)
    history = session.transcripts["small"]
    assert [turn.user for turn in history] == ["My name is Ada.", "What is my name?"]
    assert history[0].assistant == first.sides[0].text
    messages = build_messages(TaskInput("chat", "And again?"), history)
    assert [m.role for m in messages] == ["system", "user", "assistant", "user", "assistant", "user"]
    session.new_chat()
    assert session.transcripts["small"] == []


def test_a_stop_from_the_first_delta_shows_nothing_after_it(engine: LocalEngine) -> None:
    session = Session({"small": engine})
    shown: list[str] = []

    def stop_at_first(event: SessionEvent) -> None:
        if isinstance(event, SideStreamed) and isinstance(event.event, TextDelta):
            shown.append(event.event.text)
            session.cancel()  # on the session's own thread, before the next event is looked at

    session.subscribe(stop_at_first)
    trial = session.run(TaskInput("chat", "Count from one to fifty."), GenerationParams(max_tokens=200, seed=1))
    result = trial.sides[0]
    assert result.status == "stopped"
    assert len(shown) == 1 and result.text == shown[0]
    assert result.finished is not None and len(result.finished.deltas) == 1


def test_a_stop_before_a_side_starts_stops_it(engine: LocalEngine, second_engine: LocalEngine) -> None:
    session = Session({"small": engine, "large": second_engine})
    gate = threading.Event()

    def stop_large_when_queued(event: SessionEvent) -> None:
        if isinstance(event, SideQueued):
            session.cancel("large")  # while the small side has not even started
            gate.set()

    session.subscribe(stop_large_when_queued)
    trial = session.run(TaskInput("chat", "Say hello."), QUICK, mode="sequential")
    assert gate.is_set()
    assert trial.side("small").status in ("done", "length")  # type: ignore[union-attr]
    large = trial.side("large")
    assert large is not None and large.status == "stopped" and large.text == ""
    assert [(n.kind, n.message) for n in large.notices] == [("stopped_before_start", "Stopped before it started.")]


def test_a_stop_right_after_submit_reaches_the_run(engine: LocalEngine) -> None:
    """The run's stop flag exists from submission: a Stop before the engine has even begun is not lost."""
    session = Session({"small": engine})
    session.submit(TaskInput("chat", "Write a long story about the sea."), GenerationParams(max_tokens=200))
    session.cancel()
    trial = session.wait(120)
    assert trial is not None and trial.sides[0].status == "stopped"
    assert trial.sides[0].finished is not None and len(trial.sides[0].finished.deltas) <= 1


def test_offline_refuses_a_side_beyond_this_computer_without_a_connection(engine: LocalEngine) -> None:
    remote = RemoteEngine(Endpoint("https://api.example.com/v1", "big-model", "sk" "-test-not-a-real-key-000"))
    session = Session({"small": engine, "large": remote}, is_offline=lambda: True)
    trial = session.run(TaskInput("chat", "Hi."), QUICK)
    large = trial.side("large")
    assert large is not None and large.status == "skipped"
    assert large.skipped is not None and "api.example.com" in large.skipped and "Offline mode" in large.skipped
    assert trial.side("small").ok  # type: ignore[union-attr]


def test_a_long_text_is_summarized_map_reduce_by_the_sides_context(llama_server: str) -> None:
    remote = RemoteEngine(Endpoint(llama_server, SERVER_MODEL), RemoteOptions(context_tokens=600))
    session = Session({"large": remote})
    text = " ".join(f"Paragraph {i}: the harbour town rebuilt its pier after the storm of {1900 + i}."
                    for i in range(60))
    trial = session.run(TaskInput("summarize", text, summary_length="sentence"), GenerationParams(max_tokens=24))
    large = trial.side("large")
    assert large is not None and large.ok, large.to_dict() if large else None
    assert large.finished is not None and large.finished.chunks > 1
    assert trial.input.text == text


def test_unusable_input_and_a_busy_session_are_refused_with_a_message(engine: LocalEngine) -> None:
    session = Session({"small": engine})
    with pytest.raises(TaskInputError, match="empty"):
        session.submit(TaskInput("chat", "   "), QUICK)
    with pytest.raises(ValueError, match="not ready"):
        session.submit(TaskInput("chat", "Hi"), QUICK, sides=("large",))
    session.submit(TaskInput("chat", "Tell me a long story."), GenerationParams(max_tokens=64))
    try:
        with pytest.raises(SessionBusyError, match="already running"):
            session.submit(TaskInput("chat", "Hi"), QUICK)
    finally:
        session.cancel()
        session.wait(60)


def test_a_broken_listener_does_not_end_the_run(engine: LocalEngine) -> None:
    kept: list[Trial] = []
    session = Session({"small": engine}, on_trial=kept.append)

    def broken(event: SessionEvent) -> None:
        raise RuntimeError("a view that fails")

    session.subscribe(broken)
    trial = session.run(TaskInput("translate", "Thank you.", target_lang="de"), QUICK)
    assert trial.sides[0].ok and kept == [trial]
