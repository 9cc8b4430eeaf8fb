"""Work off the GUI thread that is not a comparison: loading a model, short background calls.

Comparisons run in the `Session`; their events reach the GUI through `session_bridge.SessionBridge`.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable

from PySide6.QtCore import QObject, Signal

from lmscales.core.engines.local import LoadError, LocalEngine


class ModelLoader(QObject):
    """Loads GGUF files into one local engine off the GUI thread; the window shows the outcome."""

    loaded = Signal(object)  # LoadedModel
    loadFailed = Signal(str)
    busyChanged = Signal(bool)
    _ended = Signal()

    def __init__(self, engine: LocalEngine, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.engine = engine
        self._thread: threading.Thread | None = None
        self._busy = False  # only touched on the GUI thread
        self._ended.connect(self._on_ended)

    @property
    def busy(self) -> bool:
        return self._busy

    def load(self, path: str, n_ctx: int | None = None, n_threads: int | None = None) -> bool:
        if self._busy:
            return False
        self._busy = True
        self.busyChanged.emit(True)
        self._thread = threading.Thread(target=self._load, args=(path, n_ctx, n_threads), name="engine-load",
                                        daemon=True)
        self._thread.start()
        return True

    def wait(self, timeout: float = 5.0) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def _on_ended(self) -> None:
        self._busy = False
        self.busyChanged.emit(False)

    def _load(self, path: str, n_ctx: int | None, n_threads: int | None) -> None:
        try:
            self.loaded.emit(self.engine.load(path, n_ctx, n_threads))
        except LoadError as error:
            self.loadFailed.emit(str(error))
        except Exception as error:
            self.loadFailed.emit(f"Loading failed unexpectedly: {error}")
        finally:
            self._ended.emit()


class _Callback(QObject):
    done = Signal(object)


_relays: set[_Callback] = set()  # keeps each relay alive until its result is delivered


def call_in_background(work: Callable[[], object], on_done: Callable[[object], None]) -> None:
    """Run `work` off the GUI thread and hand its result (or the exception it raised) to `on_done` on the
    GUI thread. For short I/O that is not an engine run: listing models, finding local servers."""
    relay = _Callback()  # no parent: it must outlive a dialog that is closed before the work is done
    _relays.add(relay)

    def deliver(result: object) -> None:
        _relays.discard(relay)
        relay.deleteLater()
        with contextlib.suppress(RuntimeError):  # "Internal C++ object already deleted": the asker is gone
            on_done(result)

    relay.done.connect(deliver)

    def run() -> None:
        try:
            result = work()
        except Exception as error:
            result = error
        relay.done.emit(result)

    threading.Thread(target=run, name="background-call", daemon=True).start()
