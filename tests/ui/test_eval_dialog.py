"""Evaluate… in the window: a set runs through the window's session with progress; Stop keeps what was
measured; the report saves; refusals are explained in the dialog."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from lmscales.core.settings import Settings
from lmscales.core.workspace import Workspace
from lmscales.ui.eval_dialog import EvalDialog
from lmscales.ui.main_window import MainWindow

pytestmark = pytest.mark.slow


def dialog_for(qtbot, window: MainWindow) -> EvalDialog:  # type: ignore[no-untyped-def]
    dialog = EvalDialog(window.session, window.generation_params(), window)
    qtbot.addWidget(dialog)
    return dialog


def handlers_on(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[threading.Thread]]:
    """The threads the dialog's progress and end handlers run on (they touch widgets: the GUI thread only)."""
    seen: dict[str, list[threading.Thread]] = {"_on_progress": [], "_on_finished": []}

    def recording(name: str, handler: Callable[..., None]) -> Callable[..., None]:
        def wrapper(*args: object) -> None:
            seen[name].append(threading.current_thread())
            handler(*args)
        return wrapper

    for name in seen:
        monkeypatch.setattr(EvalDialog, name, recording(name, getattr(EvalDialog, name)))
    return seen


def test_a_stopped_evaluation_keeps_its_partial_results(qtbot, window: MainWindow, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    handlers = handlers_on(monkeypatch)
    dialog = dialog_for(qtbot, window)
    dialog.set_choice.setCurrentIndex(dialog.set_choice.findData("chat-smoke"))
    dialog.repeats.setValue(1)
    before = len(window.history_store)
    dialog.start()
    assert dialog.stop_button.isEnabled() and not dialog.start_button.isEnabled()
    # Stop once two items have been kept (the warm-up is not kept).
    qtbot.waitUntil(lambda: len(window.history_store) >= before + 2, timeout=120_000)
    # the bar counts runs: one warm-up and six items, of which the warm-up and two items are done
    qtbot.waitUntil(lambda: dialog.progress.value() >= 3, timeout=10_000)
    assert dialog.progress.maximum() == 1 + 6
    dialog.stop()
    qtbot.waitUntil(lambda: not dialog.running, timeout=60_000)
    qtbot.waitUntil(lambda: dialog.start_button.isEnabled(), timeout=10_000)
    assert "Stopped: partial results" in dialog.status.text()
    assert len(handlers["_on_progress"]) >= 3 and handlers["_on_finished"]
    assert set(handlers["_on_progress"] + handlers["_on_finished"]) == {threading.main_thread()}
    assert "Only the small model ran on these" in dialog.verdict.text()  # a verdict over what was measured
    assert dialog.outcome is not None and "partial" in " ".join(dialog.outcome.metadata.notes)
    kept = window.history_store.list()[before:]
    assert kept and all(trial.evaluation is not None and trial.evaluation.set_name == "chat-smoke" for trial in kept)
    saved = dialog.save(tmp_path / "report.html").read_text("utf-8")
    assert "<svg" in saved and "partial" in saved.lower()


def test_refusals_are_said_in_the_dialog(qtbot, unloaded_window: MainWindow) -> None:  # type: ignore[no-untyped-def]
    window = unloaded_window  # this test never generates: no model loads
    dialog = dialog_for(qtbot, window)
    dialog.judge_choice.setCurrentIndex(dialog.judge_choice.findData("large"))
    dialog.start()
    assert "large side is not set up" in dialog.status.text() and not dialog.running
    dialog.judge_choice.setCurrentIndex(0)
    dialog.set_choice.setCurrentIndex(dialog.set_choice.findData(""))
    dialog.custom_path = None
    dialog.start()
    assert "Choose a set first" in dialog.status.text()
    dialog.custom_path = "/nonexistent/set.jsonl"
    dialog.start()
    assert dialog.status.text().startswith("⚠") and "set.jsonl" in dialog.status.text()


def test_an_evaluation_that_fails_says_why_in_the_dialog(qtbot, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    handlers = handlers_on(monkeypatch)
    window = MainWindow(Workspace(), settings=Settings())  # no model loaded, no large side: nothing can run
    qtbot.addWidget(window)
    dialog = dialog_for(qtbot, window)
    dialog.set_choice.setCurrentIndex(dialog.set_choice.findData("chat-smoke"))
    dialog.start()
    qtbot.waitUntil(lambda: dialog.start_button.isEnabled(), timeout=10_000)
    assert dialog.status.text() == ("⚠ The evaluation failed: Neither side is ready: load a model or set up an "
                                    "endpoint first.")
    assert not dialog.running and not dialog.stop_button.isEnabled() and not dialog.save_button.isEnabled()
    assert handlers["_on_finished"] == [threading.main_thread()]
    window.settings.set_offline(False, remember=False)
