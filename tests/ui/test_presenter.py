"""Presenter mode in the real window on the bundled model (and llama-cpp-python's server on loopback): F11 in,
Space/PageDown and PageUp step through a scenario, the strip and the notes follow, the scoreboard marks a winner
per figure in words, Esc leaves without stopping a run, S stops it; the scoreboard and the session export after
the talk; a replay shows its banner."""

from __future__ import annotations

from html import escape
from pathlib import Path

import pytest
import shiboken6
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import QApplication

from lmscales.core import recording, scenario
from lmscales.core.endpoints import Endpoint
from lmscales.core.scoreboard import WINNER_MARK
from lmscales.ui.main_window import MainWindow
from lmscales.ui.presenter_start import DemoOptions, start_demo
from tests.conftest import SERVER_MODEL, wait_idle

pytestmark = pytest.mark.slow

TWO_STEPS = scenario.parse('''
version = 1
title = "Test talk"
[[steps]]
title = "Colours"
task = "chat"
input = "Name two colours."
talking_points = ["Say this first.", "Then this."]
[steps.params]
max_tokens = 12
temperature = 0.0
seed = 1
[[steps]]
title = "Into French"
task = "translate"
target_language = "fr"
input = "Good morning."
reference = "Bonjour."
sides = ["small"]
[steps.params]
max_tokens = 12
temperature = 0.0
seed = 1
''', "test.toml")

LONG = scenario.parse('''
version = 1
title = "Long"
[[steps]]
title = "A long story"
task = "chat"
input = "Write a long story about a lighthouse."
sides = ["small"]
[steps.params]
max_tokens = 400
''', "long.toml")


def _enter(qtbot, window: MainWindow):  # type: ignore[no-untyped-def]
    window.presenter_action.trigger()  # View → Presenter mode (F11)
    presenter = window.presenter
    qtbot.waitUntil(presenter.window.isVisible)
    qtbot.waitUntil(presenter.window.isActiveWindow)  # its keys are its own
    return presenter


def _press(qtbot, presenter, key: Qt.Key) -> None:  # type: ignore[no-untyped-def]
    qtbot.keyClick(presenter.window, key)


def test_a_scenario_steps_forward_and_back_with_the_presenters_keys(  # type: ignore[no-untyped-def]
    qtbot, window: MainWindow, llama_server: str, tmp_path: Path
) -> None:
    window.set_endpoint(Endpoint(llama_server, SERVER_MODEL))
    window.presenter.load_scenario(TWO_STEPS)
    presenter = _enter(qtbot, window)
    assert presenter.window.isFullScreen() or presenter.window.windowState() & Qt.WindowState.WindowFullScreen

    with qtbot.waitSignal(window.bridge.trialEnded, timeout=120_000):
        _press(qtbot, presenter, Qt.Key.Key_Space)
    assert presenter.window.strip.current_text() == "▶ 1 · Colours"
    assert "Step 1 of 2: Colours" in presenter.notes.title.text()
    assert "• Say this first." in presenter.notes.points.text() and "Next: Into French" in presenter.notes.next.text()
    for side in ("small", "large"):
        assert presenter.window.columns[side].view.answer.strip()
    board = presenter.window.board
    assert set(board.headers) == {"small", "large"}
    for key in ("ttft", "rate"):
        cells = [board.cells[(key, side)].text() for side in ("small", "large")]
        winners = [text for text in cells if text.startswith(WINNER_MARK)]
        note = board.notes[key].text()
        # A winner is named with a mark and in words, or the row says the two are about the same.
        assert (len(winners) == 1 and winners[0].endswith("wins")) or (not winners and "same" in note), cells
    assert board.cells[("cost", "small")].text().startswith("$0")
    small_info = window.workspace.info("small")  # each side's size, the small one's from its GGUF header
    assert small_info is not None and small_info.parameters and board.cells[("size", "small")].text() == \
        small_info.parameters

    with qtbot.waitSignal(window.bridge.trialEnded, timeout=120_000):
        _press(qtbot, presenter, Qt.Key.Key_PageDown)
    assert presenter.window.strip.current_text() == "▶ 2 · Into French"
    assert presenter.window.columns["large"].status.text() == "Not in this step."
    assert window.history_store.list()[-1].input.target_lang == "fr"

    with qtbot.waitSignal(window.bridge.trialEnded, timeout=120_000):
        _press(qtbot, presenter, Qt.Key.Key_PageUp)
    assert presenter.window.strip.current_text() == "▶ 1 · Colours"
    assert window.history_store.list()[-1].input.text == "Name two colours."
    wait_idle(qtbot, window)

    # After the talk: the scoreboard as a PNG, the comparisons of this window as an HTML report and Markdown.
    image, html, markdown = presenter.export_artifacts(tmp_path / "talk")
    picture = QImage(str(image))
    assert not picture.isNull() and picture.width() > 200
    assert len({picture.pixel(x, y) for x in range(0, picture.width(), 7) for y in range(0, picture.height(), 7)}) > 2
    text = markdown.read_text("utf-8")
    assert text.count("Name two colours.") >= 2 and "Good morning." in text
    page = html.read_text("utf-8")
    assert page.count('<section class="trial"') == 3 and page.count("Name two colours.") == 2
    for trial in window.recorder.trials:
        for result in trial.sides:
            assert escape(result.text, quote=True) in page  # every answer, as text
    assert '<span class="badge">' not in page  # nothing was replayed from a recording


def test_escape_leaves_presenter_mode_without_stopping_and_s_stops(qtbot, window: MainWindow) -> None:  # type: ignore[no-untyped-def]
    window.presenter.load_scenario(LONG)
    presenter = _enter(qtbot, window)
    with qtbot.waitSignal(window.bridge.deltasReady, timeout=60_000):
        _press(qtbot, presenter, Qt.Key.Key_Space)
    _press(qtbot, presenter, Qt.Key.Key_Escape)
    assert not presenter.window.isVisible()
    assert window.running  # leaving presenter mode is not Stop
    wait_idle(qtbot, window, timeout=180_000)
    assert window.history_store.list()[-1].sides[0].status in ("done", "length")

    presenter = _enter(qtbot, window)
    with qtbot.waitSignal(window.bridge.deltasReady, timeout=60_000):
        assert presenter.run_step(0)  # the same step again
    with qtbot.waitSignal(window.bridge.trialEnded, timeout=60_000):
        _press(qtbot, presenter, Qt.Key.Key_S)
    assert presenter.window.isVisible()  # S stops the run, presenter mode stays
    assert window.history_store.list()[-1].sides[0].status == "stopped"


def _luminance(colour: QColor) -> float:
    """WCAG's relative luminance of an sRGB colour."""
    def linear(channel: float) -> float:
        return channel / 12.92 if channel <= 0.04045 else ((channel + 0.055) / 1.055) ** 2.4

    return 0.2126 * linear(colour.redF()) + 0.7152 * linear(colour.greenF()) + 0.0722 * linear(colour.blueF())


def _look(presenter) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """What the room sees, read from the presenter as it paints: the background's luminance (in the window's
    margin), and the contrast of the title's text against it (its pixel farthest from the background)."""
    window = presenter.window
    background = _luminance(window.grab().toImage().pixelColor(4, 4))
    title = window.title.grab().toImage()
    text = max((_luminance(title.pixelColor(x, y)) for x in range(0, title.width(), 2)
                for y in range(0, title.height(), 2)), key=lambda value: abs(value - background))
    lighter, darker = max(background, text), min(background, text)
    return background, (lighter + 0.05) / (darker + 0.05)


def test_the_theme_key_switches_high_contrast_light_and_dark(qtbot, unloaded_window: MainWindow) -> None:  # type: ignore[no-untyped-def]
    window = unloaded_window  # this test never generates: no model loads
    presenter = _enter(qtbot, window)
    first = presenter.window.theme
    looks = [_look(presenter)]
    _press(qtbot, presenter, Qt.Key.Key_T)
    assert presenter.window.theme != first
    looks.append(_look(presenter))
    _press(qtbot, presenter, Qt.Key.Key_T)
    assert presenter.window.theme == first
    looks.append(_look(presenter))
    backgrounds = sorted(background for background, _ in looks[:2])
    # One of the two is painted dark and the other light, each in high contrast (7:1, WCAG AAA); T goes back.
    assert backgrounds[0] < 0.05 and backgrounds[1] > 0.8, looks
    assert all(contrast >= 7 for _, contrast in looks), looks
    assert looks[2] == looks[0]
    _press(qtbot, presenter, Qt.Key.Key_F11)
    assert not presenter.window.isVisible()


def test_a_replay_in_presenter_mode_shows_its_banner_and_the_recorded_answers(  # type: ignore[no-untyped-def]
    qtbot, window: MainWindow, tmp_path: Path
) -> None:
    qtbot.keyClicks(window.tasks.chat_input, "Name a fruit.")
    window.send(("small",))
    wait_idle(qtbot, window)
    saved = window.replay_menu.save(tmp_path / "talk.lmsrec.json")
    assert saved is not None
    recorded = recording.load(saved)
    start_demo(window, DemoOptions(replay=recorded, speed=2.0, step=True))
    presenter = window.presenter
    qtbot.waitUntil(presenter.window.isVisible)
    assert presenter.window.banner.isVisible()
    assert presenter.window.banner.text().startswith("▶ REPLAY of ") and "×2" in presenter.window.banner.text()
    assert presenter.window.title.text() == "Replay"  # the presenter follows the replay by itself: its title
    qtbot.waitUntil(presenter.window.isActiveWindow)
    with qtbot.waitSignal(window.replay.replayEnded, timeout=30_000):
        _press(qtbot, presenter, Qt.Key.Key_Space)
    original = recorded.trials[0].side("small")
    assert original is not None
    assert presenter.window.columns["small"].view.answer == original.text
    assert presenter.window.columns["small"].badge.isVisible()
    assert presenter.window.board.headers["small"].text().endswith("· recorded")


def test_entering_gives_the_presenter_the_keyboard_and_it_keeps_it_until_its_first_key(  # type: ignore[no-untyped-def]
    qtbot, unloaded_window: MainWindow
) -> None:
    window = unloaded_window  # this test never generates: no model loads
    presenter = _enter(qtbot, window)
    assert presenter.window.geometry() == window.screen().geometry()  # the screen, whatever the window system does
    # The main window, under the presenter on the same screen, takes the keyboard late (as it can at start-up,
    # when the window system maps it after the presenter): the presenter takes it back, so Space works.
    focus: list[object] = []
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    app.focusWindowChanged.connect(focus.append)
    window.activateWindow()
    main, room = window.windowHandle(), presenter.window.windowHandle()
    qtbot.waitUntil(lambda: main in focus and focus[-1] == room and focus.index(main) < len(focus) - 1)
    assert presenter.window.isActiveWindow()
    _press(qtbot, presenter, Qt.Key.Key_T)  # the presenter's first key: from now on the user decides
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    QApplication.processEvents()
    QApplication.processEvents()
    assert window.isActiveWindow() and presenter.window.isVisible()
    app.focusWindowChanged.disconnect(focus.append)
    presenter.leave()


def test_space_while_the_small_model_loads_runs_the_step_once_it_has_loaded(  # type: ignore[no-untyped-def]
    qtbot, unloaded_window: MainWindow, bundled_model: Path
) -> None:
    window = unloaded_window  # the test loads the model itself, as at start-up
    window.presenter.load_scenario(TWO_STEPS)
    presenter = _enter(qtbot, window)
    assert window.load_model(str(bundled_model))  # as at start-up
    assert window.loaders["small"].busy
    _press(qtbot, presenter, Qt.Key.Key_Space)  # a clicker's press is not lost
    assert presenter.window.hint.text() == "⚠ Step 1 starts as soon as the small model has loaded."
    with qtbot.waitSignal(window.bridge.trialEnded, timeout=120_000):
        pass
    assert presenter.window.strip.current_text() == "▶ 1 · Colours"
    assert window.history_store.list()[-1].input.text == "Name two colours."


def test_a_step_waiting_for_a_model_that_fails_to_load_does_not_run(  # type: ignore[no-untyped-def]
    qtbot, unloaded_window: MainWindow, tmp_path: Path
) -> None:
    window = unloaded_window  # the test loads the model itself, as at start-up
    window.presenter.load_scenario(TWO_STEPS)
    presenter = _enter(qtbot, window)
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"GGUF" + b"\0" * 64)
    with qtbot.waitSignal(window.loaders["small"].loadFailed, timeout=60_000):
        assert window.load_model(str(broken))
        _press(qtbot, presenter, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: not window.loaders["small"].busy)
    assert presenter.window.hint.text().startswith("⚠ The small model did not load (")
    assert presenter.window.hint.text().endswith("); the step did not run.")
    assert not window.running and presenter.step_index == -1


def test_closing_the_main_window_deletes_the_presenters_windows_on_the_gui_thread(  # type: ignore[no-untyped-def]
    qtbot, unloaded_window: MainWindow
) -> None:
    window = unloaded_window  # this test never generates: no model loads
    # Top-level windows are nobody's children: left to the garbage collector, they were destroyed in whatever
    # thread collected them (Qt warned "Timers cannot be started from another thread" from a stream's reader).
    presenter = _enter(qtbot, window)
    presenter.show_notes()
    room, notes = presenter.window, presenter.notes
    window.close()
    qtbot.waitUntil(lambda: not shiboken6.isValid(room) and not shiboken6.isValid(notes))
    assert presenter.disposed and not presenter.active
    presenter.toggle()  # F11 after the close: nothing to show, nothing raised
    window.bridge.deltasReady.emit("small", [])  # a run's late events reach no deleted widget
