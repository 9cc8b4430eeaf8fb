"""Work off the GUI thread that is not a comparison: loading a model, short background calls.

Comparisons run in the `Session`; their events reach the GUI through `session_bridge.SessionBridge`.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable

from PySide6.QtCore import QObject, Signal

from lmscales.core.engines.local import LoadError, LocalEngine, default_threads
from lmscales.core.threads import ThreadPolicy


class ModelLoader(QObject):
    """Loads GGUF files into one local engine off the GUI thread, then takes the thread counts from the model's
    measured table (measuring it first, with progress, the first time); the window shows the outcome."""

    loaded = Signal(object)  # LoadedModel
    loadFailed = Signal(str)
    busyChanged = Signal(bool)
    progress = Signal(str)  # "Measuring threads: 2 of 4…", or a measurement's failure
    threadsChosen = Signal(object)  # LoadedModel, after a measurement or a new preference
    _ended = Signal()

    def __init__(self, engine: LocalEngine, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.engine = engine
        self.policy: ThreadPolicy | None = None  # None: the threads stay as set (tests, benches)
        self._thread: threading.Thread | None = None
        self._busy = False  # only touched on the GUI thread
        self._pending: list[Callable[[], object]] = []  # GUI-thread actions waiting for the current work to end
        self._ended.connect(self._on_ended)

    @property
    def busy(self) -> bool:
        return self._busy

    def _start(self, work: Callable[[], None], name: str) -> bool:
        if self._busy:
            return False
        self._busy = True
        self.busyChanged.emit(True)
        self._thread = threading.Thread(target=self._run, args=(work,), name=name, daemon=True)
        self._thread.start()
        return True

    def load(self, path: str, n_ctx: int | None = None, n_threads: int | None = None) -> bool:
        """Load `path`; with no thread count given, the threads come from the measured table (`policy`)."""
        def work() -> None:
            model = self.engine.load(path, n_ctx, n_threads)
            if n_threads is None:
                self._choose(again=False)
                model = self.engine.model or model
            self.loaded.emit(model)

        return self._start(work, "engine-load")

    def when_idle(self, action: Callable[[], object]) -> None:
        """Run `action` on the GUI thread now, or once the load or measurement under way has ended (so a
        thread count set by hand during a measurement is not overwritten by its result)."""
        if self._busy:
            self._pending.append(action)
        else:
            action()

    def measure_again(self) -> bool:
        """Measure the loaded model's thread table again ("Measure again" in the settings); after the work
        under way, if any."""
        def work() -> None:
            if self._choose(again=True) and self.engine.model is not None:
                self.threadsChosen.emit(self.engine.model)

        if self._busy:
            self._pending.append(self.measure_again)
            return True
        return self._start(work, "engine-measure")

    def choose(self) -> bool:
        """Threads from the policy again (a new preference, or a hand-set count cleared): the stored table,
        measured first if there is none and measuring is on; with neither, the engine's default count."""
        def work() -> None:
            if not self._choose(again=False) and self.policy is not None and self.engine.thread_table is None:
                self.engine.set_threads(default_threads())
            if self.engine.model is not None:
                self.threadsChosen.emit(self.engine.model)

        if self._busy:
            self._pending.append(self.choose)
            return True
        return self._start(work, "engine-threads")

    def _choose(self, again: bool) -> bool:
        policy = self.policy
        if policy is None:
            return False

        def progress(done: int, total: int) -> None:
            self.progress.emit(f"Measuring the best thread count for this model: {done} of {total}…")

        if again or (policy.measure and policy.store.get(self._key()) is None):
            self.progress.emit("Measuring the best thread count for this model (a few seconds, once per model)…")
        try:
            choice = self.engine.choose_threads(policy.store, policy.preference, measure=policy.measure,
                                                again=again, progress=progress)
        except LoadError as error:
            self.progress.emit(f"⚠ {error} The threads stay at {self.engine.n_threads}.")
            return False
        return choice is not None

    def _key(self) -> str:
        model = self.engine.model
        return self.engine.thread_key() if model is not None else ""

    def wait(self, timeout: float = 5.0) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def _on_ended(self) -> None:
        self._busy = False
        self.busyChanged.emit(False)
        while self._pending and not self._busy:
            self._pending.pop(0)()

    def _run(self, work: Callable[[], None]) -> None:
        try:
            work()
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
