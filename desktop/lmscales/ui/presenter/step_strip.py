"""The strip of a scenario's steps across the presenter's screen: where the talk is."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSizePolicy, QWidget

from lmscales.ui.markdown_text import plain_label


class StepStrip(QWidget):
    """Where the talk is: every step's number and title, the current one marked ▶ and framed, done ones ✓.
    Where the titles do not fit the width (many steps, a small or 200 % screen) the other steps show their number
    only; the current one keeps its title."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("strip")
        # The strip takes the width it is given, never more: its labels adapt (see `fit`).
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self._layout = QHBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self.labels: list[QLabel] = []
        self._titles: list[str] = []
        self._current = -1
        self.compact = False

    def show_steps(self, titles: Sequence[str], current: int) -> None:
        self._titles, self._current = list(titles), current
        self._build(compact=False)
        self.fit()

    def _text(self, index: int, compact: bool) -> str:
        mark = "▶ " if index == self._current else "✓ " if index < self._current else ""
        if compact and index != self._current:
            return f"{mark}{index + 1}"
        return f"{mark}{index + 1} · {self._titles[index]}"

    def fit(self) -> None:
        """Full titles where they fit the strip's width, else numbers only beside the current step's title."""
        if not self.labels or self.width() <= 0:
            return
        spacing = max(0, self._layout.spacing())
        for label in self.labels:
            label.ensurePolished()  # the presenter's style sheet sets their size
        full = sum(label.fontMetrics().horizontalAdvance(self._text(index, False)) + 24
                   for index, label in enumerate(self.labels)) + spacing * len(self.labels)
        compact = full > self.width()
        if compact != self.compact:
            for index, label in enumerate(self.labels):
                label.setText(self._text(index, compact))
            self.compact = compact

    def resizeEvent(self, event: QResizeEvent) -> None:  # Qt override
        super().resizeEvent(event)
        self.fit()

    def _build(self, compact: bool) -> None:
        while self._layout.count():  # the labels and the stretch after them
            item = self._layout.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.deleteLater()
        self.labels = []
        self.compact = compact
        for index in range(len(self._titles)):
            label = plain_label(self._text(index, compact), self)  # a scenario's step titles, as written
            label.setObjectName("step_current" if index == self._current else "step")
            label.setWordWrap(False)
            self._layout.addWidget(label)
            label.show()
            self.labels.append(label)
        self._layout.addStretch(1)

    def current_text(self) -> str:
        for label in self.labels:
            if label.objectName() == "step_current":
                return label.text()
        return ""
