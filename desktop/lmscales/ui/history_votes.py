"""The history's task filter and, beside it, the blind votes on the comparisons it shows: "You preferred the small
model 7 of 12 times (58 %, 95 % CI 32 %–81 %)" per pair of models (the words come from `core.vote_report`)."""

from __future__ import annotations

from PySide6.QtWidgets import QComboBox, QHBoxLayout, QTableView, QWidget

from lmscales.core.history import TrialHistory
from lmscales.core.tasks import TASKS
from lmscales.core.vote_report import history_sentences
from lmscales.ui.markdown_text import plain_label

ALL_TASKS = "All tasks"


class HistoryFilter(QWidget):
    """Shows only the rows of the chosen task in `table` (rows of `model`, which has `trial_at(row)`), and the
    votes among them. `refresh()` after the history changed."""

    def __init__(self, history: TrialHistory, table: QTableView, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.history = history
        self.table = table
        self.task = QComboBox()
        self.task.setObjectName("history_task")
        self.task.setAccessibleName("Show the comparisons of")
        self.task.setToolTip("Show the comparisons of one task, and the blind votes on them")
        self.task.addItem(ALL_TASKS, None)
        for name in TASKS:
            self.task.addItem(name.capitalize(), name)
        self.votes = plain_label("", self)
        self.votes.setObjectName("history_votes")
        self.votes.setWordWrap(True)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.task)
        layout.addWidget(self.votes, 1)
        self.task.currentIndexChanged.connect(lambda _index: self.refresh())
        self.refresh()

    @property
    def chosen(self) -> str | None:
        data = self.task.currentData()
        return data if isinstance(data, str) else None

    def choose(self, task: str | None) -> None:
        self.task.setCurrentIndex(max(0, self.task.findData(task)) if task is not None else 0)

    def refresh(self) -> None:
        task = self.chosen
        model = self.table.model()
        trial_at = getattr(model, "trial_at", None)
        for row in range(model.rowCount() if model is not None else 0):
            trial = trial_at(row) if trial_at is not None else None
            self.table.setRowHidden(row, task is not None and trial is not None and trial.task != task)
        sentences = history_sentences(self.history.list(), task)
        self.votes.setText(" ".join(sentences) if sentences else "")
        self.votes.setVisible(bool(sentences))
