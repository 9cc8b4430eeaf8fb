"""The window survives bad input: each case checks what the user sees, and that nothing is lost."""

from __future__ import annotations

import shutil
import signal
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest
from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QTextCursor
from PySide6.QtWidgets import QWidget

from lmscales.core.endpoints import Endpoint
from lmscales.core.engines.remote import RemoteOptions
from lmscales.core.tasks import MAX_SUMMARY_CHARS
from lmscales.ui.main_window import MainWindow
from tests.conftest import load_small, wait_idle, window_workspace
from tests.support.fault_server import FaultServer

pytestmark = pytest.mark.slow


class Paints(QObject):
    """Counts the paint events a widget gets: the window has drawn it again."""

    def __init__(self, widget: QWidget) -> None:
        super().__init__(widget)
        self.count = 0
        widget.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # Qt override
        if event.type() == QEvent.Type.Paint:
            self.count += 1
        return False


def test_a_one_megabyte_paste_arrives_whole_keeps_the_window_working_and_is_refused_clearly(  # type: ignore[no-untyped-def]
    qtbot, window: MainWindow
) -> None:
    window.tasks.set_task("summarize")
    box = window.tasks.summary_input
    paragraph = "The committee met again and discussed the harbour, the budget and the school. " * 12 + "\n\n"
    text = (paragraph * (1_048_576 // len(paragraph) + 1))[:1_048_576]
    changes: list[None] = []
    box.textChanged.connect(lambda: changes.append(None))
    paints = Paints(box.viewport())
    box.setPlainText(text)  # what a paste does
    # The whole text, taken in as one change (the window reacts once, not once per line or paragraph).
    assert box.toPlainText() == text and len(changes) == 1
    assert "1,048,576 characters" in window.tasks.summary_size.text()
    # The window goes on working with it: it draws the pasted text, and the next key typed lands at its end.
    qtbot.waitUntil(lambda: paints.count > 0)
    box.moveCursor(QTextCursor.MoveOperation.End)
    qtbot.keyClick(box, Qt.Key.Key_Period)
    assert box.toPlainText() == text + "." and len(changes) == 2
    assert "1,048,577 characters" in window.tasks.summary_size.text()

    started: list[object] = []
    window.bridge.trialStarted.connect(started.append)
    kept = len(window.history_store.list())
    window.send(("small",))
    # Refused on the spot and in words, before anything runs: no run, no trial, nothing kept, the text still there.
    assert f"up to {MAX_SUMMARY_CHARS:,}" in window.hint.text() and "1,048,577 characters" in window.hint.text()
    assert not window.running and not window.bridge.session.running
    assert started == [] and len(window.history_store.list()) == kept
    assert box.toPlainText() == text + "."


def test_the_engine_killed_mid_run_is_reported_and_the_next_run_works(qtbot, window: MainWindow) -> None:  # type: ignore[no-untyped-def]
    window.generation.max_tokens.setValue(300)
    qtbot.keyClicks(window.tasks.chat_input, "Write a long story about a fox.")
    window.send(("small",))
    qtbot.waitUntil(lambda: len(window.panes["small"].view.answer) > 10, timeout=30_000)
    pid = window.workspace.local_engine("small").pid
    assert pid is not None
    psutil.Process(pid).kill()  # SIGKILL where there are signals, TerminateProcess on Windows
    wait_idle(qtbot, window)
    status = window.panes["small"].status.text()
    killed = "local engine crashed (signal 9" if hasattr(signal, "SIGKILL") else "local engine exited unexpectedly"
    assert killed in status and "next run starts a new engine" in status
    assert window.panes["small"].view.answer  # the partial answer is kept
    window.generation.max_tokens.setValue(8)
    qtbot.keyClicks(window.tasks.chat_input, "Hello again")
    window.send(("small",))
    wait_idle(qtbot, window)
    assert window.panes["small"].status.text().startswith(("Done", "Reached"))
    assert window.workspace.local_engine("small").pid not in (None, pid)


@pytest.mark.skipif(sys.platform == "win32", reason="Windows does not let a file another process holds open be deleted")
def test_a_model_deleted_while_loaded(qtbot, window: MainWindow, bundled_model: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    copy = tmp_path / "copy.gguf"
    shutil.copy(bundled_model, copy)
    with qtbot.waitSignal(window.loaders["small"].loaded, timeout=60_000):
        window.load_model(str(copy))
    qtbot.waitUntil(lambda: not window.loaders["small"].busy)
    copy.unlink()
    qtbot.keyClicks(window.tasks.chat_input, "Still there?")
    window.send(("small",))  # the open file keeps working until the engine has to reopen it
    wait_idle(qtbot, window)
    psutil.Process(window.workspace.local_engine("small").pid).kill()  # type: ignore[arg-type]
    qtbot.waitUntil(lambda: not window.workspace.local_engine("small").alive, timeout=10_000)
    qtbot.keyClicks(window.tasks.chat_input, "And now?")
    window.send(("small",))
    wait_idle(qtbot, window)
    status = window.panes["small"].status.text()
    assert "copy.gguf" in status and "not found" in status
    with qtbot.waitSignal(window.loaders["small"].loaded, timeout=60_000):  # a model can be opened again
        window.load_model(str(bundled_model))


def test_garbage_from_the_large_side_stays_in_its_pane(qtbot, window: MainWindow) -> None:  # type: ignore[no-untyped-def]
    with FaultServer() as server:
        for mode, expected in (("malformed", "malformed chunk"), ("cut", "broke in the middle"),
                               ("500", "server error (HTTP 500)")):
            window.set_endpoint(Endpoint(server.url(mode), "fault-model"), RemoteOptions())
            qtbot.keyClicks(window.tasks.chat_input, "Hi")
            window.send(("small", "large"))
            wait_idle(qtbot, window)
            assert expected in window.panes["large"].status.text(), mode
            assert window.panes["small"].status.text().startswith(("Done", "Reached")), mode


def _engine_children() -> list[psutil.Process]:
    """Spawned engine processes (not multiprocessing's resource tracker, not the test server)."""
    return [p for p in psutil.Process().children(recursive=True) if "spawn_main" in " ".join(p.cmdline())]


def test_rapid_sends_stops_task_switches_and_close_mid_stream(qtbot, bundled_model: Path) -> None:  # type: ignore[no-untyped-def]

    threads_before = threading.active_count()
    workspace = window_workspace(bundled_model, n_ctx=1024)
    window = MainWindow(workspace)
    qtbot.addWidget(window)
    window.start_sampling()
    load_small(qtbot, window, bundled_model)
    window.generation.max_tokens.setValue(200)
    for round_number in range(15):
        window.tasks.chat_input.setPlainText(f"Story number {round_number}")
        window.send(("small",))
        qtbot.wait(20 + (round_number % 4) * 30)
        if round_number % 3 == 0:
            window.tasks.setCurrentIndex((round_number // 3) % 3)  # switch tasks mid-stream
        window.stop()
        wait_idle(qtbot, window, timeout=10_000)
        window.tasks.set_task("chat")
    assert window.history.row_count() == 15
    window.tasks.set_task("chat")
    window.tasks.chat_input.setPlainText("One more, closed mid-stream")
    window.send(("small",))
    qtbot.waitUntil(lambda: bool(window.panes["small"].view.answer), timeout=30_000)
    children = _engine_children()
    assert children
    window.close()  # mid-stream
    window.stop()
    window.shutdown()
    workspace.close()
    _, alive = psutil.wait_procs(children, timeout=5)
    assert not alive, "an engine process outlived the window"
    deadline = time.monotonic() + 5
    while threading.active_count() > threads_before and time.monotonic() < deadline:
        qtbot.wait(50)
    leaked = [t.name for t in threading.enumerate()][threads_before:]
    assert threading.active_count() <= threads_before, f"threads left behind: {leaked}"
