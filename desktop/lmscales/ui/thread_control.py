"""The threads settings of the GGUF sides put into effect: the workspace takes the policy (a number set by
hand, or the measured table by a preference), and each loaded model gets its threads chosen again, after the
load or measurement under way (`ModelLoader.when_idle`), so a count set during a measurement is not overwritten
by its result."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping

from PySide6.QtCore import QObject

from lmscales.core.settings import LocalEngineSettings
from lmscales.core.thread_counts import describe_threads
from lmscales.core.workspace import Workspace
from lmscales.ui.model_loader import ModelLoader
from lmscales.ui.slot_panes import SlotPanes


class ThreadControl(QObject):
    def __init__(self, workspace: Workspace, loaders: Mapping[str, ModelLoader], panes: SlotPanes,
                 running: Callable[[], bool], problem: Callable[[str], None], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.workspace = workspace
        self.loaders = loaders
        self.panes = panes
        self.running = running
        self.problem = problem

    def apply(self, values: LocalEngineSettings, choose: bool = True) -> None:
        """New threads settings (and the adaptation, the prompt cache, the watchdog) for every GGUF side."""
        self.workspace.configure_local(values)
        if not choose:
            return
        for side, loader in self.loaders.items():
            engine = self.workspace.local_engine(side)
            if engine is None or engine.model is None:
                continue
            if values.threads:
                loader.when_idle(functools.partial(self._set_by_hand, side, values.threads))
            else:
                loader.choose()

    def _set_by_hand(self, side: str, threads: int) -> None:
        model = self.workspace.set_threads(side, threads, f"{describe_threads(threads)} (set in the settings)")
        self.panes.show_threads(side, model)

    def measure_again(self) -> None:
        """Measure the small model's thread table again (from the settings, or the Settings menu)."""
        if self.running():
            self.problem("A comparison is running; measure the threads when it has finished.")
            return
        engine = self.workspace.local_engine("small")
        if engine is None or engine.model is None:
            self.problem("No small model is loaded: nothing to measure.")
            return
        if self.workspace.threads.policy is None:
            self.problem("The threads are set by hand in the settings; clear that number to use the measured table.")
            return
        loader = self.loaders["small"]
        if loader.busy:
            self.problem("The threads will be measured once the small model is ready.")
        loader.measure_again()
