"""Loading a GGUF into a slot of the workspace, and choosing its threads, off the GUI thread.

Comparisons run in the `Session`; their events reach the GUI through `session_bridge.SessionBridge`. The work
here (a load, a thread measurement) goes through `background.run_in_background`, the one way out of the GUI
thread; the workspace decides how a model is loaded and its threads chosen, this object only reports it.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import wait as wait_for

from PySide6.QtCore import QObject, Signal

from lmscales.core.engines.factory import GgufSpec
from lmscales.core.engines.local import LoadedModel, LoadError
from lmscales.core.workspace import Workspace
from lmscales.ui.background import run_in_background, run_on_main


class ModelLoader(QObject):
    """Loads GGUF files into one slot of `workspace`, then takes the thread counts from the model's measured
    table (measuring it first, with progress, the first time); the window shows the outcome. One piece of work
    at a time: what is asked meanwhile waits for it (`when_idle`)."""

    loaded = Signal(object)  # LoadedModel
    loadFailed = Signal(str)
    busyChanged = Signal(bool)
    progress = Signal(str)  # "Measuring threads: 2 of 4…", or a measurement's failure
    threadsChosen = Signal(object)  # LoadedModel, after a measurement or a new preference

    def __init__(self, workspace: Workspace, side: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.workspace = workspace
        self.side = side
        self._future: Future[LoadedModel | None] | None = None
        self._busy = False  # only touched on the GUI thread
        self._pending: list[Callable[[], object]] = []  # GUI-thread actions waiting for the current work to end

    @property
    def busy(self) -> bool:
        return self._busy

    def _start(self, work: Callable[[], LoadedModel | None], done: Callable[[LoadedModel | None], None]) -> bool:
        if self._busy:
            return False
        self._busy = True
        self.busyChanged.emit(True)
        self._future = run_in_background(work, lambda future: self._on_ended(future, done))
        return True

    def load(self, spec: GgufSpec) -> bool:
        """Load `spec` into the slot; with no thread count in it, the threads come from the measured table."""
        def work() -> LoadedModel:
            model = self.workspace.load(self.side, spec, choose_threads=False)
            if spec.threads is None:
                self._choose(again=False)
                model = self._model() or model
            return model

        return self._start(work, self.loaded.emit)

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
        return self._chosen_after(again=True)

    def choose(self) -> bool:
        """Threads from the workspace's policy again (a new preference, or a hand-set count cleared)."""
        return self._chosen_after(again=False)

    def _chosen_after(self, again: bool) -> bool:
        if self._busy:
            self._pending.append(lambda: self._chosen_after(again))
            return True

        def work() -> LoadedModel | None:
            return self._model() if self._choose(again) else None

        return self._start(work, lambda model: None if model is None else self.threadsChosen.emit(model))

    def _choose(self, again: bool) -> bool:
        """On the worker: the workspace chooses; the words of its progress are made here."""
        def progress(done: int, total: int) -> None:
            self._say(f"Measuring the best thread count for this model: {done} of {total}…")

        if self.workspace.threads.will_measure(self.workspace.engine(self.side), again):
            self._say("Measuring the best thread count for this model (a few seconds, once per model)…")
        try:
            return self.workspace.choose_threads(self.side, again, progress)
        except LoadError as error:
            engine = self.workspace.local_engine(self.side)
            threads = engine.n_threads if engine is not None else "?"
            self._say(f"⚠ {error} The threads stay at {threads}.")
            return False

    def _model(self) -> LoadedModel | None:
        engine = self.workspace.local_engine(self.side)
        return engine.model if engine is not None else None

    def _say(self, text: str) -> None:
        run_on_main(lambda: self.progress.emit(text))

    def wait(self, timeout: float = 5.0) -> None:
        if self._future is not None:
            wait_for([self._future], timeout)

    def _on_ended(self, future: Future[LoadedModel | None], done: Callable[[LoadedModel | None], None]) -> None:
        try:
            if future.cancelled():  # the application is quitting
                return
            error = future.exception()
            if isinstance(error, LoadError):
                self.loadFailed.emit(str(error))
            elif error is not None:
                self.loadFailed.emit(f"Loading failed unexpectedly: {error}")
            else:
                done(future.result())
        finally:  # whatever a handler did, the loader is free again and what waited for it runs
            self._busy = False
            self.busyChanged.emit(False)
            while self._pending and not self._busy:
                self._pending.pop(0)()
