"""What the history file could not do, kept in sight: the damaged lines skipped when it was loaded, and the
comparisons that could not be written to it (a full disk, a read-only folder).

A status message fades after seconds and the hint under the input is rewritten at the next run; a lost
comparison or a skipped line must stay visible. So this label sits at the right of the status bar (permanent
widgets stay when a status message shows) from the moment there is something to say, with a short summary
and a Details link that opens the full sentences, which name every line and comparison.
"""

from __future__ import annotations

import html

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QLabel, QMessageBox, QWidget

from lmscales.core.history import NOTES_NAMED, TrialHistory
from lmscales.core.trial import Trial


def _lines(numbers: list[int]) -> str:
    shown = [str(n) for n in numbers[:NOTES_NAMED]]
    if len(numbers) > NOTES_NAMED:
        return f"lines {', '.join(shown)} and {len(numbers) - NOTES_NAMED} more"
    if len(shown) == 1:
        return f"line {shown[0]}"
    return f"lines {', '.join(shown[:-1])} and {shown[-1]}"


class HistoryNotice(QLabel):
    """The summary of what went wrong with `history`'s file (hidden while nothing did); `details()` is what
    the Details link shows."""

    _changed = Signal(object)  # from whichever thread appended

    def __init__(self, history: TrialHistory, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.history = history
        self.setObjectName("historyNotice")
        self.setTextFormat(Qt.TextFormat.RichText)
        self.linkActivated.connect(lambda _link: self.show_details())
        self._box: QMessageBox | None = None
        self._changed.connect(lambda _trial: self.refresh())
        self._unsubscribe = history.subscribe(self._on_history)
        self.destroyed.connect(lambda *_: self._unsubscribe())
        self.refresh()

    def _on_history(self, trial: Trial | None) -> None:
        self._changed.emit(trial)  # queued to the GUI thread when a session's worker appended

    def summary(self) -> str:
        """The short words shown in the status bar (plain text; empty: nothing to say)."""
        parts = []
        notes = self.history.notes
        if any(note.line == 0 for note in notes):
            parts.append(f"History file could not be read ({notes[0].reason})")
        elif notes:
            parts.append(f"History: damaged {_lines([note.line for note in notes])} skipped")
        lost = self.history.not_kept
        if lost:
            count = "1 comparison" if len(lost) == 1 else f"{len(lost)} comparisons"
            parts.append(f"{count} not kept in the history file ({lost[-1].reason})")
        return " · ".join(parts)

    def details(self) -> str:
        """Every sentence: which lines were skipped and why, which comparisons were not kept and why."""
        sentences = [self.history.load_problem(), self.history.not_kept_problem()]
        return "\n\n".join(sentence for sentence in sentences if sentence)

    def refresh(self) -> None:
        summary = self.summary()
        self.setVisible(bool(summary))
        self.setText(f"⚠ {html.escape(summary)} · <a href='details'>Details…</a>" if summary else "")
        self.setToolTip(self.details())

    def show_details(self) -> QMessageBox:
        if self._box is not None:
            self._box.close()
            self._box.deleteLater()
        self._box = QMessageBox(QMessageBox.Icon.Warning, "History file", self.details(),
                                QMessageBox.StandardButton.Ok, self.window())
        self._box.setInformativeText("Comparisons that were not kept stay in this session's history: "
                                     "History › Export… saves them to another file.")
        self._box.open()
        return self._box
