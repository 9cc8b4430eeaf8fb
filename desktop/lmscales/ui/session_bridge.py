"""The one place where the session's worker threads meet the GUI thread.

`SessionBridge` subscribes to a Qt-free `Session` and re-emits each of its events as a Qt signal; Qt queues
them to the GUI thread because the bridge lives there. Text deltas are batched per side: the worker appends
to a list and signals only when the list was empty, so a stream of any speed puts at most one pending
event per side in the GUI's queue (Anki's taskman pattern). Panes, the history view and the resource graphs
subscribe to these signals; none of them touches a thread or an engine.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

from PySide6.QtCore import QObject, Signal

from lmscales.core.events import Notice, TextDelta
from lmscales.core.session import (
    SLOTS,
    Session,
    SessionEvent,
    SideEnded,
    SideQueued,
    SideStarted,
    SideStreamed,
    TrialEnded,
    TrialStarted,
)
from lmscales.core.trial import GenerationParams, RunMode, TaskInput


class SessionBridge(QObject):
    trialStarted = Signal(object)  # TrialStarted
    sideQueued = Signal(str)  # side
    sideStarted = Signal(str, object)  # side, SideStarted
    deltasReady = Signal(str, object)  # side, list[TextDelta] oldest first
    noticed = Signal(str, object)  # side, Notice
    sideEnded = Signal(str, object)  # side, SideResult
    trialEnded = Signal(object)  # Trial
    runningChanged = Signal(bool)
    _event = Signal(object)  # any session event but deltas, in order
    _deltasPending = Signal(str)

    def __init__(self, session: Session, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.session = session
        # Running from submit until the GUI has shown the trial's end (the session itself is done a little
        # earlier, on its own thread): a caller that waits for "not running" finds every pane settled.
        self._running = False
        self._pending: dict[str, list[TextDelta]] = {side: [] for side in SLOTS}
        self._lock = threading.Lock()
        self._event.connect(self._on_event)
        self._deltasPending.connect(self._flush)
        self._unsubscribe = session.subscribe(self._from_worker)

    # -- worker side --------------------------------------------------------------------------------------
    def _from_worker(self, event: SessionEvent) -> None:
        if isinstance(event, SideStreamed) and isinstance(event.event, TextDelta):
            with self._lock:
                pending = self._pending.setdefault(event.side, [])
                first = not pending
                pending.append(event.event)
            if first:
                self._deltasPending.emit(event.side)
            return
        self._event.emit(event)

    # -- GUI side -----------------------------------------------------------------------------------------
    def _flush(self, side: str) -> None:
        with self._lock:
            batch, self._pending[side] = self._pending.get(side, []), []
        if batch:
            self.deltasReady.emit(side, batch)

    def _on_event(self, event: SessionEvent) -> None:
        if isinstance(event, TrialStarted):
            self._running = True
            self.trialStarted.emit(event)
            self.runningChanged.emit(True)
        elif isinstance(event, SideQueued):
            self.sideQueued.emit(event.side)
        elif isinstance(event, SideStarted):
            self.sideStarted.emit(event.side, event)
        elif isinstance(event, SideStreamed) and isinstance(event.event, Notice):
            self.noticed.emit(event.side, event.event)
        elif isinstance(event, SideEnded):
            self._flush(event.side)  # every delta of the side is shown before its end
            self.sideEnded.emit(event.side, event.result)
        elif isinstance(event, TrialEnded):
            self._running = self.session.running  # a new trial may already have been submitted
            self.trialEnded.emit(event.trial)
            self.runningChanged.emit(self._running)

    # -- commands -----------------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._running or self.session.running

    def submit(self, task_input: TaskInput, params: GenerationParams, sides: Iterable[str],
               mode: RunMode = "parallel") -> str:
        trial_id = self.session.submit(task_input, params, sides, mode)
        self._running = True
        return trial_id

    def cancel(self, side: str | None = None) -> None:
        self.session.cancel(side)

    def wait(self, timeout: float = 10.0) -> None:
        self.session.wait(timeout)

    def close(self) -> None:
        self._unsubscribe()
