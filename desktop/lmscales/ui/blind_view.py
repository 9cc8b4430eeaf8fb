"""The blind comparison's widgets: two answers under "A" and "B", made alike, and the vote.

Nothing in a `BlindPane` depends on the side it shows: both are built by the same code with the same fonts,
colours (the palette's, no side colour), tooltips and accessible names, and carry no model name, metric or
status of their side. Only the letter differs. What side each letter was is the controller's to know
(`blind_mode.BlindMode`), and is shown after the vote (`reveal`).
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QCheckBox, QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from lmscales.core.votes import LETTERS, VOTE_CHOICES, VOTE_WORDS, VoteChoice
from lmscales.ui.streaming_view import StreamingView

WAITING = "Waiting for both answers…"
HIDDEN_SPEED = "Both answers appear when both are done (speed hidden)."
VOTE_NOW = "Which answer is better? Press 1, 2, 3 or 4."
NO_ANSWER = "(This side gave no answer.)"


class BlindPane(QFrame):
    """One answer under its letter. The same for A and B but for the letter (and, after the vote, who it was)."""

    def __init__(self, letter: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.letter = letter
        self.setObjectName(f"blind_{letter}")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.title = QLabel(letter)
        self.title.setTextFormat(Qt.TextFormat.PlainText)
        self.title.setStyleSheet("font-weight: 700; font-size: 16pt;")
        self.title.setAccessibleName("Answer")
        self.who = QLabel("")  # empty until the reveal
        self.who.setTextFormat(Qt.TextFormat.PlainText)
        self.who.setVisible(False)
        self.view = StreamingView()
        self.view.setAccessibleName("Answer text")
        header = QHBoxLayout()
        header.addWidget(self.title)
        header.addWidget(self.who, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(header)
        layout.addWidget(self.view, 1)

    def begin(self) -> None:
        self.view.begin()
        self.who.clear()
        self.who.setVisible(False)

    def reveal(self, who: str) -> None:
        self.who.setText(f"— {who}")
        self.who.setVisible(True)


class BlindView(QWidget):
    """A and B side by side, "hide speed", the four vote buttons (keys 1-4) and the reveal."""

    voted = Signal(str)  # a VoteChoice

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("blindView")
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)  # keys 1-4 vote; an input box with focus would take them
        self.panes = {letter: BlindPane(letter) for letter in LETTERS}
        self.hide_speed = QCheckBox("Hide speed")
        self.hide_speed.setToolTip("Show both answers only when both are done, so neither is known by its pace")
        self.prompt = QLabel(WAITING)
        self.prompt.setTextFormat(Qt.TextFormat.PlainText)
        self.prompt.setWordWrap(True)
        self.vote_buttons: dict[VoteChoice, QPushButton] = {}
        buttons = QHBoxLayout()
        for key, choice in enumerate(VOTE_CHOICES, start=1):
            button = QPushButton(f"{VOTE_WORDS[choice]} ({key})")
            button.setObjectName(f"vote_{choice}")
            button.setEnabled(False)
            button.clicked.connect(lambda _=False, c=choice: self.voted.emit(c))
            self.vote_buttons[choice] = button
            buttons.addWidget(button)
        buttons.addStretch(1)
        buttons.addWidget(self.hide_speed)
        self.reveal_text = QLabel("")
        self.reveal_text.setObjectName("blindReveal")
        self.reveal_text.setTextFormat(Qt.TextFormat.PlainText)
        self.reveal_text.setWordWrap(True)
        self.reveal_text.setStyleSheet("font-weight: 600;")
        self.reveal_text.setVisible(False)
        answers = QHBoxLayout()
        for pane in self.panes.values():
            answers.addWidget(pane, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(answers, 1)
        layout.addWidget(self.prompt)
        layout.addLayout(buttons)
        layout.addWidget(self.reveal_text)

    def begin(self) -> None:
        for pane in self.panes.values():
            pane.begin()
        self.prompt.setText(HIDDEN_SPEED if self.hide_speed.isChecked() else WAITING)
        self.reveal_text.clear()
        self.reveal_text.setVisible(False)
        self.open_vote(False)

    def open_vote(self, open_: bool) -> None:
        for button in self.vote_buttons.values():
            button.setEnabled(open_)
        if open_:
            self.prompt.setText(VOTE_NOW)

    @property
    def vote_open(self) -> bool:
        return all(button.isEnabled() for button in self.vote_buttons.values())

    def show_reveal(self, sentence: str, who: dict[str, str]) -> None:
        """After the vote: who each letter was, and what was chosen."""
        self.open_vote(False)
        for letter, pane in self.panes.items():
            pane.reveal(who[letter])
        self.prompt.setText("Revealed.")
        self.reveal_text.setText(sentence)
        self.reveal_text.setVisible(True)
