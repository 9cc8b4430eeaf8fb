"""Python's cyclic garbage collector, run on the GUI thread only.

Python collects reference cycles whenever enough objects have been allocated, on whichever thread is
allocating at that moment. In this app that is often a worker thread: the session's, a remote stream's
reader, the monitor's. A Qt object in a collected cycle (a window, a dialog, a timer) is then destroyed on that
thread, which Qt does not allow: it warns "QBasicTimer::start: Timers cannot be started from another thread",
and it can crash. Seen in the test suite under load, from the remote stream's reader thread.

So, as qutebrowser and other long-lived PySide/PyQt apps do: automatic collection is turned off, and a timer
on the GUI thread collects each generation when its count passes the threshold Python itself would have
used, and the youngest at least every few seconds. Plain reference counting (which frees almost everything)
is untouched; only cycles wait.
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QCoreApplication, QObject, QTimer

INTERVAL_MS = 500
# The youngest generation at least this often, whatever its count: the count is allocations minus frees, so
# a worker that allocates a lot and frees it again leaves it low while its cycles wait.
FORCE_EVERY_TICKS = 10


class GuiThreadCollector(QObject):
    """Disables automatic collection and collects on the GUI thread every `INTERVAL_MS`."""

    def __init__(self, parent: QObject, interval_ms: int = INTERVAL_MS) -> None:
        super().__init__(parent)
        self.threshold = gc.get_threshold()
        self.collections = 0
        self._quiet_ticks = 0
        self.timer = QTimer(self)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self.check)
        gc.disable()
        self.timer.start()

    def check(self) -> None:
        """What the automatic collector would have done by now: the youngest generation past its threshold,
        and the older ones when theirs are past too."""
        young, middle, old = gc.get_count()
        self._quiet_ticks += 1
        if young > self.threshold[0] or self._quiet_ticks >= FORCE_EVERY_TICKS:
            self._quiet_ticks = 0
            generation = 0
            if middle > self.threshold[1]:
                generation = 2 if old > self.threshold[2] else 1
            gc.collect(generation)
            self.collections += 1

    def stop(self) -> None:
        self.timer.stop()
        gc.enable()


def install(app: QCoreApplication) -> GuiThreadCollector:
    """Once per application (later calls return the same collector). Call on the GUI thread."""
    existing = app.findChild(GuiThreadCollector)
    if isinstance(existing, GuiThreadCollector):
        return existing
    return GuiThreadCollector(app)
