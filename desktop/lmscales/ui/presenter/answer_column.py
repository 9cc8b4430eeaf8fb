"""One side's answer in presenter mode: its heading, a RECORDED badge, the answer in type that shrinks to fit
the screen, and a status line."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QHBoxLayout, QVBoxLayout, QWidget

from lmscales.ui.markdown_text import plain_label
from lmscales.ui.presenter.fit_label import FitLabel
from lmscales.ui.streaming_view import StreamingView


class AnswerColumn(QWidget):
    """One side's answer: its heading (model and where it runs), ▶ RECORDED for a replay, the answer, a status."""

    def __init__(self, side: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.side = side
        self.title = FitLabel(side.title())
        self.title.setObjectName(f"answer_title_{side}")
        self.badge = plain_label("▶ RECORDED")
        self.badge.setObjectName("badge")
        self.badge.setVisible(False)
        self.status = plain_label("")  # a server's error message, as written
        self.status.setObjectName("answer_status")
        self.status.setWordWrap(True)
        self.view = StreamingView()
        self.view.setObjectName("answer")
        self.view.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # the keys are the presenter's, not the text's
        self.view.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        head = QHBoxLayout()
        head.addWidget(self.title, 1)
        head.addWidget(self.badge)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(head)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.status)
        self.largest_px = 24
        self.smallest_px = 16
        self.text_px = 24
        self._fitting = False
        # Refit when the text grows (streaming, the Markdown at the end) or the box changes size.
        self.view.document().documentLayout().documentSizeChanged.connect(lambda _size: self._schedule_fit())
        self._fit_timer = QTimer(self)
        self._fit_timer.setSingleShot(True)
        self._fit_timer.setInterval(0)
        self._fit_timer.timeout.connect(self.fit_text)

    def set_text_sizes(self, largest_px: int, smallest_px: int) -> None:
        """The answer's type: `largest_px` while it fits its box, smaller (never below `smallest_px`) when a long
        answer would otherwise run off the bottom of the screen."""
        self.largest_px, self.smallest_px = largest_px, min(smallest_px, largest_px)
        self._set_px(largest_px)
        self._schedule_fit()

    def _set_px(self, px: int) -> None:
        self.text_px = px
        font = self.view.font()
        font.setPixelSize(px)
        self.view.setFont(font)
        self.view.document().setDefaultFont(font)

    def _schedule_fit(self) -> None:
        if not self._fitting:
            self._fit_timer.start()

    def overflows(self) -> bool:
        document = self.view.document()
        document.setTextWidth(self.view.viewport().width())
        return document.size().height() > self.view.viewport().height()

    def fit_text(self) -> None:
        """Shrink the type a step at a time until the answer fits (a longer answer only ever shrinks it while it
        streams); at the smallest size the end of the answer stays in view."""
        if self.view.viewport().height() <= 0:
            return
        self._fitting = True
        try:
            while self.text_px > self.smallest_px and self.overflows():
                self._set_px(max(self.smallest_px, self.text_px - max(1, round(self.text_px * 0.08))))
        finally:
            self._fitting = False
        if self.overflows():
            bar = self.view.verticalScrollBar()
            bar.setValue(bar.maximum())

    def resizeEvent(self, event: QResizeEvent) -> None:  # Qt override: a bigger box takes bigger type again
        super().resizeEvent(event)
        self._set_px(self.largest_px)
        self._schedule_fit()
