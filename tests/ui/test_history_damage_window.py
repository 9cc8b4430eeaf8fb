"""The window on a damaged history file and on a data folder that cannot keep trials: it opens with every
readable comparison, names the skipped lines in a notice that stays in the status bar, and names each
comparison not kept (a full disk, a read-only folder), with the real engine on the bundled model."""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from lmscales.core.history import TrialHistory
from lmscales.core.logs import close_logging
from lmscales.core.workspace import Workspace
from lmscales.ui.crash import CrashReporter
from lmscales.ui.main_window import MainWindow
from tests.conftest import load_small, wait_idle, window_workspace
from tests.core.test_history import trial
from tests.core.test_history_damage import damaged_lines
from tests.support.small_disk import full_disk, read_only

pytestmark = pytest.mark.slow


@pytest.fixture
def folders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The app's data, settings and log folders, this test's own; returns the data folder."""
    monkeypatch.setenv("LMSCALES_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("LMSCALES_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("LMSCALES_LOG_DIR", str(tmp_path / "logs"))
    (tmp_path / "data").mkdir()
    return tmp_path / "data"


@pytest.fixture
def started(qtbot) -> Iterator[Callable[[], MainWindow]]:  # type: ignore[no-untyped-def]
    """The window as the app builds it (build_window, kept between sessions), shown; closed after the test."""
    from lmscales.ui.app import build_window

    made: list[tuple[MainWindow, Workspace]] = []

    def start() -> MainWindow:
        window, workspace = build_window(threads=1, persist=True)
        made.append((window, workspace))
        qtbot.addWidget(window)
        window.show()
        return window

    yield start
    for window, workspace in made:
        window.stop()
        window.shutdown()
        workspace.close()


def test_a_history_with_each_damaged_line_opens_and_names_them(qtbot, folders: Path,  # type: ignore[no-untyped-def]
                                                                started: Callable[[], MainWindow]) -> None:
    good = [json.dumps(trial(name).to_dict()).encode() for name in ("first", "last")]
    (folders / "history.jsonl").write_bytes(b"\n".join([good[0], *damaged_lines().values(), good[1]]) + b"\n")
    window = started()
    assert window.history.row_count() == 4  # two comparisons, two sides each
    notice = window.history_notice
    assert notice.isVisible()
    assert "History: damaged lines 2, 3, 4 and 5 skipped" in notice.text()
    details = notice.details()
    assert "4 damaged lines were skipped in the history file" in details
    assert "line 2 (holds a 5000-digit number" in details and "line 3 (holds a number out of range (1e400))" in details
    assert "line 4 (is nested too deeply to read)" in details
    box = notice.show_details()  # what the Details link opens
    assert box.text() == details
    box.close()
    window.statusBar().showMessage("a passing status message")
    assert notice.isVisible()  # it stays in sight


def test_a_folder_in_place_of_the_history_file_opens_the_window_and_says_so(  # type: ignore[no-untyped-def]
        qtbot, folders: Path, started: Callable[[], MainWindow]) -> None:
    (folders / "history.jsonl").mkdir()
    window = started()
    assert window.history.row_count() == 0
    assert window.history_notice.isVisible()
    assert "History file could not be read (" in window.history_notice.text()  # Windows: "Permission denied"
    assert "earlier comparisons are not shown" in window.history_notice.details()


def test_the_app_reports_a_failure_while_reading_the_history_after_installing_the_crash_reporter(  # type: ignore[no-untyped-def]
        qtbot, folders: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from lmscales.ui import app

    monkeypatch.setattr(sys, "excepthook", sys.excepthook)  # restored after the test, whatever install() does
    monkeypatch.setattr(threading, "excepthook", threading.excepthook)
    reporters: list[CrashReporter] = []
    hooks: list[object] = []

    def reporter() -> CrashReporter:  # as the app makes it, without the modal dialog a test cannot answer
        made = CrashReporter(show_dialog=False)
        reporters.append(made)
        return made

    class BrokenHistory:
        @classmethod
        def open(cls, path: Path | None, keep: bool = True) -> TrialHistory:
            hooks.append(sys.excepthook)
            raise RuntimeError("the history file could not be opened")

    monkeypatch.setattr(app, "CrashReporter", reporter)
    monkeypatch.setattr(app, "TrialHistory", BrokenHistory)
    try:
        assert app.run_app(threads=1) == 1
        log_file = folders.parent / "logs" / "lmscales.log"
        logged = log_file.read_text("utf-8")
    finally:
        close_logging()
    (made,) = reporters
    assert hooks == [made._hook]  # installed before the history was read
    assert "RuntimeError" in made.reports[0] and str(log_file) in made.reports[0]
    assert "LM Scales could not start" in logged and "the history file could not be opened" in logged


@pytest.mark.parametrize(("make", "reason"), [
    (lambda monkeypatch, path: full_disk(monkeypatch, path, room=50), "No space left on device"),
    (read_only, "Read-only file system"),
], ids=["full", "read-only"])
def test_a_comparison_the_data_folder_cannot_keep_is_named_in_the_window(  # type: ignore[no-untyped-def]
        qtbot, bundled_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        make: Callable[[pytest.MonkeyPatch, Path], object], reason: str) -> None:
    path = tmp_path / "history.jsonl"
    path.write_bytes(b"")  # the simulated disk knows the file by its identity
    workspace = window_workspace(bundled_model, TrialHistory.open(path), n_ctx=1024)
    window = MainWindow(workspace)
    qtbot.addWidget(window)
    window.show()
    try:
        load_small(qtbot, window, bundled_model)
        assert not window.history_notice.isVisible()
        make(monkeypatch, path)
        window.generation.max_tokens.setValue(4)
        window.tasks.chat_input.setPlainText("Hi")
        window.send(("small",))
        wait_idle(qtbot, window)
        qtbot.waitUntil(window.history_notice.isVisible)
        (lost,) = window.history_store.not_kept
        # The workspace's TrialNotKept event, said in the status bar on the GUI thread.
        said = window.statusBar().currentMessage()
        assert f"Could not keep the comparison {lost.trial_id} (chat, " in said and reason in said
        assert f"1 comparison not kept in the history file ({reason})" in window.history_notice.text()
        assert f"{lost.trial_id} (chat, " in window.history_notice.details()
        assert window.history.row_count() == 1  # shown for this session
        assert path.read_bytes() == b""  # no cut line
    finally:
        monkeypatch.undo()
        window.shutdown()
        workspace.close()
