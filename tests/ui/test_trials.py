"""A comparison is data: the window and the CLI produce the same trial, and the window's history outlives
the app (a new window on the same data folder finds the trial, its input and both answers, in each export)."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from lmscales.core.endpoints import Endpoint
from lmscales.core.history import TrialHistory
from lmscales.core.workspace import Workspace
from lmscales.ui.main_window import MainWindow
from tests.conftest import SERVER_MODEL, load_small, wait_idle, window_workspace

pytestmark = pytest.mark.slow


def _differences(left: object, right: object, where: str = "trial") -> list[str]:
    """Where two JSON documents differ in shape: keys present in one only, or values of different kinds.
    A null matches any kind (a figure that does not exist for this run), and lists are compared by their
    first items."""
    if left is None or right is None:
        return []
    if isinstance(left, dict) and isinstance(right, dict):
        out = [f"{where}.{key}: only in one" for key in sorted(set(left) ^ set(right))]
        for key in sorted(set(left) & set(right)):
            out += _differences(left[key], right[key], f"{where}.{key}")
        return out
    if isinstance(left, list) and isinstance(right, list):
        return _differences(left[0], right[0], f"{where}[0]") if left and right else []
    kinds = {bool: "bool", int: "number", float: "number", str: "str"}
    if kinds.get(type(left), type(left).__name__) != kinds.get(type(right), type(right).__name__):
        return [f"{where}: {type(left).__name__} vs {type(right).__name__}"]
    return []


@pytest.fixture
def kept_window(qtbot, bundled_model: Path, tmp_path: Path) -> Iterator[tuple[MainWindow, Path]]:  # type: ignore[no-untyped-def]
    path = tmp_path / "data" / "history.jsonl"
    workspace = window_workspace(bundled_model, TrialHistory.open(path))
    win = MainWindow(workspace)
    qtbot.addWidget(win)
    win.show()
    load_small(qtbot, win, bundled_model)
    win.generation.max_tokens.setValue(16)
    win.generation.temperature.setValue(0.0)
    yield win, path
    win.stop()
    win.shutdown()
    workspace.close()


def test_the_cli_and_the_window_write_the_same_trial(qtbot, kept_window, llama_server: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    window, _ = kept_window
    window.set_endpoint(Endpoint(llama_server, SERVER_MODEL))
    window.tasks.set_task("translate")
    window.tasks.target_language.setCurrentIndex(window.tasks.target_language.findData("de"))
    window.tasks.translate_input.setPlainText("Good morning.")
    window.send(("small", "large"))
    wait_idle(qtbot, window)
    document = json.loads(window.history.export(tmp_path / "window.json").read_text("utf-8"))
    exported = document["trials"][0]

    source = tmp_path / "input.txt"
    source.write_text("Good morning.", encoding="utf-8")
    env = {**os.environ, "LMSCALES_API_KEY": ""}
    result = subprocess.run(
        [sys.executable, "-m", "lmscales", "run", "--task", "translate", "--target-lang", "de", "--side", "both",
         "--input", str(source), "--base-url", llama_server, "--model", SERVER_MODEL, "--threads", "1",
         "--max-tokens", "16", "--temperature", "0", "--json"],
        capture_output=True, text=True, env=env, timeout=300, check=False,
    )
    assert result.returncode == 0, result.stderr
    printed = json.loads(result.stdout)
    # The method card sits beside the trial, as it sits beside the trials in the export: the same card.
    assert _differences(printed.pop("method"), document["method"], "method") == []
    assert printed["schema_version"] == exported["schema_version"]
    assert printed["input"]["text"] == exported["input"]["text"] == "Good morning."
    assert printed["input"]["target_lang"] == exported["input"]["target_lang"] == "de"
    assert sorted(printed["sides"]) == sorted(exported["sides"]) == ["large", "small"]
    for side in ("small", "large"):
        assert printed["sides"][side]["engine"]["kind"] == exported["sides"][side]["engine"]["kind"]
    # Same schema: the same keys at every level, with the same kinds of value.
    assert _differences(printed, exported) == []


def test_history_outlives_the_window(qtbot, kept_window, bundled_model: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    window, path = kept_window
    second: Workspace | None = None
    try:
        window.load_model(str(bundled_model), side="large")  # a second GGUF on the large side: no endpoint
        qtbot.waitUntil(lambda: window.session.available("large"), timeout=60_000)
        window.tasks.chat_input.setPlainText("Name a planet.")
        window.send(("small", "large"))
        wait_idle(qtbot, window)
        trial = window.history_store.list()[-1]
        answers = {r.side: r.text for r in trial.sides}
        assert all(text.strip() for text in answers.values()), answers
        window.close()

        second = window_workspace(bundled_model, TrialHistory.open(path))  # the file as the window left it
        reopened = MainWindow(second)
        qtbot.addWidget(reopened)
        again = reopened.history_store.get(trial.id)
        assert again is not None and again.input.text == "Name a planet."
        assert {r.side: r.text for r in again.sides} == answers
        assert reopened.history.row_count() == 2
        json_text = reopened.history.export(tmp_path / "h.json").read_text("utf-8")
        csv_text = reopened.history.export(tmp_path / "h.csv").read_text("utf-8")
        md_text = reopened.history.export(tmp_path / "h.md").read_text("utf-8")
        assert json.loads(json_text)["trials"][0]["id"] == trial.id
        rows = list(csv.DictReader(io.StringIO(csv_text)))
        assert {row["trial_id"] for row in rows} == {trial.id}
        assert {row["answer"] for row in rows} == set(answers.values())
        assert "Name a planet." in md_text and trial.id in md_text
        for answer in answers.values():
            assert answer.strip().splitlines()[0].replace("<", "&lt;") in md_text
        reopened.close()
    finally:
        if second is not None:
            second.close()


def test_clear_history_asks_first_and_keeps_everything_unless_told(qtbot, monkeypatch, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtWidgets import QMessageBox

    from lmscales.ui.history_view import HistoryView, clear_history_box
    from tests.support.trials import trial

    history = TrialHistory.open(tmp_path / "history.jsonl")
    for number in range(3):  # three comparisons (one id each: a line with an id already read replaces that trial)
        history.append(dataclasses.replace(trial(), id=f"trial{number}"))
    view = HistoryView(history)
    qtbot.addWidget(view)
    box = clear_history_box(3)
    assert box.text().startswith("Delete all 3 kept comparisons?")
    assert box.defaultButton() is box.button(QMessageBox.StandardButton.No)  # Enter keeps them
    assert box.escapeButton() is box.button(QMessageBox.StandardButton.No)
    assert box.button(QMessageBox.StandardButton.Yes).text() == "Delete all"
    answers = iter([QMessageBox.StandardButton.No, QMessageBox.StandardButton.Yes])
    monkeypatch.setattr(QMessageBox, "exec", lambda self: next(answers))
    view.confirm_clear()
    assert len(history) == 3 and len(TrialHistory.open(tmp_path / "history.jsonl")) == 3
    view.confirm_clear()
    assert len(history) == 0 and len(TrialHistory.open(tmp_path / "history.jsonl")) == 0


def test_a_trial_appended_on_another_thread_joins_the_table_on_the_gui_thread(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import threading

    from PySide6.QtCore import Qt

    from lmscales.ui.history_view import HistoryView
    from tests.support.trials import trial

    history = TrialHistory.open(tmp_path / "history.jsonl")
    view = HistoryView(history)
    qtbot.addWidget(view)
    inserted_on: list[threading.Thread] = []
    view.model.rowsInserted.connect(lambda *_: inserted_on.append(threading.current_thread()),
                                    Qt.ConnectionType.DirectConnection)  # the thread that changes the model
    # The session appends each finished comparison on its own run thread.
    appender = threading.Thread(target=history.append, args=(trial(),), name="session-run")
    appender.start()
    appender.join()
    qtbot.waitUntil(lambda: view.row_count() == 2)  # one row per side
    assert inserted_on == [threading.main_thread()]
    assert "1 comparisons" in view.title.text()


def test_an_export_runs_off_the_gui_thread_and_says_when_done_or_failed(qtbot, monkeypatch, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import threading

    from PySide6.QtWidgets import QFileDialog

    from lmscales.ui.history_view import HistoryView
    from tests.support.trials import trial

    history = TrialHistory.open(tmp_path / "history.jsonl")
    for number in range(3):  # three comparisons (one id each: a line with an id already read replaces that trial)
        history.append(dataclasses.replace(trial(), id=f"trial{number}"))
    view = HistoryView(history)
    qtbot.addWidget(view)
    said: list[str] = []
    view.problem.connect(said.append)
    written_on: list[threading.Thread] = []
    release = threading.Event()
    export = history.export

    def held_export(path, trials=None):  # type: ignore[no-untyped-def]
        written_on.append(threading.current_thread())
        release.wait(10)  # a long history still being written
        return export(path, trials)

    monkeypatch.setattr(history, "export", held_export)
    target = tmp_path / "exports" / "history.md"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *args, **kwargs: (str(target), ""))
    view.export_dialog()
    assert said[-1] == f"Exporting 3 comparisons to {target}…" and not view.export_button.isEnabled()
    assert view.export_in_background(tmp_path / "again.md") is None  # one export at a time
    assert said[-1] == "An export is still being written; wait for it to finish."
    release.set()
    qtbot.waitUntil(lambda: said[-1].startswith("Exported"), timeout=10_000)
    assert said[-1] == f"Exported 3 comparisons to {target}."
    assert written_on and written_on[0] is not threading.main_thread()  # the GUI thread stayed free
    assert "What is the capital of France?" in target.read_text("utf-8") and view.export_button.isEnabled()

    folder = tmp_path / "a-folder.md"
    folder.mkdir()  # a folder where the file should go: the system refuses the write
    view.export_in_background(folder)
    qtbot.waitUntil(lambda: said[-1].startswith("Could not"), timeout=10_000)
    assert said[-1].startswith(f"Could not export the history to {folder}: ") and said[-1].endswith(".")
    assert view.export_button.isEnabled()
    view.export_in_background(tmp_path / "history.txt")
    qtbot.waitUntil(lambda: "must end in .json, .csv, .md or .html" in said[-1], timeout=10_000)
