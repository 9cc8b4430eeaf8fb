"""The one way for work to leave the GUI thread and come back (Anki's `aqt/taskman.py` is the pattern), beside
the session bridge that carries a comparison's events.

`run_in_background(task, on_done)` runs `task` on a daemon thread of its own and calls
`on_done(future)` on the GUI thread; `future.result()` returns the task's value or raises its exception.
`run_on_main(action)` calls `action` on the GUI thread, from any thread (a long task's progress). Nothing in
`lmscales.ui` starts a thread of its own: model loading, the endpoint test, local-server discovery,
evaluation, history writes and exports all come through here.

The runner belongs to the QApplication (a child object, made on first use), not to a module: it lives as
long as the application and a test's application gets its own. Results for an asker that Qt has already
deleted are dropped quietly.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from concurrent.futures import CancelledError, Future
from typing import Any, TypeVar

from PySide6.QtCore import QCoreApplication, QObject, Qt, QThread, Signal

from lmscales.core.daemon import run_daemon

log = logging.getLogger(__name__)

T = TypeVar("T")
_NAME = "lmscales-background"


class BackgroundRunner(QObject):
    """Runs each task on a daemon thread of its own (`core.daemon.run_daemon`: a task may block for minutes, and
    never holds up quitting) and brings results back to the GUI thread through one queued signal."""

    _delivered = Signal(object)  # a zero-argument callable to run on the GUI thread

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(_NAME)
        # Always queued, even from the GUI thread: a task that ends at once must not be handled before what its
        # worker sent ahead of it with `run_on_main` (events to one object are delivered in order).
        self._delivered.connect(self._on_delivered, Qt.ConnectionType.QueuedConnection)
        self._closed = False

    def run(self, task: Callable[[], T], on_done: Callable[[Future[T]], object] | None = None) -> Future[T]:
        if self._closed:
            future: Future[T] = Future()
            future.cancel()
        else:
            future = run_daemon(task, _NAME)
        if on_done is not None:
            future.add_done_callback(lambda done: self._delivered.emit(lambda: on_done(done)))
        return future

    def call_on_main(self, action: Callable[[], object]) -> None:
        if QThread.currentThread() is self.thread():
            self._on_delivered(action)
        else:
            self._delivered.emit(action)  # queued: the runner lives on the GUI thread

    def _on_delivered(self, action: Callable[[], object]) -> None:
        try:
            action()
        except RuntimeError as error:
            if "already deleted" not in str(error):  # the asker (a closed dialog) is gone: nothing to show
                raise

    def shutdown(self) -> None:
        """No new tasks (the application is quitting); running ones end with the process."""
        self._closed = True


def runner() -> BackgroundRunner:
    """The application's runner (made on first use, on the GUI thread)."""
    app = QCoreApplication.instance()
    if app is None:
        raise RuntimeError("run_in_background needs a QApplication")
    found = app.findChild(BackgroundRunner, _NAME)
    if found is None:
        if QThread.currentThread() is not app.thread():
            raise RuntimeError("the background runner must first be used on the GUI thread")
        found = BackgroundRunner(app)
        app.aboutToQuit.connect(found.shutdown)
    return found


def run_in_background(task: Callable[[], T], on_done: Callable[[Future[T]], object] | None = None) -> Future[T]:
    """Run `task` off the GUI thread; `on_done(future)` on the GUI thread when it has ended."""
    return runner().run(task, on_done)


def run_on_main(action: Callable[[], object]) -> None:
    """Call `action` on the GUI thread (at once when already there)."""
    runner().call_on_main(action)


def outcome(future: Future[Any]) -> Any:
    """The task's value, or the exception it raised (for handlers that show either); a task cancelled because
    the application is quitting gives its `CancelledError`."""
    if future.cancelled():
        return CancelledError("the application is quitting")
    with contextlib.suppress(Exception):
        return future.result()
    return future.exception()
