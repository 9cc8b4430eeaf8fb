"""The first window, driven with pytest-qt on the real engine (offscreen)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from lmscales.core.engines.local import LocalEngine
from lmscales.ui.bridge import LocalEngineBridge
from lmscales.ui.main_window import MainWindow
from tests.conftest import TEST_THREADS

pytestmark = pytest.mark.slow


@pytest.fixture
def window(qtbot, bundled_model: Path) -> Iterator[MainWindow]:  # type: ignore[no-untyped-def]
    engine = LocalEngine(n_ctx=2048, n_threads=TEST_THREADS)
    bridge = LocalEngineBridge(engine)
    win = MainWindow(bridge)
    qtbot.addWidget(win)
    win.show()
    win.activateWindow()
    qtbot.waitActive(win)  # window shortcuts (Ctrl+Enter, Esc) need an active window
    with qtbot.waitSignal(bridge.loaded, timeout=60_000):
        bridge.load(str(bundled_model))
    qtbot.waitUntil(lambda: not bridge.busy)
    yield win
    bridge.cancel()
    bridge.wait()
    engine.close()


def test_model_card_and_send_disabled_until_there_is_text(qtbot, window: MainWindow) -> None:  # type: ignore[no-untyped-def]
    assert "135M" in window.model_card.text() and "Q4_1" in window.model_card.text()
    assert not window.send_button.isEnabled()
    qtbot.keyClicks(window.input, "   ")
    assert not window.send_button.isEnabled()
    qtbot.keyClicks(window.input, "Hello")
    assert window.send_button.isEnabled()


def test_ctrl_enter_streams_and_shows_metrics(qtbot, window: MainWindow) -> None:  # type: ignore[no-untyped-def]
    qtbot.keyClicks(window.input, "Say hello in one short sentence.")
    with qtbot.waitSignal(window.bridge.finished, timeout=60_000):
        qtbot.keyClick(window.input, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: not window.bridge.busy)
    assert window.output.toPlainText().strip()
    assert "TTFT" in window.metrics_line.text() and "tok/s" in window.metrics_line.text()


def test_escape_stops(qtbot, window: MainWindow) -> None:  # type: ignore[no-untyped-def]
    qtbot.keyClicks(window.input, "Write a very long story about a cat.")
    window.send()
    qtbot.waitUntil(lambda: bool(window.output.toPlainText()), timeout=30_000)
    with qtbot.waitSignal(window.bridge.finished, timeout=5_000):
        qtbot.keyClick(window, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: not window.bridge.busy)
    assert window.status_line.text() == "Stopped."


def test_bad_model_shows_message_and_keeps_model(qtbot, window: MainWindow, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "bad.gguf"
    bad.write_text("nope")
    card = window.model_card.text()
    with qtbot.waitSignal(window.bridge.loadFailed, timeout=30_000):
        window.bridge.load(str(bad))
    assert "not a GGUF model file" in window.status_line.text()
    assert "still loaded" in window.status_line.text()
    assert window.model_card.text() == card
