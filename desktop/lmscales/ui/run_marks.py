"""Marks on the resource graphs for each side's run: sent, first token, finished; the run's end."""

from __future__ import annotations

import time

from PySide6.QtCore import QObject

from lmscales.core.events import TextDelta
from lmscales.core.session import SideStarted
from lmscales.core.trial import SideResult
from lmscales.ui.resource_panel import ResourcePanel
from lmscales.ui.session_bridge import SessionBridge


class RunMarks(QObject):
    def __init__(self, bridge: SessionBridge, resources: ResourcePanel, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.resources = resources
        self._awaiting_first: set[str] = set()
        bridge.runningChanged.connect(resources.set_active)
        bridge.sideStarted.connect(self._on_side_started)
        bridge.deltasReady.connect(self._on_deltas)
        bridge.sideEnded.connect(self._on_side_ended)
        bridge.trialEnded.connect(lambda _trial: resources.end_run())

    def _on_side_started(self, side: str, event: SideStarted) -> None:
        self._awaiting_first.add(side)
        self.resources.mark(side, "sent", event.at)

    def _on_deltas(self, side: str, deltas: list[TextDelta]) -> None:
        if side in self._awaiting_first and deltas:
            self._awaiting_first.discard(side)
            self.resources.mark(side, "first token", deltas[0].timestamp)

    def _on_side_ended(self, side: str, result: SideResult) -> None:
        self._awaiting_first.discard(side)
        if result.skipped is None:
            self.resources.mark(side, "finished", time.perf_counter())
