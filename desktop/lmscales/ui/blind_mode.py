"""Run › Blind comparison: the window shows both answers as "A" and "B" in a seeded random order and asks which
is better before it says which model wrote which.

While a blind comparison runs and until the vote, the window's own panes (model cards, labels, side colours,
metrics, status lines), the tabs below (resource graphs with their per-side series, the history, the result card)
and the status bar's bytes sent are hidden; the `BlindView` shows two panes made alike. "Hide speed" holds both
answers back until both are done. The vote (keys 1-4 or the buttons) is kept with the trial through
`Workspace.blind_votes`, which has kept the trial with its order as it ended, so a comparison nobody votes on is
still kept. Then the reveal: who A and B were, what was chosen, and the result card.

A replay of a recorded blind comparison is shown blind in its recorded order, and its recorded vote is revealed
when it ends (the replayed trial keeps that order and vote).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Protocol

from PySide6.QtCore import QObject
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QMainWindow, QSplitter, QTabWidget

from lmscales.core.events import TextDelta
from lmscales.core.session import SessionEvent, TrialStarted
from lmscales.core.trial import SideResult, Trial
from lmscales.core.votes import VOTE_CHOICES, BlindOrder, Vote, VoteChoice, new_seed, side_names
from lmscales.core.workspace import Workspace
from lmscales.ui.blind_view import NO_ANSWER, BlindView
from lmscales.ui.egress_view import EgressStatus
from lmscales.ui.replay import ReplayController
from lmscales.ui.result_card import ResultCard
from lmscales.ui.session_bridge import SessionBridge
from lmscales.ui.side_pane import SidePane
from lmscales.ui.window_menus import WindowMenus

SHORTCUT = "Ctrl+Shift+B"


class BlindOwner(Protocol):
    """What of the window blind mode uses (a Protocol: this module does not import the window)."""

    workspace: Workspace
    bridge: SessionBridge
    panes: dict[str, SidePane]
    splitter: QSplitter
    bottom: QTabWidget
    card: ResultCard
    egress_status: EgressStatus
    menus: WindowMenus
    replay: ReplayController

    def _show_problem(self, message: str) -> None: ...


class BlindMode(QObject):
    def __init__(self, window: BlindOwner) -> None:
        super().__init__(window.bridge)
        self.window = window
        self.workspace = window.workspace
        self.view = BlindView()
        self.view.setVisible(False)
        panes = window.splitter.widget(1)
        assert isinstance(panes, QSplitter)
        panes.addWidget(self.view)
        self.action = window.menus.add("&Run", "Blind comparison", QKeySequence(SHORTCUT), self.set_enabled)
        self.action.setCheckable(True)
        self.action.setToolTip("Show both answers as A and B, in a random order, and vote before the reveal")
        assert isinstance(window, QMainWindow)
        self.shortcuts = []
        for key, choice in enumerate(VOTE_CHOICES, start=1):
            shortcut = QShortcut(QKeySequence(str(key)), window)
            shortcut.activated.connect(lambda c=choice: self.vote(c))
            shortcut.setEnabled(False)
            self.shortcuts.append(shortcut)
        self.seeds: Iterator[int] | None = None  # the seeds to draw orders from (tests); fresh ones otherwise
        self.showing = False  # the blind view stands in for the panes
        self.order: BlindOrder | None = None  # the order of the comparison shown now
        self.trial: Trial | None = None  # the ended comparison waiting for its vote, then voted
        self._trial_id: str | None = None
        self._recorded_vote: Vote | None = None
        self._held: dict[str, list[str]] = {}  # hide speed: each letter's text until both are done
        self._ended: dict[str, SideResult] = {}
        self.view.voted.connect(self.vote)
        self._unsubscribe = self.workspace.session.subscribe(self._on_session_event)
        self.destroyed.connect(lambda *_: self._unsubscribe())
        bridge = window.bridge
        bridge.deltasReady.connect(self._on_deltas)
        bridge.sideEnded.connect(self._on_side_ended)
        bridge.trialEnded.connect(self._on_trial_ended)

    @property
    def enabled(self) -> bool:
        return self.action.isChecked()

    def set_enabled(self, on: bool) -> None:
        """Blind comparisons from the next send on (off: the window's own panes again)."""
        self.action.setChecked(on)
        if not on and not self.window.bridge.running:
            self._show_blind(False)

    # -- the order, drawn as the session starts a comparison -----------------------------------------------
    def _on_session_event(self, event: SessionEvent) -> None:
        """Called synchronously by `Session.submit` on the GUI thread (before any side runs), so the kept trial
        gets its order however fast it ends. Evaluations run on their own thread and are never shown blind here."""
        if not isinstance(event, TrialStarted) or threading.current_thread() is not threading.main_thread():
            return
        recorded = self.window.replay.replaying
        if recorded is not None and recorded.blind is not None:
            order, vote = recorded.blind, recorded.vote
        elif recorded is None and self.enabled and len(event.sides) == 2:
            order = BlindOrder.draw(next(self.seeds) if self.seeds is not None else new_seed(), event.sides)
            vote = None
        else:
            self.workspace.blind_votes.expect(None)
            self.order, self._trial_id = None, None
            if self.showing:
                self._show_blind(False)
            return
        self.workspace.blind_votes.expect(order, vote)
        self.order, self._trial_id, self._recorded_vote = order, event.trial_id, vote
        self.trial, self._ended = None, {}
        self._held = {letter: [] for letter in ("A", "B")}
        self.view.begin()
        self._show_blind(True)
        self._set_vote_open(False)

    def _letter(self, side: str) -> str | None:
        if self.order is None or self.trial is not None or self._trial_id is None:
            return None
        return self.order.letter_of(side) if side in (self.order.a, self.order.b) else None

    def _on_deltas(self, side: str, batch: list[TextDelta]) -> None:
        letter = self._letter(side)
        if letter is None:
            return
        text = "".join(delta.text for delta in batch)
        if self.view.hide_speed.isChecked():
            self._held[letter].append(text)
        else:
            self.view.panes[letter].view.add(text)

    def _on_side_ended(self, side: str, result: SideResult) -> None:
        letter = self._letter(side)
        if letter is None:
            return
        self._ended[letter] = result
        if not self.view.hide_speed.isChecked():
            self._finish(letter)
        elif len(self._ended) == 2:
            for done in self._ended:
                self._finish(done)

    def _finish(self, letter: str) -> None:
        """A letter's whole answer (an error or nothing shows the same neutral words on either side)."""
        pane = self.view.panes[letter].view
        result = self._ended[letter]
        if result.text:
            if self.view.hide_speed.isChecked():
                pane.add(result.text)
            pane.flush()
            pane.finish()
        else:
            pane.setPlainText(NO_ANSWER)

    def _on_trial_ended(self, trial: Trial) -> None:
        if self.order is None or trial.id != self._trial_id:
            return
        self.trial = trial
        if self._recorded_vote is not None:  # a replay: its recorded vote, revealed
            self._reveal(self._recorded_vote, trial, "Recorded vote. ")
        else:
            self._set_vote_open(True)
            self.view.setFocus()

    # -- the vote and the reveal ---------------------------------------------------------------------------
    def _set_vote_open(self, open_: bool) -> None:
        self.view.open_vote(open_)
        for shortcut in self.shortcuts:
            shortcut.setEnabled(open_)

    def vote(self, choice: VoteChoice) -> Trial | None:
        """Keep `choice` on the comparison waiting for it and reveal; None when none waits."""
        trial, order = self.trial, self.order
        if trial is None or order is None or not self.view.vote_open:
            return None
        self._set_vote_open(False)
        voted, problem = self.workspace.blind_votes.cast(trial, choice, order)
        self.trial = voted
        assert voted.vote is not None
        self._reveal(voted.vote, voted)
        if problem:
            self.window._show_problem(problem)
        return voted

    def _reveal(self, vote: Vote, trial: Trial, prefix: str = "") -> None:
        names = side_names(trial)
        self.view.show_reveal(prefix + vote.reveal(names), {"A": names.get(vote.order.a, vote.order.a),
                                                             "B": names.get(vote.order.b, vote.order.b)})
        self.window.bottom.setVisible(True)
        self.window.egress_status.setVisible(True)
        self.window.bottom.setCurrentWidget(self.window.card)

    def _show_blind(self, on: bool) -> None:
        """Blind: only the blind view; else the window's own panes, tabs and status again."""
        self.showing = on
        self.view.setVisible(on)
        if not on:
            self._set_vote_open(False)
        for pane in self.window.panes.values():
            pane.setVisible(not on)
        self.window.bottom.setVisible(not on)
        self.window.egress_status.setVisible(not on)


def attach_blind_mode(window: BlindOwner) -> BlindMode:
    return BlindMode(window)
