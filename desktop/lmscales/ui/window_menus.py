"""The window's menus and their shortcuts. Each action calls a method of the window (or of one of its parts):
the menus decide nothing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QAction, QDesktopServices, QKeySequence
from PySide6.QtWidgets import QMainWindow

from lmscales.core.logs import log_dir
from lmscales.core.recording import Collector
from lmscales.core.session import SLOTS
from lmscales.ui.about import show_about
from lmscales.ui.history_view import HistoryView
from lmscales.ui.presenter import Presenter
from lmscales.ui.replay import ReplayController, ReplayMenu
from lmscales.ui.send_bar import SendBar
from lmscales.ui.settings_controller import SettingsController
from lmscales.ui.task_inputs import TaskPanel
from lmscales.ui.thread_control import ThreadControl

MENUS = ("&File", "&Run", "&View", "&Settings", "&Help")


def show_log_folder() -> None:
    folder = log_dir()
    folder.mkdir(parents=True, exist_ok=True)
    QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder)))


class MenuOwner(Protocol):
    """What the menus call: the main window's parts and actions."""

    tasks: TaskPanel
    history: HistoryView
    replay: ReplayController
    recorder: Collector
    presenter: Presenter
    send_bar: SendBar
    threads: ThreadControl
    settings: SettingsController

    def send(self, sides: tuple[str, ...]) -> None: ...
    def stop(self) -> None: ...
    def new_chat(self) -> None: ...
    def evaluate(self) -> None: ...
    def open_model(self, side: str = "small") -> None: ...
    def open_settings(self) -> None: ...
    def configure_endpoint(self) -> None: ...


class WindowMenus:
    """Builds the menu bar of `window`; keeps the actions others check or trigger (send, presenter, offline)."""

    def __init__(self, window: QMainWindow, owner: MenuOwner) -> None:
        self.window = window
        bar = window.menuBar()
        self.menus = {name: bar.addMenu(name) for name in MENUS}
        w = owner
        self.add("&File", "Open text to summarize…", QKeySequence(QKeySequence.StandardKey.Open), w.tasks.open_file)
        self.add("&File", "Open GGUF model…", QKeySequence("Ctrl+Shift+O"), lambda: w.open_model("small"))
        self.add("&File", "Open GGUF model for the large side…", None, lambda: w.open_model("large"))
        self.add("&File", "Export history…", QKeySequence("Ctrl+E"), w.history.export_dialog)
        self.menus["&File"].addSeparator()
        self.replay_menu = ReplayMenu(window, self.menus["&File"], w.replay, w.recorder)
        self.menus["&File"].addSeparator()
        self.add("&File", "Quit", QKeySequence(QKeySequence.StandardKey.Quit), window.close, QAction.MenuRole.QuitRole)
        self.send_action = self.add("&Run", "Send to both", QKeySequence("Ctrl+Return"), lambda: w.send(SLOTS))
        self.send_action.setShortcuts([QKeySequence("Ctrl+Return"), QKeySequence("Ctrl+Enter")])
        self.add("&Run", "Small model only", QKeySequence("Ctrl+Shift+L"), lambda: w.send(("small",)))
        self.add("&Run", "Large model only", QKeySequence("Ctrl+Shift+R"), lambda: w.send(("large",)))
        self.add("&Run", "Stop", QKeySequence(Qt.Key.Key_Escape), w.stop)
        self.add("&Run", "New chat", QKeySequence(QKeySequence.StandardKey.New), w.new_chat)
        self.add("&Run", "Evaluate…", QKeySequence("Ctrl+Shift+V"), w.evaluate)
        self.menus["&Run"].addSeparator()
        for index, name in enumerate(("Chat", "Summarize", "Translate"), start=1):
            self.add("&Run", name, QKeySequence(f"Ctrl+{index}"),
                     lambda _=False, i=index - 1: w.tasks.setCurrentIndex(i))
        self.presenter_action = self.add("&View", "Presenter mode", QKeySequence("F11"), w.presenter.toggle)
        self.add("&Settings", "Settings…", QKeySequence("Ctrl+,"), w.open_settings, QAction.MenuRole.PreferencesRole)
        self.add("&Settings", "Generation settings panel", QKeySequence("Ctrl+G"), w.send_bar.settings_toggle.toggle)
        self.add("&Settings", "Large model endpoint…", QKeySequence("Ctrl+Shift+E"), w.configure_endpoint)
        self.add("&Settings", "Measure the small model's threads again", None, w.threads.measure_again)
        self.offline_action = self.add("&Settings", "Work offline", QKeySequence("Ctrl+Shift+F"),
                                       lambda checked: w.settings.set_offline(checked))
        self.offline_action.setCheckable(True)
        self.add("&Help", "Show log folder", None, show_log_folder)  # stays in Help on macOS too
        self.add("&Help", "About LM Scales", None, lambda: show_about(window), QAction.MenuRole.AboutRole)

    def add(self, menu_name: str, text: str, shortcut: QKeySequence | None, slot: Callable[..., object],
            role: QAction.MenuRole = QAction.MenuRole.NoRole) -> QAction:
        action = QAction(text, self.window)
        # Explicit roles: Qt's guess from the text would move e.g. "Generation settings panel" into the macOS
        # application menu. Quit, Settings and About go there on purpose.
        action.setMenuRole(role)
        if shortcut is not None:
            action.setShortcut(shortcut)
        action.triggered.connect(slot)
        self.menus[menu_name].addAction(action)
        return action
