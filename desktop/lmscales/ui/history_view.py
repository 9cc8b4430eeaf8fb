"""The session's run history: one row per side per run, exportable to JSON, CSV and Markdown."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from lmscales.core.history import RunHistory, RunRecord
from lmscales.ui.comparison import RunOutcome
from lmscales.ui.metrics_strip import TOOLTIPS

COLUMNS = ("Task", "Side", "Model", "TTFT", "tok/s", "Tokens", "E2E", "Cost / CPU", "Peak RSS", "Mean CPU",
           "Energy", "Status")
COLUMN_TIPS = {3: TOOLTIPS["ttft"], 4: TOOLTIPS["rate"], 5: TOOLTIPS["tokens"], 6: TOOLTIPS["e2e"],
               7: TOOLTIPS["cost"] + " " + TOOLTIPS["cpu"],
               8: "Highest sampled resident memory of the small model's engine process during the run",
               9: "Mean sampled CPU of the engine process, % of the whole machine",
               10: "Energy of the run: measured from the CPU package's counters (RAPL, every process) where the "
                   "system exposes them, else estimated (~) from the engine's CPU-seconds × watts per core"}


def record_of(outcome: RunOutcome) -> RunRecord:
    record = RunRecord.from_finished(
        outcome.finished if outcome.finished is not None else outcome.error,  # type: ignore[arg-type]
        task=outcome.task,
        side=outcome.side,  # type: ignore[arg-type]
        model=outcome.model,
        endpoint=outcome.host,
        cost=outcome.cost,
        cpu_seconds=outcome.cpu_seconds,
        chunks=outcome.finished.chunks if outcome.finished is not None else 1,
    )
    resources = outcome.resources
    if resources is None:
        return record
    peak = resources.engine_peak_rss.value
    return dataclasses.replace(
        record,
        engine_peak_rss_bytes=int(peak) if peak is not None else None,
        mean_cpu_percent=resources.engine_mean_cpu.value,
        energy_j=resources.energy.value,
        energy_provenance=resources.energy.provenance if resources.energy.value is not None else None,
    )


def _figure(value: float | None, provenance: str, digits: int, unit: str = "") -> str:
    if value is None:
        return "–"
    return f"{'~' if provenance == 'estimated' else ''}{value:.{digits}f}{unit}"


class HistoryView(QWidget):
    problem = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.history = RunHistory()
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        for column, tip in COLUMN_TIPS.items():
            header_item = self.table.horizontalHeaderItem(column)
            if header_item is not None:
                header_item.setToolTip(tip)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.export_button = QPushButton("Export…")
        self.export_button.setToolTip("Save the run history as JSON, CSV or Markdown (Ctrl+E)")
        self.clear_button = QPushButton("Clear")
        header = QHBoxLayout()
        header.addWidget(QLabel("<b>Run history</b> (this session)"))
        header.addStretch(1)
        header.addWidget(self.clear_button)
        header.addWidget(self.export_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(header)
        layout.addWidget(self.table)
        self.export_button.clicked.connect(self.export_dialog)
        self.clear_button.clicked.connect(self.clear)

    def add(self, outcome: RunOutcome) -> RunRecord:
        record = record_of(outcome)
        self.history.append(record)
        if record.side == "remote":
            last = "unknown" if record.cost_usd is None else _figure(record.cost_usd, record.cost_provenance, 5, "")
            last = last if last == "unknown" else "$" + last if not last.startswith("~") else "~$" + last[1:]
        else:
            last = _figure(record.cpu_seconds, "measured", 2, " CPU-s")
        status = record.status if not record.error_message else f"{record.status}: {record.error_message}"
        peak = f"{record.engine_peak_rss_bytes / 1e6:.0f} MB" if record.engine_peak_rss_bytes else "–"
        energy = _figure(record.energy_j, record.energy_provenance or "measured", 1, " J")
        cells = (
            record.task,
            "small" if record.side == "local" else "large",
            record.model,
            _figure(record.time_to_first_token_s, record.time_to_first_token_provenance, 2, " s"),
            _figure(record.decode_rate_tok_s, record.decode_rate_provenance, 1),
            _figure(record.output_tokens, record.output_tokens_provenance, 0),
            _figure(record.end_to_end_s, record.end_to_end_provenance, 2, " s"),
            last,
            peak,
            _figure(record.mean_cpu_percent, "measured", 0, " %"),
            energy,
            status,
        )
        row = self.table.rowCount()
        self.table.insertRow(row)
        for column, text in enumerate(cells):
            item = QTableWidgetItem(text)
            if 3 <= column <= 10:
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            if column == len(COLUMNS) - 1 and record.error_message:
                item.setToolTip(record.error_message)
            self.table.setItem(row, column, item)
        self.table.scrollToBottom()
        return record

    def row_count(self) -> int:
        return self.table.rowCount()

    def clear(self) -> None:
        self.history.clear()
        self.table.setRowCount(0)

    def to_text(self, fmt: str) -> str:
        return {"json": self.history.to_json, "csv": self.history.to_csv, "md": self.history.to_markdown}[fmt]()

    def export(self, path: str | Path) -> Path:
        return self.history.export(path)

    def export_dialog(self) -> None:
        if not len(self.history):
            self.problem.emit("No runs to export yet.")
            return
        path, _ = QFileDialog.getSaveFileName(self, "Export run history", "lmscales-runs.csv",
                                              "CSV (*.csv);;JSON (*.json);;Markdown (*.md)")
        if not path:
            return
        try:
            written = self.export(path)
        except (ValueError, OSError) as error:
            self.problem.emit(f"Could not export: {error}")
            return
        self.problem.emit(f"Exported {len(self.history)} runs to {written}.")
