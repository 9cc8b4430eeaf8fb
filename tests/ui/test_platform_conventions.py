"""Platform conventions in the window: shortcut text in the platform's notation (⌘ on macOS), explicit menu
roles, the system's appearance followed at run time, and no web links opened while offline."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QUrl
from PySide6.QtGui import QAction, QKeySequence

from lmscales.core import offline
from lmscales.core.endpoints import Endpoint
from lmscales.core.settings import Settings
from lmscales.core.workspace import Workspace
from lmscales.ui import about
from lmscales.ui.main_window import MainWindow
from lmscales.ui.shortcuts import native
from tests.conftest import free_port


@pytest.fixture
def bare_window(qtbot, tmp_path: Path) -> Iterator[MainWindow]:  # type: ignore[no-untyped-def]
    window = MainWindow(Workspace(), settings=Settings(), settings_path=tmp_path / "settings.json")
    qtbot.addWidget(window)
    yield window


def _actions(window: MainWindow) -> dict[str, QAction]:
    return {action.text(): action for menu in window._menus.values() for action in menu.actions() if action.text()}


def test_hints_name_the_keys_in_the_platforms_notation(qtbot, bare_window: MainWindow) -> None:  # type: ignore[no-untyped-def]
    bare_window.set_endpoint(Endpoint(f"http://127.0.0.1:{free_port()}/v1", "m"))  # a side to send to
    qtbot.keyClicks(bare_window.tasks.chat_input, "Hello")
    send = QKeySequence("Ctrl+Return").toString(QKeySequence.SequenceFormat.NativeText)
    if sys.platform == "darwin":  # Qt writes Ctrl as ⌘ there; this branch runs on the macOS CI runners
        assert "⌘" in bare_window.hint.text() and "Ctrl" not in bare_window.hint.text()
        assert bare_window.hint.text().startswith(send)
    else:
        assert bare_window.hint.text() == (f"{send.replace('Return', 'Enter')} sends. The small side is not set up. "
                                           "Only the large side runs.")
    for button, keys in ((bare_window.local_only_button, "Ctrl+Shift+L"), (bare_window.remote_only_button,
                                                                           "Ctrl+Shift+R")):
        assert button.toolTip().splitlines()[0].endswith(f"({native(keys)})")  # then why it cannot run, if so
    assert native("Ctrl+Return") in bare_window.tasks.chat_input.placeholderText()
    assert bare_window.tasks.tabToolTip(0).endswith(f"({native('Ctrl+1')})")


def test_menu_roles_are_explicit(bare_window: MainWindow) -> None:
    actions = _actions(bare_window)
    assert actions["Quit"].menuRole() == QAction.MenuRole.QuitRole
    assert actions["Settings…"].menuRole() == QAction.MenuRole.PreferencesRole
    assert actions["About LM Scales"].menuRole() == QAction.MenuRole.AboutRole
    # Nothing else is left to Qt's guess from the text ("Generation settings panel" would move to the macOS
    # application menu), and the Help menu keeps an entry of its own there.
    others = [action for text, action in actions.items() if text not in {"Quit", "Settings…", "About LM Scales"}]
    assert others and all(action.menuRole() == QAction.MenuRole.NoRole for action in others)
    help_menu = bare_window._menus["&Help"]
    assert any(action.menuRole() == QAction.MenuRole.NoRole for action in help_menu.actions())


THEME_SCRIPT = """
import sys
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication, QLabel
from lmscales.ui import theme

app = QApplication([])
label = QLabel("styled")
label.setStyleSheet("color: palette(text);")
hints = QGuiApplication.styleHints()
theme.system_is_dark = lambda: False
assert theme.apply_theme(app, "system") is False
theme.system_is_dark = lambda: True  # the user switches macOS/Windows to dark
hints.colorSchemeChanged.emit(Qt.ColorScheme.Dark)
assert app.property("lmscalesDark") is True, "system change not followed"
theme.apply_theme(app, "light")  # a chosen theme is kept whatever the system does
hints.colorSchemeChanged.emit(Qt.ColorScheme.Dark)
assert app.property("lmscalesDark") is False, "a chosen theme was overridden"
print("ok")
"""


def test_the_theme_follows_the_systems_appearance() -> None:
    """In a fresh process: re-applying the palette to every widget of an app that has run the whole suite
    would test the suite's leftovers, not the theme."""
    import os
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-c", THEME_SCRIPT], capture_output=True, text=True, timeout=120,
                            env={**os.environ, "QT_QPA_PLATFORM": "offscreen"}, check=False)
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stdout + result.stderr


def test_about_opens_no_web_link_offline(qtbot, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    opened: list[str] = []
    monkeypatch.setattr(about.QDesktopServices, "openUrl", lambda url: opened.append(url.toString()) or True)
    offline.enable()
    try:
        dialog = about.AboutDialog()
        qtbot.addWidget(dialog)
        assert 'href="https://' not in dialog.text.toHtml() and "download.qt.io" in dialog.text.toPlainText()
        assert dialog.offline_note.isVisibleTo(dialog)
        dialog.text.anchorClicked.emit(QUrl(about.LGPL_URL))
        assert opened == []
        licence = QUrl.fromLocalFile(str(Path(__file__)))
        dialog.text.anchorClicked.emit(licence)  # a file on this computer still opens
        assert opened == [licence.toString()]
    finally:
        offline.disable()
    online = about.AboutDialog()
    qtbot.addWidget(online)
    assert 'href="https://' in online.text.toHtml() and not online.offline_note.isVisibleTo(online)
    online.text.anchorClicked.emit(QUrl(about.LGPL_URL))
    assert opened[-1] == about.LGPL_URL


def test_no_hint_in_the_window_hard_codes_ctrl(qtbot, monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
                                               tmp_path: Path) -> None:
    # Qt writes Ctrl as ⌘ only on a Mac, so on Linux a literal "Ctrl+" looks right. Render native shortcut
    # text as macOS does, then every hint, tooltip and placeholder the window shows must have followed it.
    from PySide6.QtWidgets import QAbstractButton, QLabel, QLineEdit, QPlainTextEdit, QTabWidget, QTextEdit, QWidget

    from lmscales.ui import shortcuts

    portable = QKeySequence.toString

    native_format = QKeySequence.SequenceFormat.NativeText

    def as_on_a_mac(sequence: QKeySequence, format: QKeySequence.SequenceFormat = native_format) -> str:
        text = portable(sequence, QKeySequence.SequenceFormat.PortableText)
        return text.replace("Ctrl+", "⌘").replace("Shift+", "⇧") if format == native_format else text

    monkeypatch.setattr(QKeySequence, "toString", as_on_a_mac)
    assert shortcuts.native("Ctrl+Shift+L") == "⌘⇧L"
    window = MainWindow(Workspace(), settings=Settings(), settings_path=tmp_path / "settings.json")
    qtbot.addWidget(window)
    texts: list[tuple[str, str]] = []
    for widget in [window, *window.findChildren(QWidget)]:
        texts.append((widget.objectName() or type(widget).__name__, widget.toolTip()))
        if isinstance(widget, (QLabel, QAbstractButton)):
            texts.append((type(widget).__name__, widget.text()))
        if isinstance(widget, (QLineEdit, QPlainTextEdit, QTextEdit)):
            texts.append((type(widget).__name__, widget.placeholderText()))
    for tabs in window.findChildren(QTabWidget):
        texts += [("tab", tabs.tabToolTip(index)) for index in range(tabs.count())]
    hard_coded = [(name, text) for name, text in texts if "Ctrl" in text]
    assert not hard_coded, hard_coded
    assert any("⌘" in text for _, text in texts)  # the walk did reach the hints
    window.close()
