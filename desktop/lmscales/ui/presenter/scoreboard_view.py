"""The presenter's scoreboard: the figures of the latest comparison, and which side won each, in words."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtWidgets import QGridLayout, QLabel, QWidget

from lmscales.core.scoreboard import WINNER_MARK, scoreboard
from lmscales.core.trial import Trial
from lmscales.ui.markdown_text import plain_label


class ScoreboardView(QWidget):
    """The scoreboard: a row per figure, a column per side, ★ and "wins" on the better side of each figure."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("scoreboard")
        self.grid = QGridLayout(self)
        self.grid.setHorizontalSpacing(24)
        self.grid.setVerticalSpacing(6)
        self.cells: dict[tuple[str, str], QLabel] = {}
        self.notes: dict[str, QLabel] = {}
        self.headers: dict[str, QLabel] = {}
        self.titles: list[QLabel] = []
        self.votes: QLabel | None = None  # the audience's blind votes of this session, under the figures
        self.show_notes = True  # the ratio in words; left out when the window is narrow (the ★ and "wins" stay)

    def set_notes_shown(self, shown: bool) -> None:
        self.show_notes = shown
        for note in self.notes.values():
            note.setVisible(shown)

    def clear(self) -> None:
        while self.grid.count():
            item = self.grid.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.deleteLater()
        self.cells, self.notes, self.headers = {}, {}, {}
        self.titles = []
        self.votes = None

    def show_trial(self, trial: Trial) -> None:
        # Every label is made with its parent: a parentless label made visible would be a window of its own
        # and take the focus from the main window.
        self.clear()
        for column, result in enumerate(trial.sides, start=1):
            header = plain_label(result.label + (" · recorded" if result.recorded else ""), self)
            header.setObjectName(f"score_head_{result.side}")
            self.grid.addWidget(header, 0, column)
            header.show()
            self.headers[result.side] = header
        for row_index, row in enumerate(scoreboard(trial), start=1):
            title = plain_label(row.title, self)
            title.setObjectName("score_title")
            self.grid.addWidget(title, row_index, 0)
            self.titles.append(title)
            title.show()
            for column, cell in enumerate(row.cells, start=1):
                text = f"{WINNER_MARK} {cell.text} wins" if cell.better else cell.text
                label = plain_label(text, self)
                label.setObjectName("score_win" if cell.better else "score")
                label.setAccessibleName(f"{row.title}, {cell.side}: {text}")
                self.grid.addWidget(label, row_index, column)
                label.show()
                self.cells[(row.key, cell.side)] = label
            note = plain_label(row.note, self)
            note.setObjectName("score_note")
            note.setVisible(self.show_notes)
            self.grid.addWidget(note, row_index, len(row.cells) + 1)
            self.notes[row.key] = note
        self.grid.setColumnStretch(len(trial.sides) + 1, 1)

    def show_votes(self, sentence: str | None) -> None:
        """The audience's votes in words (`core.vote_report.audience_sentence`) under the figures; None: no line."""
        if sentence is None:
            if self.votes is not None:
                self.votes.hide()
            return
        if self.votes is None:
            self.votes = plain_label("", self)
            self.votes.setObjectName("score_votes")
            self.votes.setWordWrap(True)
            self.grid.addWidget(self.votes, self.grid.rowCount(), 0, 1, -1)
        self.votes.setText(sentence)
        self.votes.setAccessibleName(sentence)
        self.votes.show()

    def text(self) -> str:
        return "\n".join(label.text() for label in self.cells.values())

    def needed_width(self, with_notes: bool) -> int:
        """The width the board's columns take at their natural size (the words in the last column only
        `with_notes`): what the window checks before it shows the notes."""
        def widest(labels: Sequence[QLabel]) -> int:
            for label in labels:
                label.ensurePolished()  # the presenter's style sheet sets the type size
            return max((label.sizeHint().width() for label in labels), default=0)

        kept = [widest(self.titles)]
        kept += [widest([header, *(label for (_key, side), label in self.cells.items() if side == name)])
                 for name, header in self.headers.items()]
        if with_notes:
            kept.append(widest(list(self.notes.values())))
        margins = self.grid.contentsMargins()
        return sum(kept) + self.grid.horizontalSpacing() * max(0, len(kept) - 1) + margins.left() + margins.right()
