"""The presenter window keeps the keyboard from the moment presenter mode is entered until the presenter's first
key: a clicker sends its keys to whatever has the keyboard, and Space must reach the room's view."""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject, Qt, QTimer
from PySide6.QtGui import QGuiApplication, QWindow
from PySide6.QtWidgets import QWidget

log = logging.getLogger(__name__)


class KeyboardClaim(QObject):
    """`window` (the presenter's) takes the keyboard on `claim`, and takes it back from `owner` (the main window)
    until `release`: on the same screen, the main window is hidden under the full-screen presenter, yet it can
    take the keyboard late, when the window system maps it after the presenter at start-up, and Space would
    then do nothing the room can see. After the first key the user decides where the keyboard goes."""

    def __init__(self, window: QWidget, owner: QWidget | None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._window = window
        self._owner = owner
        self.claiming = False
        self._closed = False
        app = QGuiApplication.instance()
        if isinstance(app, QGuiApplication):
            app.focusWindowChanged.connect(self._on_focus_window_changed)

    def _active(self) -> bool:
        return not self._closed and self._window.isVisible()

    def claim(self) -> None:
        self.claiming = True
        self.take_keyboard()
        QTimer.singleShot(0, self.take_keyboard)  # again once the window system has mapped it

    def release(self) -> None:
        self.claiming = False

    def close(self) -> None:
        """The presenter's windows are going: nothing to give the keyboard to any more."""
        self._closed = True
        self.claiming = False

    def take_keyboard(self) -> None:
        """The window itself, not a child that might eat Space."""
        if not self._active():
            return
        self._window.raise_()
        self._window.activateWindow()
        self._window.setFocus(Qt.FocusReason.ActiveWindowFocusReason)

    def _on_focus_window_changed(self, focused: QWindow | None) -> None:
        owner = self._owner
        if not (self.claiming and self._active() and focused is not None and owner is not None):
            return
        if focused == owner.windowHandle() and owner.screen() == self._window.screen():
            log.info("presenter: the main window took the keyboard; giving it back to the presenter")
            QTimer.singleShot(0, self.take_keyboard)
