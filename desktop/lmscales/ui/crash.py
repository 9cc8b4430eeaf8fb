"""Unexpected exceptions: logged (secrets redacted), shown in a dialog that says where the log is, and the
app goes on. Exceptions on worker threads are carried to the GUI thread first."""

from __future__ import annotations

import logging
import sys
import threading
from types import TracebackType

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QMessageBox, QWidget

from lmscales.core.logs import current_log_file, format_exception_report

log = logging.getLogger("lmscales.crash")


class CrashReporter(QObject):
    reported = Signal(str)  # the text shown to the user
    _carry = Signal(object)

    def __init__(self, parent: QWidget | None = None, show_dialog: bool = True) -> None:
        super().__init__(parent)
        self._parent = parent
        self._show = show_dialog
        self.reports: list[str] = []
        self._carry.connect(self._on_exception)

    def install(self) -> None:
        sys.excepthook = self._hook
        threading.excepthook = lambda args: self._hook(args.exc_type, args.exc_value, args.exc_traceback)

    def attach(self, window: QWidget) -> None:
        """Open later reports over `window` (the reporter is installed before the window exists, so that what
        goes wrong while it is built is reported too)."""
        self._parent = window

    def report_startup_failure(self, error: BaseException) -> None:
        """An error before the window could open: logged, and shown in a dialog that waits (there is no window
        to go back to); the caller then ends the app."""
        log.error("LM Scales could not start", exc_info=(type(error), error, error.__traceback__))
        text = format_exception_report(error, current_log_file())
        self.reports.append(text)
        self.reported.emit(text)
        if self._show:
            box = crash_box(text, self._parent)
            box.setWindowTitle("LM Scales could not start")
            box.setInformativeText("LM Scales could not open its window; the log file named above says why.")
            box.exec()

    def _hook(self, kind: type[BaseException], error: BaseException | None,
              traceback: TracebackType | None) -> None:
        if error is None:
            error = kind()
        if isinstance(error, KeyboardInterrupt):
            sys.__excepthook__(kind, error, traceback)
            return
        log.error("unexpected error", exc_info=(kind, error, traceback))
        self._carry.emit(error)  # queued to the GUI thread when raised elsewhere

    def _on_exception(self, error: BaseException) -> None:
        text = format_exception_report(error, current_log_file())
        self.reports.append(text)
        self.reported.emit(text)
        if self._show:
            crash_box(text, self._parent).open()


def crash_box(text: str, parent: QWidget | None = None) -> QMessageBox:
    """What the user sees of an unexpected error: the report (with the log file to send) and that the app goes on."""
    box = QMessageBox(QMessageBox.Icon.Warning, "LM Scales hit an unexpected problem", text,
                      QMessageBox.StandardButton.Ok, parent)
    box.setInformativeText("LM Scales keeps running; what you were doing may need to be tried again.")
    return box
