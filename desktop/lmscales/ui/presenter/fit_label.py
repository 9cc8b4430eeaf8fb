"""A line of large type that fits its width: the presenter's title and each answer's heading."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont, QFontMetrics, QResizeEvent
from PySide6.QtWidgets import QLabel, QSizePolicy, QWidget


class FitLabel(QLabel):
    """A line of large type that shrinks to fit its width (never below `smallest_px`) and wraps only if it
    still does not fit there: a long title takes one line, not two of the screen's few."""

    def __init__(self, text: str = "", parent: QWidget | None = None) -> None:
        super().__init__(text, parent)
        self.setTextFormat(Qt.TextFormat.PlainText)  # titles and model names from outside, shown as written
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)  # it adapts to its width
        self.largest_px = 24
        self.smallest_px = 16
        self.text_px = 0

    def set_sizes(self, largest_px: int, smallest_px: int) -> None:
        self.largest_px, self.smallest_px = largest_px, min(smallest_px, largest_px)
        self.fit()

    def setText(self, text: str) -> None:  # Qt override: new words, new fit
        super().setText(text)
        self.fit()

    def resizeEvent(self, event: QResizeEvent) -> None:  # Qt override
        super().resizeEvent(event)
        self.fit()

    def fit(self) -> None:
        self.ensurePolished()
        room = self.contentsRect().width()
        font = QFont(self.font())
        px = self.largest_px
        while px > self.smallest_px:
            font.setPixelSize(px)
            if QFontMetrics(font).horizontalAdvance(self.text()) <= room:
                break
            px -= 1
        font.setPixelSize(px)
        self.setWordWrap(QFontMetrics(font).horizontalAdvance(self.text()) > room)
        if px != self.text_px:
            self.text_px = px
            # Its own style sheet: the presenter's sets every label's size, and a widget's own sheet wins.
            self.setStyleSheet(f"font-size: {px}px;")
