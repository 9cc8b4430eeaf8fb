"""One bridge per engine: the only place where engine threads meet the GUI thread.

`start` runs the engine's blocking `generate` on a worker thread; each event is re-emitted as a Qt
signal, which Qt queues to the GUI thread because the bridge lives there. Views never touch threads.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator

from PySide6.QtCore import QObject, Signal

from lmscales.core.engines.base import Engine
from lmscales.core.engines.local import LoadError, LocalEngine
from lmscales.core.events import EngineError, Event, Finished, Notice, TextDelta


class EngineBridge(QObject):
    """Deltas are batched: the worker appends to a list and signals only when the list was empty, so a
    stream of any speed puts at most one pending event in the GUI's queue (`deltasReady` carries the batch)."""

    deltasReady = Signal(object)  # list[TextDelta], oldest first
    finished = Signal(object)  # Finished
    failed = Signal(object)  # EngineError
    noticed = Signal(object)  # Notice
    busyChanged = Signal(bool)
    _pumpEnded = Signal()
    _deltasPending = Signal()

    def __init__(self, engine: Engine | None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.engine = engine  # None: this side is not set up yet
        self._thread: threading.Thread | None = None
        self._busy = False  # only touched on the GUI thread
        self.cancel_requested = False
        self._pending: list[TextDelta] = []
        self._pending_lock = threading.Lock()
        # Called on the worker thread for every delta (the resource sampler's tokens/s); must be cheap.
        self.token_observer: Callable[[float], None] | None = None
        self._pumpEnded.connect(self._on_pump_ended)
        self._deltasPending.connect(self._on_deltas_pending)

    @property
    def busy(self) -> bool:
        return self._busy

    def start_events(self, events: Callable[[], Iterator[Event]]) -> bool:
        """Run any event stream built on the engine (a map-reduce summary, say) like a plain generation."""
        if self._busy:
            return False
        self._busy = True
        self.cancel_requested = False  # read by multi-step jobs (map-reduce) between their steps
        self._thread = threading.Thread(target=self._pump, args=(events,), name="engine-bridge", daemon=True)
        self.busyChanged.emit(True)
        self._thread.start()
        return True

    def _on_pump_ended(self) -> None:
        self._busy = False
        self.busyChanged.emit(False)

    def cancel(self) -> None:
        self.cancel_requested = True
        if self.engine is not None:
            self.engine.cancel()

    def wait(self, timeout: float = 5.0) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def _on_deltas_pending(self) -> None:
        with self._pending_lock:
            batch, self._pending = self._pending, []
        if batch:
            self.deltasReady.emit(batch)

    def _pump(self, events: Callable[[], Iterator[Event]]) -> None:
        try:
            for event in events():
                if isinstance(event, TextDelta):
                    if self.token_observer is not None:
                        self.token_observer(event.timestamp)
                    with self._pending_lock:
                        first = not self._pending
                        self._pending.append(event)
                    if first:
                        self._deltasPending.emit()
                elif isinstance(event, Finished):
                    self.finished.emit(event)
                elif isinstance(event, Notice):
                    self.noticed.emit(event)
                else:
                    self.failed.emit(event)
        except Exception as error:  # never let a worker thread die silently
            self.failed.emit(EngineError("internal", f"The engine failed unexpectedly: {error}"))
        finally:
            self._pumpEnded.emit()


class LocalEngineBridge(EngineBridge):
    """The local engine's bridge also loads models off the GUI thread."""

    loaded = Signal(object)  # LoadedModel
    loadFailed = Signal(str)

    def __init__(self, engine: LocalEngine, parent: QObject | None = None) -> None:
        super().__init__(engine, parent)
        self.local_engine = engine

    def load(self, path: str, n_ctx: int | None = None, n_threads: int | None = None) -> bool:
        if self._busy:
            return False
        self._busy = True
        self.busyChanged.emit(True)
        self._thread = threading.Thread(target=self._load, args=(path, n_ctx, n_threads), name="engine-load",
                                        daemon=True)
        self._thread.start()
        return True

    def _load(self, path: str, n_ctx: int | None, n_threads: int | None) -> None:
        try:
            self.loaded.emit(self.local_engine.load(path, n_ctx, n_threads))
        except LoadError as error:
            self.loadFailed.emit(str(error))
        except Exception as error:
            self.loadFailed.emit(f"Loading failed unexpectedly: {error}")
        finally:
            self._pumpEnded.emit()


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
