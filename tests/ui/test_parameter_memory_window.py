"""The window has one memory of refused parameters, its settings controller's: every large-side engine it
builds uses it (a swap of endpoint keeps what was learned), and another window with its own settings does not
see it. The fault server plays a model that refuses `temperature`: an engine that does not know it is
refused once and asks again (two POSTs), one that knows asks right the first time (one POST)."""

from __future__ import annotations

from pathlib import Path

from lmscales.core.endpoints import Endpoint
from lmscales.core.engines.remote import RemoteOptions
from lmscales.core.settings import Settings
from lmscales.core.workspace import Workspace
from lmscales.ui.main_window import MainWindow
from tests.conftest import wait_idle
from tests.support.fault_server import FaultServer


def posts(server: FaultServer) -> int:
    return sum(1 for r in server.requests if r[0] == "notemp" and r[1] == "POST")


def ask(qtbot, window: MainWindow, server: FaultServer) -> int:  # type: ignore[no-untyped-def]
    """Point the large side at the refusing model (a new engine each time), send, and count the POSTs."""
    before = posts(server)
    window.set_endpoint(Endpoint(server.url("notemp"), "fault-model"), RemoteOptions(read_timeout=10))
    window.tasks.chat_input.setPlainText("Hi")
    window.send(("large",))
    wait_idle(qtbot, window, timeout=20_000)
    trial = window.history_store.list()[-1]
    large = next(side for side in trial.sides if side.side == "large")
    assert large.finished is not None and large.finished.ignored_parameters == ("temperature",), large.error
    assert "This model ignores temperature" in window.panes["large"].status.text()
    return posts(server) - before


def window_on(qtbot, settings_path: Path) -> MainWindow:  # type: ignore[no-untyped-def]
    """A window whose small side has no model: only the large side (the fault server) runs."""
    window = MainWindow(Workspace(), settings=Settings(), settings_path=settings_path)
    qtbot.addWidget(window)
    return window


def test_the_window_remembers_a_refusal_in_its_one_memory_across_engines(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    window = window_on(qtbot, tmp_path / "first.json")
    with FaultServer() as server:
        assert ask(qtbot, window, server) == 2  # refused, then asked again without it
        engine = window.session.engines["large"]
        assert engine is not None and engine.memory is window.settings.parameter_memory  # type: ignore[attr-defined]
        # The same endpoint again builds a new engine; it uses the window's memory, so it asks right at once.
        assert ask(qtbot, window, server) == 1
        assert window.session.engines["large"] is not engine
        # Another window with settings of its own (no refusal kept yet) has its own memory: refused again.
        other = window_on(qtbot, tmp_path / "second.json")
        assert other.settings.parameter_memory is not window.settings.parameter_memory
        assert ask(qtbot, other, server) == 2
    for each in (window, other):
        each.settings.set_offline(False, remember=False)


def test_a_refusal_learned_on_the_run_thread_reaches_the_settings_on_the_gui_thread(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import threading

    window = window_on(qtbot, tmp_path / "settings.json")
    seen: list[tuple[threading.Thread, tuple[str, ...]]] = []
    window.settings.store.subscribe("endpoint.refused_parameters", lambda change: seen.append(
        (threading.current_thread(), change.new.endpoint.refused_parameters)))
    with FaultServer() as server:
        ask(qtbot, window, server)  # the engine learns the refusal on the session's run thread
    qtbot.waitUntil(lambda: bool(seen), timeout=5_000)
    thread, refused = seen[-1]
    assert thread is threading.main_thread()  # the settings and the widgets that listen change on the GUI thread
    assert any(entry.endswith("|temperature|") for entry in refused), refused
    assert "temperature" in (tmp_path / "settings.json").read_text("utf-8")  # kept for the next session
    window.settings.set_offline(False, remember=False)
