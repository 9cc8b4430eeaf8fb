"""Run › Blind comparison in the real window: the bundled model on this CPU against llama-cpp-python's server on
loopback, shown as A and B in a seeded order. Before the vote nothing visible tells the sides apart (every visible
widget of both panes alike in text, font, colours, tooltip and accessible name; no model name, host or metric
anywhere in the window); a key votes; the reveal names the sides; the vote is in the history (and its file), the
JSON and Markdown exports and the recording, and a replay of the recording shows it blind with its recorded vote."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QAbstractButton, QLabel, QWidget

from lmscales.core.endpoints import Endpoint
from lmscales.core.engines.remote import RemoteOptions
from lmscales.core.history import TrialHistory
from lmscales.core.recording import load as load_recording
from lmscales.core.recording import save as save_recording
from lmscales.core.votes import BlindOrder
from lmscales.ui.main_window import MainWindow
from tests.conftest import SERVER_MODEL, load_small, open_window, wait_idle, window_workspace

pytestmark = pytest.mark.slow
ROLES = (QPalette.ColorRole.Window, QPalette.ColorRole.WindowText, QPalette.ColorRole.Base, QPalette.ColorRole.Text,
         QPalette.ColorRole.Button, QPalette.ColorRole.ButtonText)


def seed_for(a_side: str) -> int:
    return next(seed for seed in range(100) if BlindOrder.draw(seed).a == a_side)


def looks(widget: QWidget, skip_text: bool) -> tuple[object, ...]:
    """What a person sees of `widget`, or a screen reader reads, but for the words of the answer itself."""
    text = widget.text() if isinstance(widget, QLabel | QAbstractButton) and not skip_text else ""
    palette = widget.palette()
    return (type(widget).__name__, text, widget.toolTip(), widget.accessibleName(), widget.accessibleDescription(),
            widget.styleSheet(), widget.font().toString(), tuple(palette.color(role).name() for role in ROLES),
            widget.isVisible())


def pane_looks(win: MainWindow, letter: str) -> list[tuple[object, ...]]:
    pane = win.blind.view.panes[letter]
    widgets = [pane, *pane.findChildren(QWidget)]
    return [looks(widget, skip_text=widget is pane.title) for widget in widgets if widget.isVisible()]


def visible_words(win: MainWindow) -> str:
    words = [win.windowTitle(), win.statusBar().currentMessage()]
    for widget in win.findChildren(QWidget):
        if widget.isVisible():
            words += [widget.toolTip(), widget.accessibleName(), widget.accessibleDescription()]
            if isinstance(widget, QLabel | QAbstractButton):
                words.append(widget.text())
    return "\n".join(words)


@pytest.fixture
def blind_window(qtbot, bundled_model: Path, llama_server: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    workspace = window_workspace(bundled_model, history=TrialHistory(tmp_path / "history.jsonl"))
    win = open_window(qtbot, workspace)
    load_small(qtbot, win, bundled_model)
    win.generation.max_tokens.setValue(24)
    win.generation.temperature.setValue(0.0)
    win.set_endpoint(Endpoint(llama_server, SERVER_MODEL), RemoteOptions())
    yield win
    win.stop()
    win.shutdown()
    workspace.close()


def blind_run(qtbot, win: MainWindow, seed: int, text: str) -> None:  # type: ignore[no-untyped-def]
    win.blind.seeds = iter([seed])
    win.tasks.chat_input.setPlainText(text)
    with qtbot.waitSignal(win.bridge.trialEnded, timeout=180_000):
        win.send(("small", "large"))
    wait_idle(qtbot, win)


def test_a_blind_comparison_hides_the_sides_until_the_vote_then_reveals_and_keeps_it(  # type: ignore[no-untyped-def]
        qtbot, blind_window: MainWindow, tmp_path: Path) -> None:
    win = blind_window
    small_model = win.workspace.info("small").model  # type: ignore[union-attr]
    qtbot.keyClick(win, Qt.Key.Key_B, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert win.blind.enabled and win.blind.action.isChecked()
    seed = seed_for("large")
    blind_run(qtbot, win, seed, "Name a colour.")
    blind = win.blind
    assert blind.order == BlindOrder.draw(seed) and blind.order.a == "large"

    # Before the vote: only A and B, alike.
    assert blind.view.isVisible() and not any(pane.isVisible() for pane in win.panes.values())
    assert not win.bottom.isVisible() and not win.egress_status.isVisible()  # graphs, history, card, bytes sent
    assert [pane.title.text() for pane in blind.view.panes.values()] == ["A", "B"]
    looks_a, looks_b = pane_looks(win, "A"), pane_looks(win, "B")
    assert looks_a == looks_b and len(looks_a) >= 3
    words = visible_words(win)
    for telltale in (small_model, SERVER_MODEL, "127.0.0.1", "tok/s", "TTFT", "CPU-s", "this computer"):
        assert telltale not in words, telltale
    assert all(pane.view.toPlainText() for pane in blind.view.panes.values())  # both answers are there to judge
    assert blind.view.vote_open and blind.view.prompt.text() == "Which answer is better? Press 1, 2, 3 or 4."
    kept = win.history_store.list()[-1]
    assert kept.blind == blind.order and kept.vote is None  # kept as it ended: never lost for want of a vote

    qtbot.keyClick(blind.view, Qt.Key.Key_1)  # A is better: the large side

    trial = win.history_store.list()[-1]
    assert trial.vote is not None and trial.vote.choice == "A" and trial.vote.winner == "large"
    large_name = f"Large ({SERVER_MODEL})"
    assert blind.view.reveal_text.text() == (f"A was {large_name}, B was Small ({small_model}). "
                                             f"You preferred A: {large_name}.")
    assert blind.view.panes["A"].who.text() == f"— {large_name}" and blind.view.panes["A"].who.isVisible()
    assert not blind.view.vote_open
    assert win.bottom.isVisible() and win.bottom.currentWidget() is win.card and win.egress_status.isVisible()
    qtbot.keyClick(blind.view, Qt.Key.Key_2)  # voted once: a second key changes nothing
    assert win.history_store.list()[-1].vote == trial.vote

    # Kept: the history file (read again), the JSON and Markdown exports, the recording.
    again = TrialHistory.open(tmp_path / "history.jsonl").get(trial.id)
    assert again is not None and again.vote == trial.vote and again.blind == blind.order
    exported = json.loads(win.history.export(tmp_path / "h.json").read_text(encoding="utf-8"))["trials"][-1]
    assert exported["vote"]["choice"] == "A" and exported["vote"]["winner"] == "large"
    assert exported["blind"] == {"seed": seed, "a": "large", "b": "small"}
    markdown = win.history.export(tmp_path / "h.md").read_text(encoding="utf-8")
    assert f"**Blind comparison**: A was {large_name}, B was Small ({small_model}). You preferred A" in markdown
    assert f"You preferred the small model ({small_model}) 0 of 1 time (0 %, 95 % CI 0 %–79 %)." in markdown
    path = save_recording(win.recorder.recording(), tmp_path / "talk.lmsrec.json")
    recording = load_recording(path)
    assert recording.trials[-1].vote == trial.vote

    # Another seed, the other order, hide speed: nothing before both are done, then the vote by button.
    other = seed_for("small")
    blind.view.hide_speed.setChecked(True)
    win.blind.seeds = iter([other])
    win.tasks.chat_input.setPlainText("Name a fruit.")
    with qtbot.waitSignal(win.bridge.sideEnded, timeout=180_000):
        win.send(("small", "large"))
    if win.bridge.running:  # one side done, the other not: neither answer shows
        assert [pane.view.toPlainText() for pane in blind.view.panes.values()] == ["", ""]
    wait_idle(qtbot, win)
    assert blind.order == BlindOrder.draw(other) and blind.order.a == "small"
    assert pane_looks(win, "A") == pane_looks(win, "B")
    assert all(pane.view.toPlainText() for pane in blind.view.panes.values())
    qtbot.mouseClick(blind.view.vote_buttons["both_bad"], Qt.MouseButton.LeftButton)
    assert win.history_store.list()[-1].vote.choice == "both_bad"  # type: ignore[union-attr]
    assert blind.view.reveal_text.text().endswith("You found both bad.")

    # A replay of the first recorded comparison: shown blind in its recorded order, its recorded vote revealed.
    win.blind.set_enabled(False)
    with qtbot.waitSignal(win.replay.replayEnded, timeout=60_000):
        win.replay_menu.replay(recording, speed=4.0)
    wait_idle(qtbot, win)
    replayed = win.history_store.list()[-1]
    assert replayed.id != trial.id and replayed.vote == trial.vote and replayed.blind == trial.blind
    assert blind.view.isVisible() and blind.view.reveal_text.text().startswith("Recorded vote. A was Large")
