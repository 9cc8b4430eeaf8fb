""""Where only one model was acceptable" in the window: the current task's items that one side passed and the
other did not (core's `Disagreement`s), filterable by tag; choosing one shows both answers side by side as plain
text (model output is never rendered), which side passed, and why the other did not."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from lmscales.core.decision.disagreements import Disagreement, filter_disagreements
from lmscales.ui.markdown_text import plain_label

ALL_TAGS = "All tags"


class DisagreementList(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.found: tuple[Disagreement, ...] = ()
        self.title = plain_label()
        self.tag = QComboBox()
        self.tag.setToolTip("Only the items with this tag")
        top = QHBoxLayout()
        top.addWidget(self.title, 1)
        top.addWidget(self.tag)
        self.items = QTreeWidget()
        self.items.setHeaderLabels(["Item", "Tags", "Acceptable", "Why the other was not"])
        self.items.setRootIsDecorated(False)
        self.items.setMinimumHeight(90)
        self.answers = {side: QPlainTextEdit() for side in ("small", "large")}
        self.captions = {side: QLabel(f"{side.capitalize()} model") for side in ("small", "large")}
        grid = QGridLayout()
        for column, side in enumerate(("small", "large")):
            self.answers[side].setReadOnly(True)
            self.answers[side].setMaximumHeight(110)
            grid.addWidget(self.captions[side], 0, column)
            grid.addWidget(self.answers[side], 1, column)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 6, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.items)
        layout.addLayout(grid)
        self.tag.currentIndexChanged.connect(lambda _index: self._fill())
        self.items.currentItemChanged.connect(lambda current, _previous: self._show(current))
        self.show_disagreements(())

    def show_disagreements(self, found: Sequence[Disagreement]) -> None:
        self.found = tuple(found)
        tags = sorted({tag for d in self.found for tag in d.tags})
        chosen = self.tag.currentText()
        self.tag.blockSignals(True)
        self.tag.clear()
        self.tag.addItem(ALL_TAGS)
        self.tag.addItems(tags)
        self.tag.setCurrentIndex(max(0, self.tag.findText(chosen)))
        self.tag.setVisible(bool(tags))
        self.tag.blockSignals(False)
        self._fill()

    def shown(self) -> tuple[Disagreement, ...]:
        tag = self.tag.currentText()
        return filter_disagreements(self.found, tag=None if tag in ("", ALL_TAGS) else tag)

    def _fill(self) -> None:
        shown = self.shown()
        self.title.setText(f"Where only one model was acceptable: {len(shown)} item{'s' * (len(shown) != 1)}"
                           if self.found else "Where only one model was acceptable: none so far")
        self.items.clear()
        for d in shown:
            row = QTreeWidgetItem([d.item_id, ", ".join(d.tags), f"only the {d.passed} model",
                                   "; ".join(d.reasons or d.notes)])
            row.setData(0, Qt.ItemDataRole.UserRole, d)
            row.setToolTip(3, "\n".join((*d.reasons, *d.notes)))
            self.items.addTopLevelItem(row)
        self.items.setVisible(bool(shown))
        first = self.items.topLevelItem(0)
        if first is not None:
            self.items.setCurrentItem(first)
        else:
            self._show(None)

    def _show(self, row: QTreeWidgetItem | None) -> None:
        d: Disagreement | None = row.data(0, Qt.ItemDataRole.UserRole) if row is not None else None
        for side, box in self.answers.items():
            box.setPlainText(d.outputs.get(side, "") if d is not None else "")  # plain text: never rendered
            verdict = "" if d is None else " (acceptable)" if d.passed == side else " (not acceptable)"
            self.captions[side].setText(f"{side.capitalize()} model{verdict}")
            box.setVisible(d is not None)
            self.captions[side].setVisible(d is not None)
