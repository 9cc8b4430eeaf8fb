"""The window at a glance: the result card, the "last run" graphs, readable dialogs, the first start, and
history rows opened again and sent again."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QLabel

from lmscales.core.endpoints import Endpoint
from lmscales.core.history import TrialHistory
from lmscales.core.resource_monitor import ResourceMonitor
from lmscales.core.settings import Settings, load_settings
from lmscales.core.trial import GenerationParams, Trial
from lmscales.core.workspace import Workspace
from lmscales.ui.endpoint_dialog import EndpointDialog, key_placeholder
from lmscales.ui.history_view import HistoryView, TrialDialog
from lmscales.ui.main_window import MainWindow
from lmscales.ui.resource_panel import ResourcePanel
from lmscales.ui.result_card import PairBar, ResultCard
from lmscales.ui.settings_dialog import SettingsDialog, _label
from lmscales.ui.task_inputs import TaskPanel, example_text
from tests.conftest import wait_idle
from tests.support.trials import failed_large, large_side, small_side, trial


# -- the result card ---------------------------------------------------------------------------------------
def test_the_card_writes_each_ratio_and_marks_the_better_side(qtbot) -> None:  # type: ignore[no-untyped-def]
    card = ResultCard()
    qtbot.addWidget(card)
    card.show_trial(trial(small_side(ttft=0.1), large_side(ttft=0.41, provenance="estimated")))
    card.resize(1000, 400)
    card.show()
    verdicts = {label.objectName(): label.text() for label in card.findChildren(QLabel)
                if label.objectName().startswith("verdict_")}
    assert verdicts["verdict_ttft"] == "small: 4.1× faster to first token"
    assert verdicts["verdict_rate"] == "large: ~2.0× more tokens per second"  # estimated counts: "~"
    assert verdicts["verdict_money"] == "small: $0 + ~0.30 Wh, large: ~$0.0004"
    bars = {(bar.value.side, row): bar for row, bar in _bars_by_row(card)}
    assert bars[("small", "ttft")].text() == "✓ 0.10 s"  # the better side is marked in text, not colour alone
    assert bars[("large", "ttft")].text() == "0.41 s"  # timed, so never estimated
    assert bars[("large", "rate")].text() == "✓ ~20.0 tok/s"
    assert bars[("small", "rate")].fraction == pytest.approx(0.5)  # half the pair's largest
    assert "Chat" in card.title.text() and "2026-11-28 18:00" in card.title.text()


def _bars_by_row(card: ResultCard) -> list[tuple[str, PairBar]]:
    out = []
    for index in range(card.grid.count()):
        item = card.grid.itemAt(index)
        widget = item.widget() if item is not None else None
        if isinstance(widget, PairBar):
            row, _, _, _ = card.grid.getItemPosition(index)
            out.append((card.rows[row - 1].key, widget))
    return out


def test_a_side_without_figures_shows_dashes_and_no_verdict(qtbot) -> None:  # type: ignore[no-untyped-def]
    card = ResultCard()
    qtbot.addWidget(card)
    card.show_trial(trial(small_side(), failed_large()))
    assert card.verdicts()["ttft"] == "no comparison: Large has no figure"
    texts = [bar.text() for key, bar in _bars_by_row(card) if key == "ttft"]
    assert texts == ["0.10 s", "–"]  # no ✓ where there is nothing to compare


def test_the_card_saves_as_a_png_with_every_row(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    card = ResultCard()
    qtbot.addWidget(card)
    card.resize(900, 120)  # smaller than the rows: the export still holds all of them
    card.show()
    card.show_trial(trial())
    written = card.export_png(tmp_path / "card.png")
    image = QImage(str(written))
    assert not image.isNull()
    assert image.height() >= card.body.sizeHint().height() and image.width() >= 600


def test_the_window_shows_a_card_after_each_comparison(qtbot, window: MainWindow) -> None:  # type: ignore[no-untyped-def]
    window.tasks.load_example("translate")
    with qtbot.waitSignal(window.bridge.trialEnded, timeout=120_000):
        window.send(("small",))
    wait_idle(qtbot, window)
    assert window.bottom.currentWidget() is window.card
    assert window.card.trial is not None and window.card.trial.task == "translate"
    assert window.card.verdicts()["ttft"] == "only one side ran"
    assert any(bar.text().endswith(" s") for key, bar in _bars_by_row(window.card) if key == "ttft")


# -- graphs that follow the run ---------------------------------------------------------------------------
def test_last_run_zooms_to_the_latest_comparison(qtbot) -> None:  # type: ignore[no-untyped-def]
    monitor = ResourceMonitor(rate_hz=20.0)
    panel = ResourcePanel(monitor)
    qtbot.addWidget(panel)
    assert panel.last_run_range() is None
    now = time.perf_counter()
    panel.mark("small", "sent", now - 30.0)  # an older comparison
    panel.mark("small", "finished", now - 29.0)
    panel.end_run()
    panel.mark("small", "sent", now - 5.0)
    panel.mark("large", "sent", now - 4.9)
    panel.mark("small", "finished", now - 4.0)
    running = panel.last_run_range(now - 3.5)  # still running (large): follows the clock
    assert running == pytest.approx((now - 5.25, now - 3.25))
    panel.mark("large", "finished", now - 1.0)
    panel.end_run()
    low, high = panel.last_run_range(now)
    assert low == pytest.approx(now - 5.25) and high == pytest.approx(now - 0.75)  # 4 s run: 0.25 s margin
    for _ in range(4):
        monitor.sample_once()
    panel.show_last_run()
    assert panel.last_run_view and panel.window_combo.currentText() == "last run"
    x_range = panel.cpu.getViewBox().viewRange()[0]
    assert x_range == pytest.approx([-0.25, 4.25], abs=1e-6)  # seconds since the first request
    assert "since the last run" in panel.legend.text()
    long_run = ResourcePanel(monitor)
    qtbot.addWidget(long_run)
    long_run.mark("small", "sent", now - 40.0)
    long_run.mark("small", "finished", now)
    long_run.end_run()
    assert long_run.last_run_range(now) == pytest.approx((now - 42.0, now + 2.0))  # margin: 5 % of 40 s
    panel.show_last_run(False)
    assert not panel.last_run_view and panel.cpu.getViewBox().viewRange()[0] == pytest.approx([-60.0, 0.0])
    panel.stop()
    long_run.stop()
    monitor.stop()


# -- dialogs -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("preset", "expected"), [
    ("OpenAI", "needed: sk-…"),
    ("OpenRouter", "needed: sk-or-…"),
    ("Groq", "needed: gsk_…"),
    ("Ollama", "not needed for a server on this computer"),
    ("llama.cpp server", "not needed for a server on this computer"),
    ("Custom", "only if the server asks for one"),
])
def test_the_key_placeholder_fits_the_preset(qtbot, preset: str, expected: str) -> None:  # type: ignore[no-untyped-def]
    assert key_placeholder(preset) == expected
    dialog = EndpointDialog(Endpoint("https://api.openai.com/v1", "gpt-4o-mini", name="OpenAI"))
    qtbot.addWidget(dialog)
    assert dialog.api_key.placeholderText() == "needed: sk-…"  # the saved preset's hint from the start
    dialog.preset.setCurrentIndex(dialog.preset.findData(preset))
    assert dialog.api_key.placeholderText() == expected


def test_the_endpoint_dialog_is_wide_enough_for_a_full_url_and_model(qtbot) -> None:  # type: ignore[no-untyped-def]
    dialog = EndpointDialog(Endpoint("https://api.together.xyz/v1", "meta-llama/Llama-3.3-70B-Instruct-Turbo",
                                     name="Together"))
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    metrics = dialog.fontMetrics()
    assert dialog.base_url.width() > metrics.horizontalAdvance(dialog.base_url.text()) + 8
    model_box = dialog.model.lineEdit()
    assert model_box is not None and model_box.width() > metrics.horizontalAdvance(dialog.model.currentText()) + 4


def test_generated_settings_labels_read_as_words(qtbot) -> None:  # type: ignore[no-untyped-def]
    assert _label("endpoint.base_url") == "Base URL"
    assert _label("endpoint.api_key") == "API key"
    assert _label("sampler.rate_hz") == "Sample rate (Hz)"
    assert _label("keep_history") == "Keep history"
    dialog = SettingsDialog(Settings(), "No large model is set up.")
    qtbot.addWidget(dialog)
    labels = {label.text() for label in dialog.findChildren(QLabel)}
    assert {"Base URL", "Top-p", "Show welcome", "Model file (GGUF)"} <= labels
    assert not any("url" in text or " hz" in text.lower() for text in labels)


# -- the first start ---------------------------------------------------------------------------------------
def test_example_buttons_fill_the_input_of_each_task(qtbot) -> None:  # type: ignore[no-untyped-def]
    panel = TaskPanel()
    qtbot.addWidget(panel)
    for task, box in (("chat", panel.chat_input), ("summarize", panel.summary_input),
                      ("translate", panel.translate_input)):
        panel.set_task(task)  # type: ignore[arg-type]
        qtbot.mouseClick(panel.example_buttons[task], Qt.MouseButton.LeftButton)
        assert box.toPlainText() == example_text(task) and box.toPlainText()  # type: ignore[arg-type]
        assert panel.current_task == task
    assert "rail yard" in panel.summary_input.toPlainText()
    assert "characters" in panel.summary_size.text()


@pytest.fixture
def first_start(qtbot, tmp_path: Path) -> Iterator[MainWindow]:  # type: ignore[no-untyped-def]
    window = MainWindow(Workspace(), settings=Settings(), settings_path=tmp_path / "settings.json")
    qtbot.addWidget(window)
    yield window


def test_a_first_start_welcomes_and_closing_it_is_remembered(qtbot, first_start: MainWindow,  # type: ignore[no-untyped-def]
                                                             tmp_path: Path) -> None:
    window = first_start
    window.show()
    large = window.panes["large"]
    assert large.welcome_shown and set(window.welcome.buttons) == {"api", "server", "gguf"}
    assert not large.placeholder_text.isVisible()
    window.tasks.set_task("summarize")
    qtbot.mouseClick(window.welcome.example_button, Qt.MouseButton.LeftButton)
    assert window.tasks.summary_input.toPlainText() == example_text("summarize")
    qtbot.mouseClick(window.welcome.close_button, Qt.MouseButton.LeftButton)
    assert not large.welcome_shown and large.placeholder_shown and large.placeholder_text.isVisible()
    assert load_settings(tmp_path / "settings.json").settings.show_welcome is False
    again = MainWindow(Workspace(), settings=load_settings(tmp_path / "settings.json").settings)
    qtbot.addWidget(again)
    assert not again.panes["large"].welcome_shown
    again.settings.apply(again.settings.settings.with_value("show_welcome", True))  # Settings brings it back
    assert again.panes["large"].welcome_shown


def test_the_welcome_looks_for_servers_on_this_computer(qtbot, fault_server) -> None:  # type: ignore[no-untyped-def]
    from lmscales.core.endpoints import Preset, detect_local_servers
    from lmscales.ui.welcome import Welcome

    welcome = Welcome(lambda: detect_local_servers((Preset("Ollama", fault_server.url("ok"), False),)))
    qtbot.addWidget(welcome)
    welcome.show()
    qtbot.mouseClick(welcome.buttons["server"], Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: welcome.server_note.text().startswith("Found"), timeout=5_000)
    assert welcome.server_note.text() == "Found Ollama (2 models)." and welcome.use_server_button.isVisible()
    with qtbot.waitSignal(welcome.serverRequested):
        qtbot.mouseClick(welcome.use_server_button, Qt.MouseButton.LeftButton)
    nothing = Welcome(lambda: [])
    qtbot.addWidget(nothing)
    nothing.look_for_servers()
    qtbot.waitUntil(lambda: "No server answers" in nothing.server_note.text(), timeout=5_000)
    assert "Ollama 11434" in nothing.server_note.text() and nothing.use_server_button.isHidden()


def test_a_configured_large_side_has_no_welcome(qtbot, llama_server: str) -> None:  # type: ignore[no-untyped-def]
    window = MainWindow(Workspace(), settings=Settings())
    qtbot.addWidget(window)
    window.set_endpoint(Endpoint(llama_server, "any"))
    assert not window.panes["large"].placeholder_shown and not window.panes["large"].welcome_shown
    window.set_endpoint(None, placeholder=("Offline mode: …", "Work online"))
    assert not window.panes["large"].welcome_shown and window.panes["large"].placeholder_text.isVisibleTo(
        window.panes["large"])


# -- history you can use -------------------------------------------------------------------------------
def test_a_history_row_opens_its_comparison_read_only(qtbot) -> None:  # type: ignore[no-untyped-def]
    history = TrialHistory()
    history.append(trial(task="translate", text="The train leaves at noon."))
    view = HistoryView(history)
    qtbot.addWidget(view)
    view.show()
    index = view.model.index(1, 0)  # the large side's row opens the same comparison
    center = view.table.visualRect(index).center()
    qtbot.mouseClick(view.table.viewport(), Qt.MouseButton.LeftButton, pos=center)  # a double-click follows a press
    qtbot.mouseDClick(view.table.viewport(), Qt.MouseButton.LeftButton, pos=center)
    dialogs = view.findChildren(TrialDialog)
    assert len(dialogs) == 1  # the double-click opened it
    dialog = dialogs[0]
    assert dialog.isVisible()
    assert "2026-11-28 18:00" in dialog.windowTitle() and "read-only" in dialog.windowTitle()
    assert dialog.input_view.isReadOnly() and dialog.input_view.toPlainText() == "The train leaves at noon."
    assert set(dialog.answers) == {"small", "large"}
    assert dialog.answers["small"].toPlainText() == "Paris is the capital of France."
    assert dialog.answers["large"].toPlainText() == "The capital of France is Paris."  # Markdown rendered
    assert all(answer.isReadOnly() for answer in dialog.answers.values())
    assert dialog.card.verdicts()["ttft"] == "small: 4.1× faster to first token"
    assert view.open_row(99) is None
    dialog.close()


def test_send_again_reruns_the_input_with_the_same_parameters(qtbot, window: MainWindow) -> None:  # type: ignore[no-untyped-def]
    params = GenerationParams(max_tokens=8, temperature=0.0, top_p=0.9, seed=11)
    past = dataclasses.replace(trial(small_side(), large_side(), task="translate", text="Good morning.",
                                     params=params), mode="sequential")
    assert not window.generation.sequential  # the panel says parallel; the trial's own mode wins
    window.history_store.append(past)
    row = window.history.row_count() - 2
    dialog = window.history.open_row(row)
    assert dialog is not None
    with qtbot.waitSignal(window.bridge.trialEnded, timeout=120_000) as ended:
        qtbot.mouseClick(dialog.send_again_button, Qt.MouseButton.LeftButton)
    wait_idle(qtbot, window)
    again: Trial = ended.args[0]
    assert again.id != past.id
    assert again.input == past.input and again.params == params and again.mode == "sequential"
    assert [side.side for side in again.sides] == ["small"]  # the large side is not set up in this window
    assert again.sides[0].ok and again.sides[0].text.strip()
    assert "without the large side" in window.statusBar().currentMessage()
    assert window.history_store.list()[-1].id == again.id
