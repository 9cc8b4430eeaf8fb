"""The result card: after each comparison, one line per figure with a pair of bars and the ratio in words.

The rows come from `lmscales.core.card` (Qt-free); this widget only draws them. Each figure's two bars are
scaled to the larger of the pair, in the sides' colours (which name the side, as in the panes and graphs);
the better side gets a "✓" and the verdict says it in words, so no winner is shown by colour alone. The card
saves itself as a PNG.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPaintEvent, QPalette, QPixmap
from PySide6.QtWidgets import (
    QFileDialog,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from lmscales.core.card import CardRow, CardValue, card_rows, card_text, card_title
from lmscales.core.trial import Trial
from lmscales.ui.markdown_text import plain_label, plain_tooltip
from lmscales.ui.theme import SIDE_COLORS

EMPTY = "No comparison yet. Send something to both sides: the card shows how they compare, figure by figure."


class PairBar(QWidget):
    """One side's bar in a pair: its length is the value over the pair's largest; the value is written on it."""

    def __init__(self, value: CardValue, largest: float | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.value = value
        self.fraction = (value.value / largest) if value.value is not None and largest else 0.0
        color = SIDE_COLORS.get(value.side, "#888888")
        self.color = QColor(color)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setToolTip(plain_tooltip(f"{value.label}: {value.text}" + (" (estimated)" if value.estimated else "")
                                      + (f"\n{value.note}" if value.note else "")))  # where it comes from

    def text(self) -> str:
        return ("✓ " if self.value.better else "") + self.value.text

    def sizeHint(self) -> QSize:  # Qt override
        metrics = self.fontMetrics()
        return QSize(metrics.horizontalAdvance("✓ ~0.00 CPU-s") + 16, metrics.height() + 6)

    def minimumSizeHint(self) -> QSize:  # Qt override
        return self.sizeHint()

    def paintEvent(self, event: QPaintEvent) -> None:  # Qt override
        painter = QPainter(self)
        rect = QRectF(self.rect()).adjusted(0.5, 1.5, -0.5, -1.5)
        if self.value.value is not None:  # a faint outline for the pair's scale; no bar at all for "–"
            track = QColor(self.palette().color(QPalette.ColorRole.Mid))
            track.setAlpha(90)
            painter.setPen(track)
            painter.drawRect(rect)
        if self.fraction > 0:
            fill = QColor(self.color)
            fill.setAlpha(110)
            bar = QRectF(rect.left(), rect.top(), max(2.0, rect.width() * min(1.0, self.fraction)), rect.height())
            painter.fillRect(bar, fill)
            painter.setPen(self.color)
            painter.drawLine(bar.topLeft(), bar.bottomLeft())
        font = painter.font()
        font.setBold(self.value.better)
        painter.setFont(font)
        painter.setPen(self.palette().color(QPalette.ColorRole.WindowText))
        painter.drawText(rect.adjusted(6, 0, -4, 0), Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
                         self.text())
        painter.end()


class ResultCard(QFrame):
    """The card of the latest comparison (`show_trial`), with a Save PNG button."""

    problem = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("result_card")
        self.trial: Trial | None = None
        self.rows: tuple[CardRow, ...] = ()
        # Every label here shows text from outside as written (the input, model names, labels): plain text.
        self.title = plain_label(EMPTY)
        self.title.setWordWrap(True)
        self.save_button = QPushButton("Save as PNG…")
        self.save_button.setToolTip("Save this card as a picture")
        self.save_button.setEnabled(False)
        header = QHBoxLayout()
        header.addWidget(self.title, 1)
        header.addWidget(self.save_button, 0, Qt.AlignmentFlag.AlignTop)
        self.body = QWidget()
        self.body.setObjectName("result_card_body")
        self.grid = QGridLayout(self.body)
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.grid.setHorizontalSpacing(12)
        self.grid.setVerticalSpacing(2)
        self.scroll_area = QScrollArea()
        self.scroll_area.setWidgetResizable(True)
        self.scroll_area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)  # verdicts wrap
        self.scroll_area.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll_area.setWidget(self.body)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 4)
        self._layout = layout
        layout.addLayout(header)
        layout.addWidget(self.scroll_area, 1)
        self.save_button.clicked.connect(self.save_dialog)

    def show_trial(self, trial: Trial) -> None:
        self.trial = trial
        self.rows = card_rows(trial)
        self.title.setText(card_title(trial))
        self.title.setToolTip(plain_tooltip(card_text(trial)))
        self.save_button.setEnabled(True)
        self._fill()

    def _fill(self) -> None:
        while self.grid.count():
            item = self.grid.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.deleteLater()
        if self.trial is None:
            return
        for column, result in enumerate(self.trial.sides, start=1):
            head = plain_label(f"{result.label} · {result.model}")
            head.setStyleSheet(f"font-weight: 600; color: {SIDE_COLORS.get(result.side, 'palette(text)')};")
            head.setToolTip(plain_tooltip(result.model))
            self.grid.addWidget(head, 0, column)
        verdict_head = plain_label("Which way it tips")
        verdict_head.setStyleSheet("font-weight: 600;")
        self.grid.addWidget(verdict_head, 0, len(self.trial.sides) + 1)
        for index, row in enumerate(self.rows, start=1):
            title = plain_label(row.title)
            title.setToolTip("lower is better" if row.lower_is_better else "higher is better")
            self.grid.addWidget(title, index, 0)
            largest = max((v.value for v in row.values if v.value is not None), default=None)
            for column, value in enumerate(row.values, start=1):
                self.grid.addWidget(PairBar(value, largest), index, column)
            verdict = plain_label(row.verdict)
            verdict.setObjectName(f"verdict_{row.key}")
            verdict.setWordWrap(True)
            verdict.setMinimumWidth(verdict.fontMetrics().horizontalAdvance("small: 4.1× faster to first"))
            self.grid.addWidget(verdict, index, len(row.values) + 1)
        for column in range(1, len(self.trial.sides) + 1):
            self.grid.setColumnStretch(column, 2)
        self.grid.setColumnStretch(len(self.trial.sides) + 1, 3)
        self.grid.setRowStretch(len(self.rows) + 1, 1)

    def full_height(self) -> int:
        """The height that shows every row without scrolling."""
        margins = self._layout.contentsMargins()
        return (max(self.title.sizeHint().height(), self.save_button.sizeHint().height())
                + self.body.sizeHint().height() + margins.top() + margins.bottom() + self._layout.spacing() + 4)

    def verdicts(self) -> dict[str, str]:
        return {row.key: row.verdict for row in self.rows}

    # -- export ------------------------------------------------------------------------------------------
    def export_png(self, path: str | Path) -> Path:
        """The whole card as a PNG: the title over every row (the body is grabbed whole, even where the
        scroll area shows only part of it)."""
        target = Path(path)
        header = self.title.grab()
        body = self.body.grab()
        ratio = body.devicePixelRatio()
        margin = 8
        width = max(header.width(), body.width()) / ratio + 2 * margin
        height = (header.height() + body.height()) / ratio + 3 * margin
        picture = QPixmap(int(width * ratio), int(height * ratio))
        picture.setDevicePixelRatio(ratio)
        picture.fill(self.palette().color(QPalette.ColorRole.Window))
        painter = QPainter(picture)
        painter.drawPixmap(margin, margin, header)
        painter.drawPixmap(margin, int(2 * margin + header.height() / ratio), body)
        painter.end()
        if not picture.save(str(target), "PNG"):
            raise OSError(f"could not write {target}")
        return target

    def save_dialog(self) -> None:
        if self.trial is None:
            return
        path, _ = QFileDialog.getSaveFileName(self, "Save the result card", f"lmscales-{self.trial.id}.png",
                                              "PNG (*.png)")
        if not path:
            return
        try:
            written = self.export_png(path)
        except OSError as error:
            self.problem.emit(f"Could not save the card: {error}")
            return
        self.problem.emit(f"Saved {written}.")
