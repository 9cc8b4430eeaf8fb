"""The history of comparisons: a table over the kept trials (one row per side), and its export.

The table is a model over `TrialHistory`, the JSON Lines file of trials the session appends to; it is
reloaded at start, so comparisons outlive the app. Export carries inputs and answers, not only figures.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from lmscales.core.history import TrialHistory
from lmscales.core.trial import SideResult, Trial
from lmscales.ui.metrics_strip import TOOLTIPS
from lmscales.ui.shortcuts import with_shortcut

COLUMNS = ("When", "Task", "Input", "Side", "Model", "TTFT", "tok/s", "Tokens", "E2E", "Cost / CPU", "Peak RSS",
           "Mean CPU", "Energy", "Status")
INPUT_COLUMN = 2
FIRST_FIGURE = 5
COLUMN_TIPS = {5: TOOLTIPS["ttft"], 6: TOOLTIPS["rate"], 7: TOOLTIPS["tokens"], 8: TOOLTIPS["e2e"],
               9: TOOLTIPS["cost"] + " " + TOOLTIPS["cpu"],
               10: "Highest sampled resident memory of the side's engine process during the run",
               11: "Mean sampled CPU of the engine process, % of the whole machine",
               12: "Energy of the run: measured from the CPU package's counters (RAPL, every process) where the "
                   "system exposes them, else estimated (~) from the engine's CPU-seconds × watts per core"}


def _figure(value: float | None, provenance: str | None, digits: int, unit: str = "") -> str:
    if value is None:
        return "–"
    return f"{'~' if provenance == 'estimated' else ''}{value:.{digits}f}{unit}"


def row_cells(trial: Trial, result: SideResult) -> tuple[str, ...]:
    computed = result.metrics
    last = result.cost.format() if result.cost is not None else _figure(result.cpu_seconds, "measured", 2, " CPU-s")
    resources = result.resources
    peak = resources.engine_peak_rss.value if resources is not None else None
    status: str = result.status
    problem = result.error.message if result.error is not None else result.skipped
    if problem:
        status = f"{status}: {problem}"
    if result.recorded:
        status += " (recorded)"
    return (
        trial.created_at.replace("T", " ")[:19],
        trial.task,
        " ".join(trial.input.text.split())[:80],
        result.label,
        result.model,
        _figure(computed.time_to_first_token.value, computed.time_to_first_token.provenance, 2, " s")
        if computed else "–",
        _figure(computed.decode_rate.value, computed.decode_rate.provenance, 1) if computed else "–",
        _figure(computed.output_tokens.value, computed.output_tokens.provenance, 0) if computed else "–",
        _figure(computed.end_to_end.value, computed.end_to_end.provenance, 2, " s") if computed else "–",
        last,
        f"{peak / 1e6:.0f} MB" if peak else "–",
        _figure(resources.engine_mean_cpu.value, "measured", 0, " %") if resources else "–",
        _figure(resources.energy.value, resources.energy.provenance, 1, " J") if resources else "–",
        status,
    )


class HistoryModel(QAbstractTableModel):
    """The history file's trials as a table: one row per side of each trial, newest trial last."""

    def __init__(self, history: TrialHistory, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.history = history
        self._rows: list[tuple[Trial, SideResult]] = []
        self._cells: list[tuple[str, ...]] = []
        self.reload()

    def reload(self) -> None:
        self.beginResetModel()
        self._rows = [(trial, result) for trial in self.history.list() for result in trial.sides]
        self._cells = [row_cells(trial, result) for trial, result in self._rows]
        self.endResetModel()

    def add(self, trial: Trial) -> None:
        first = len(self._rows)
        self.beginInsertRows(QModelIndex(), first, first + len(trial.sides) - 1)
        for result in trial.sides:
            self._rows.append((trial, result))
            self._cells.append(row_cells(trial, result))
        self.endInsertRows()

    def trial_at(self, row: int) -> Trial | None:
        return self._rows[row][0] if 0 <= row < len(self._rows) else None

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        cells = self._cells[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return cells[index.column()]
        if role == Qt.ItemDataRole.ToolTipRole:
            trial = self._rows[index.row()][0]
            if index.column() == INPUT_COLUMN:
                return trial.input.text[:2000]
            if index.column() == len(COLUMNS) - 1:
                return cells[index.column()]
            return f"trial {trial.id}"
        if role == Qt.ItemDataRole.TextAlignmentRole and FIRST_FIGURE <= index.column() < len(COLUMNS) - 1:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation != Qt.Orientation.Horizontal:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        if role == Qt.ItemDataRole.ToolTipRole:
            return COLUMN_TIPS.get(section)
        return None


class HistoryView(QWidget):
    problem = Signal(str)
    _appended = Signal(object)  # Trial or None (cleared), from whichever thread appended

    def __init__(self, history: TrialHistory | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.history = history if history is not None else TrialHistory()
        self.model = HistoryModel(self.history, self)
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setWordWrap(False)
        self.export_button = QPushButton("Export…")
        self.export_button.setToolTip(
            with_shortcut("Save the history, with inputs and answers, as JSON, CSV or Markdown", "Ctrl+E"))
        self.clear_button = QPushButton("Clear history…")
        self.clear_button.setToolTip("Delete every kept comparison")
        self.title = QLabel()
        header = QHBoxLayout()
        header.addWidget(self.title)
        header.addStretch(1)
        header.addWidget(self.clear_button)
        header.addWidget(self.export_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(header)
        layout.addWidget(self.table)
        self.export_button.clicked.connect(self.export_dialog)
        self.clear_button.clicked.connect(self.confirm_clear)
        self._appended.connect(self._on_appended)
        self._unsubscribe = self.history.subscribe(self._appended.emit)
        self._update_title()
        for note in self.history.notes:
            self.problem.emit(f"History line {note.line} was skipped: {note.reason}")

    def _on_appended(self, trial: Trial | None) -> None:
        if trial is None:
            self.model.reload()
        else:
            self.model.add(trial)
            self.table.scrollToBottom()
        self._update_title()

    def set_keep(self, keep: bool) -> None:
        """Keep comparisons in the history file (the setting), or for this session only."""
        self.history.keep = keep
        self._update_title()

    def _update_title(self) -> None:
        where = "kept between sessions" if self.history.keep and self.history.path else "this session only"
        self.title.setText(f"<b>History</b> · {len(self.history)} comparisons ({where})")

    def row_count(self) -> int:
        return self.model.rowCount()

    def confirm_clear(self) -> None:
        if not len(self.history):
            return
        answer = QMessageBox.question(self, "Clear history",
                                      f"Delete all {len(self.history)} kept comparisons? This cannot be undone.")
        if answer == QMessageBox.StandardButton.Yes:
            self.clear()

    def clear(self) -> None:
        self.history.clear()

    def export(self, path: str | Path) -> Path:
        return self.history.export(path)

    def export_dialog(self) -> None:
        if not len(self.history):
            self.problem.emit("No comparisons to export yet.")
            return
        path, _ = QFileDialog.getSaveFileName(self, "Export history", "lmscales-history.md",
                                              "Markdown (*.md);;CSV (*.csv);;JSON (*.json)")
        if not path:
            return
        try:
            written = self.export(path)
        except (ValueError, OSError) as error:
            self.problem.emit(f"Could not export: {error}")
            return
        self.problem.emit(f"Exported {len(self.history)} comparisons to {written}.")
