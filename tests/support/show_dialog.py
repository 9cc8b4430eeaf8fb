"""Show one dialog of the app on a real X server, check that its content fits, and wait to be photographed.

Run as `python -m tests.support.show_dialog NAME [--theme light|dark]` with DISPLAY and QT_QPA_PLATFORM=xcb
(and QT_SCALE_FACTOR for scaling). It prints one JSON line: the X window id to pass to `xwd -id`, the
dialog's size in device pixels, and `cut`: every visible label, field, box or button whose text does not
fit in it. Then it waits until stdin closes. Used by tests/ui/test_dialog_screenshots.py.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import (
    QAbstractButton,
    QApplication,
    QCheckBox,
    QComboBox,
    QDialog,
    QLabel,
    QLineEdit,
    QTabBar,
    QWidget,
)

from lmscales.core.endpoints import Endpoint
from lmscales.core.settings import Settings
from lmscales.ui.theme import apply_theme

DIALOGS = ("endpoint", "endpoint-openai", "settings", "settings-general", "settings-threads", "trial", "about", "eval",
           "card", "welcome", "clear-history", "replay-speed", "crash", "main")

# The bundled model's measured table on the 2-core machine (bench engine --thread-counts all, spin:1000).
MEASURED = (
    {"threads": 1, "decode_rate": 127.8, "prefill_rate": 240.0, "decode_cpu_per_100": 0.885,
     "prefill_cpu_per_100": 0.42},
    {"threads": 2, "decode_rate": 137.4, "prefill_rate": 433.0, "decode_cpu_per_100": 1.493,
     "prefill_cpu_per_100": 0.47},
)


def build(name: str) -> QWidget:
    if name.startswith("endpoint"):
        from lmscales.ui.endpoint_dialog import EndpointDialog

        current = (Endpoint("https://api.openai.com/v1", "gpt-4o-mini", name="OpenAI") if name == "endpoint-openai"
                   else Endpoint("https://api.together.xyz/v1", "meta-llama/Llama-3.3-70B-Instruct-Turbo",
                                 name="Together"))
        return EndpointDialog(current)
    if name.startswith("settings"):
        from lmscales.core.thread_counts import ThreadRow, ThreadTable
        from lmscales.ui.settings_dialog import SettingsDialog

        table = ThreadTable(tuple(ThreadRow(**row) for row in MEASURED), "2026-11-28T22:00:00",  # type: ignore[arg-type]
                            "SmolLM2-135M-Instruct Q4_1", 2)
        dialog = SettingsDialog(Settings(), "The API key for api.openai.com is kept in the system keyring (Secret "
                                            "Service), never in settings.", thread_table=table)
        tab = {"settings-general": "General", "settings-threads": "Small model"}.get(name)
        if tab is not None:
            dialog.tabs.setCurrentIndex(next(i for i in range(dialog.tabs.count()) if dialog.tabs.tabText(i) == tab))
        return dialog
    if name == "trial":
        from lmscales.ui.history_view import TrialDialog
        from tests.support.trials import trial

        return TrialDialog(trial(task="translate", text="The train to the airport leaves every twenty minutes."))
    if name == "about":
        from lmscales.ui.about import AboutDialog

        return AboutDialog()
    if name == "eval":
        from lmscales.core.session import Session
        from lmscales.core.trial import GenerationParams
        from lmscales.ui.eval_dialog import EvalDialog

        return EvalDialog(Session({"small": None, "large": None}), GenerationParams())
    if name == "card":
        from lmscales.ui.result_card import ResultCard
        from tests.support.trials import large_side, small_side, trial

        card = ResultCard()
        card.show_trial(trial(small_side(), large_side(provenance="estimated")))
        card.setWindowTitle("Result card")
        card.resize(card.sizeHint().expandedTo(card.body.sizeHint()) * 1.1)
        return card
    if name == "welcome":
        from lmscales.ui.welcome import Welcome

        welcome = Welcome(lambda: [])
        welcome.setWindowTitle("Welcome")
        welcome.resize(welcome.fontMetrics().averageCharWidth() * 80, welcome.sizeHint().height())
        return welcome
    if name == "clear-history":
        from lmscales.ui.history_view import clear_history_box

        return clear_history_box(128)
    if name == "replay-speed":
        from lmscales.ui.replay import speed_dialog

        return speed_dialog()
    if name == "crash":
        from pathlib import Path

        from lmscales.core.logs import format_exception_report
        from lmscales.ui.crash import crash_box

        try:  # a real exception, with a real traceback
            raise KeyError("endpoint")
        except KeyError as error:
            return crash_box(format_exception_report(error, Path.home() / ".local/state/lmscales/log/lmscales.log"))
    if name == "main":  # the first start: no model on either side, the welcome in the large pane
        from lmscales.core.workspace import Workspace
        from lmscales.ui.main_window import MainWindow

        window = MainWindow(Workspace(), settings=Settings())
        window.resize(1400, 880)
        return window
    raise SystemExit(f"unknown dialog {name!r}; one of {', '.join(DIALOGS)}")


def _needs(widget: QWidget) -> tuple[str, int, int] | None:
    """What a widget shows, the width it needs for it, and the width it has; None for widgets not checked."""
    metrics = widget.fontMetrics()
    if isinstance(widget, QTabBar):
        return "tabs (scroll arrows)", widget.sizeHint().width(), widget.width() + 1
    if isinstance(widget, QLineEdit):
        text = widget.text() or widget.placeholderText()
        return f"field {text!r}", metrics.horizontalAdvance(text), widget.width() - 8
    if isinstance(widget, QComboBox) and not widget.isEditable():
        return f"box {widget.currentText()!r}", widget.minimumSizeHint().width(), widget.width() + 1
    if isinstance(widget, QAbstractButton) and not isinstance(widget, QCheckBox) and widget.text():
        return f"button {widget.text()!r}", widget.sizeHint().width(), widget.width() + 1
    if isinstance(widget, QLabel) and not widget.wordWrap() and widget.text() and widget.pixmap().isNull():
        return f"label {widget.text()[:40]!r}", widget.sizeHint().width(), widget.width() + 1
    return None


def cut_texts(root: QWidget) -> list[str]:
    """Every visible widget whose own text is wider than the room it has (a cut-off label or field)."""
    cut = []
    for widget in [root, *root.findChildren(QWidget)]:
        if not widget.isVisibleTo(root) or widget.width() <= 0:
            continue
        needs = _needs(widget)
        if needs is not None and needs[1] > needs[2]:
            cut.append(f"{needs[0]}: needs {needs[1]} px, has {needs[2]}")
    return cut


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("name", choices=DIALOGS)
    parser.add_argument("--theme", choices=("light", "dark"), default="light")
    args = parser.parse_args()
    app = QApplication(sys.argv[:1])
    apply_theme(app, args.theme)
    widget = build(args.name)
    if isinstance(widget, QDialog):
        widget.setModal(False)
    widget.move(20, 20)
    widget.show()

    def report() -> None:
        ratio = widget.devicePixelRatio()
        print(json.dumps({"window": int(widget.winId()), "title": widget.windowTitle(),
                          "size": [round(widget.width() * ratio), round(widget.height() * ratio)],
                          "cut": cut_texts(widget)}), flush=True)
        sys.stdin.read()  # photographed: the test closes stdin
        app.quit()

    # Reported once the window has painted (Qt sends its picture to the X server in the same pass), from the
    # event loop's next turn: laid out and on the screen, ready to be photographed.
    FirstPaint(app, widget, lambda: QTimer.singleShot(0, report))
    return app.exec()


class FirstPaint(QObject):
    """Calls `then` once, after the first paint event of `window` or of any widget in it."""

    def __init__(self, app: QApplication, window: QWidget, then: Callable[[], None]) -> None:
        super().__init__(window)
        self.app, self.window, self.then = app, window, then
        self.painted = False
        app.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # Qt override
        if (not self.painted and event.type() == QEvent.Type.Paint and isinstance(watched, QWidget)
                and watched.window() is self.window):
            self.painted = True
            self.app.removeEventFilter(self)
            self.then()
        return False


if __name__ == "__main__":
    raise SystemExit(main())
