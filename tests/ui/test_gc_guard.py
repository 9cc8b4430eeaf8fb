"""Cycles are collected on the GUI thread only (`ui/gc_guard.py`): a Qt object in a cycle that a worker thread's
allocations would have collected there is destroyed on the GUI thread instead."""

from __future__ import annotations

import gc
import threading
from typing import ClassVar

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QApplication

from lmscales.ui import gc_guard


class _Cyclic:
    """Garbage in a reference cycle, holding a Qt object; records the thread that finally destroys it."""

    destroyed_on: ClassVar[list[str]] = []

    def __init__(self) -> None:
        self.me = self
        self.qt = QObject()

    def __del__(self) -> None:
        _Cyclic.destroyed_on.append(threading.current_thread().name)


def test_a_worker_threads_allocations_never_collect_qt_objects_there(qtbot, qapp: QApplication) -> None:  # type: ignore[no-untyped-def]
    collector = gc_guard.install(qapp)
    assert gc_guard.install(qapp) is collector  # once per application
    assert not gc.isenabled()
    gc.collect()
    _Cyclic.destroyed_on.clear()
    _Cyclic()  # unreachable at once, but only the cycle collector can free it

    def allocate() -> None:  # far past the threshold: the automatic collector would run here, on this thread
        junk = []
        for _ in range(20 * gc.get_threshold()[0]):
            junk.append([[]])
            junk.append({})

    worker = threading.Thread(target=allocate, name="worker")
    worker.start()
    worker.join()
    assert _Cyclic.destroyed_on == []  # nothing was collected on the worker
    qtbot.waitUntil(lambda: bool(_Cyclic.destroyed_on), timeout=10_000)
    assert _Cyclic.destroyed_on == [threading.main_thread().name]
    assert collector.collections >= 1
