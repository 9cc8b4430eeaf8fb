"""A scenario step of kind "vote" in presenter mode: the comparison runs blind and the room votes before the reveal.

The main window's blind mode (`ui.blind_mode.BlindMode`, Run › Blind comparison) is switched on for the step, so
the order is drawn, recorded and kept with the trial exactly as there, and the vote goes through it to
`Workspace.blind_votes`. Here, the presenter's left column shows A and the right one B, both titled alike in
the same colour, and the scoreboard and the speed graph (whose series are per side) stay hidden until the vote.
Keys 1-4 vote (`ScenarioStepper.vote`); then the columns are named, the scoreboard shows with the audience's
tally, and Space moves on.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, runtime_checkable

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction, QKeySequence, QShortcut
from PySide6.QtWidgets import QWidget

from lmscales.core.scenario import Step
from lmscales.core.scenario_stepper import ScenarioStepper
from lmscales.core.session import SLOTS
from lmscales.core.trial import Trial
from lmscales.core.votes import LETTERS, BlindOrder, VoteChoice, side_names
from lmscales.ui.presenter.window import PresenterWindow

BLIND_TITLE = "answer_title_blind"  # no side colour in the style sheet


@runtime_checkable
class BlindMode(Protocol):
    """What of `ui.blind_mode.BlindMode` a vote step uses (a Protocol: that module imports the window's menus,
    which import the presenter)."""

    action: QAction
    order: BlindOrder | None

    @property
    def enabled(self) -> bool: ...
    def vote(self, choice: VoteChoice) -> Trial | None: ...


class PresenterBlind(QObject):
    """`blind()` finds the main window's blind mode (None: none, and a vote step cannot run); `revealed(trial)`
    is called with the voted trial (the controller shows the scoreboard)."""

    def __init__(self, window: PresenterWindow, stepper: ScenarioStepper, blind: Callable[[], BlindMode | None],
                 revealed: Callable[[Trial], None], key_windows: tuple[QWidget, ...]) -> None:
        super().__init__(window)
        self.window = window
        self.stepper = stepper
        self.blind = blind
        self.revealed = revealed
        self.active = False  # this comparison is shown blind
        self.ended = False  # and it has ended: the room may vote
        self._was_enabled = False
        self.shortcuts = []
        for owner in key_windows:
            for key in ("1", "2", "3", "4"):
                shortcut = QShortcut(QKeySequence(key), owner)
                shortcut.setContext(Qt.ShortcutContext.WindowShortcut)
                shortcut.activated.connect(lambda k=key: self.vote(k))
                self.shortcuts.append(shortcut)

    def before(self, step: Step) -> str | None:
        """The step is about to be submitted: blind mode on for a vote step. A message when it cannot be blind."""
        self.active = self.ended = False
        if step.kind != "vote":
            return None
        mode = self.blind()
        if mode is None:
            return "This step asks the room to vote, and blind mode is not available here."
        self._was_enabled = mode.enabled
        mode.action.setChecked(True)  # the next comparison is blind (as Run › Blind comparison)
        self.active = True
        return None

    def not_started(self) -> None:
        """The submit failed: blind mode as it was."""
        if self.active:
            self._restore()
        self.active = False

    def column_side(self, side: str) -> str:
        """The column that shows `side`: A's on the left, B's on the right while blind; else its own."""
        mode = self.blind()
        order = mode.order if mode is not None and self.active else None
        if order is None or side not in (order.a, order.b):
            return side
        return SLOTS[LETTERS.index(order.letter_of(side))]

    def trial_started(self) -> None:
        if not self.active:
            return
        for slot, letter in zip(SLOTS, LETTERS, strict=True):
            column = self.window.columns[slot]
            column.title.setText(letter)
            column.title.setAccessibleName(f"Answer {letter}")
            _restyle(column.title, BLIND_TITLE)
        self.window.board.setVisible(False)
        self.window.graph.setVisible(False)

    def trial_ended(self) -> bool:
        """True: the comparison was blind and waits for the vote (the scoreboard stays hidden)."""
        if not self.active:
            return False
        self.ended = True
        self.window.hint.setText("Which answer is better? 1: A · 2: B · 3: tie · 4: both bad")
        return True

    def vote(self, key: str) -> Trial | None:
        mode = self.blind()
        if not (self.active and self.ended) or mode is None:
            return None
        choice = self.stepper.vote(key)
        if choice is None:
            return None
        voted = mode.vote(choice)
        if voted is None or voted.vote is None:
            return None
        names = side_names(voted)
        for slot, letter in zip(SLOTS, LETTERS, strict=True):
            side = voted.vote.order.side_of(letter)
            title = self.window.columns[slot].title
            title.setText(f"{letter} — {names.get(side, side)}")
            title.setAccessibleName(title.text())
            _restyle(title, f"answer_title_{side}")
        self.window.hint.setText(voted.vote.reveal(names))
        self.window.board.setVisible(True)
        self.window.graph.setVisible(True)
        self.active = self.ended = False
        self._restore()
        self.revealed(voted)
        return voted

    def leave(self) -> None:
        """Presenter mode left before a vote: no vote will come from the room (the main window may still take one)."""
        if self.active:
            self.stepper.close_ballot()
            self.window.board.setVisible(True)
            self.window.graph.setVisible(True)
            self._restore()
        self.active = self.ended = False

    def _restore(self) -> None:
        mode = self.blind()
        if mode is not None:
            mode.action.setChecked(self._was_enabled)  # the main window keeps showing its reveal until the next run


def _restyle(widget: QWidget, name: str) -> None:
    widget.setObjectName(name)
    widget.style().unpolish(widget)
    widget.style().polish(widget)
