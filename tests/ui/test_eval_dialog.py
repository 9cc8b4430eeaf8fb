"""Evaluate… in the window: a set runs through the window's session with progress; Stop keeps what was
measured; the report saves; refusals are explained in the dialog."""

from __future__ import annotations

from pathlib import Path

import pytest

from lmscales.ui.eval_dialog import EvalDialog
from lmscales.ui.main_window import MainWindow

pytestmark = pytest.mark.slow


def dialog_for(qtbot, window: MainWindow) -> EvalDialog:  # type: ignore[no-untyped-def]
    dialog = EvalDialog(window.session, window.generation_params(), window)
    qtbot.addWidget(dialog)
    return dialog


def test_a_stopped_evaluation_keeps_its_partial_results(qtbot, window: MainWindow, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
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
    assert "Only the small model ran on these" in dialog.verdict.text()  # a verdict over what was measured
    assert dialog.outcome is not None and "partial" in " ".join(dialog.outcome.metadata.notes)
    kept = window.history_store.list()[before:]
    assert kept and all(trial.tags[0] == "eval:chat-smoke" for trial in kept)
    saved = dialog.save(tmp_path / "report.html").read_text("utf-8")
    assert "<svg" in saved and "partial" in saved.lower()


def test_refusals_are_said_in_the_dialog(qtbot, window: MainWindow) -> None:  # type: ignore[no-untyped-def]
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
