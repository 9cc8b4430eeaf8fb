"""The history of comparisons: a table over the kept trials (one row per side), and its export.

The table is a model over `TrialHistory`, the JSON Lines file of trials the session appends to; it is
reloaded at start, so comparisons outlive the app. Export carries inputs and answers, not only figures.

Double-clicking a row opens that comparison again (`TrialDialog`): its input and both answers, read-only and
marked with its date, its result card, and "Send again", which re-runs it with the same parameters.
"""

from __future__ import annotations

from concurrent.futures import Future
from html import escape
from pathlib import Path
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from lmscales.core.history import TrialHistory
from lmscales.core.tasks import LANGUAGES
from lmscales.core.trial import SideResult, Trial
from lmscales.ui.background import outcome, run_in_background, run_on_main, runner
from lmscales.ui.egress_view import show_what_was_sent
from lmscales.ui.history_votes import HistoryFilter
from lmscales.ui.markdown_text import AnswerBrowser, plain_label, plain_tooltip
from lmscales.ui.metrics_strip import TOOLTIPS
from lmscales.ui.result_card import ResultCard
from lmscales.ui.shortcuts import with_shortcut
from lmscales.ui.theme import SIDE_COLORS

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
                return plain_tooltip(trial.input.text[:2000])
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


def trial_when(trial: Trial) -> str:
    return trial.created_at.replace("T", " ")[:16]


def trial_facts(trial: Trial) -> str:
    """The task, its options and the parameters a comparison ran with, in one line."""
    task_input, params = trial.input, trial.params
    parts = [trial.task.capitalize()]
    if task_input.task == "translate":
        source = LANGUAGES.get(task_input.source_lang or "", "detected language")
        parts.append(f"{source} → {LANGUAGES.get(task_input.target_lang or '', task_input.target_lang or '?')}")
    if task_input.task == "summarize" and task_input.summary_length:
        parts.append(task_input.summary_length)
    if trial.chat_turn:
        parts.append(f"turn {trial.chat_turn + 1} of a chat")
    parts.append(f"max {params.max_tokens} tokens, temperature {params.temperature:g}, top-p {params.top_p:g}, "
                 f"seed {'random' if params.seed is None else params.seed}")
    parts.append(trial.mode)
    return " · ".join(parts)


def clear_history_box(count: int, parent: QWidget | None = None) -> QMessageBox:
    """The question before the history is deleted; No is the default, so Enter keeps it."""
    box = QMessageBox(QMessageBox.Icon.Question, "Clear history",
                      f"Delete all {count} kept comparisons? This cannot be undone.",
                      QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, parent)
    box.button(QMessageBox.StandardButton.Yes).setText("Delete all")
    box.button(QMessageBox.StandardButton.No).setText("Keep them")
    box.setDefaultButton(QMessageBox.StandardButton.No)
    box.setEscapeButton(QMessageBox.StandardButton.No)
    return box


class TrialDialog(QDialog):
    """A past comparison, read-only: the input, each side's answer, the card; "Send again" asks for a re-run."""

    sendAgainRequested = Signal(object)  # Trial

    def __init__(self, trial: Trial, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.trial = trial
        self.setWindowTitle(f"Comparison of {trial_when(trial)} (read-only)")
        # The time and the facts come from the history file: escaped, so a damaged line shows as written.
        header = QLabel(f"<b>{escape(trial_when(trial))}</b> · {escape(trial_facts(trial))} · <i>read-only</i>")
        header.setTextFormat(Qt.TextFormat.RichText)
        header.setWordWrap(True)
        self.input_view = QPlainTextEdit(trial.input.text)
        self.input_view.setReadOnly(True)
        self.input_view.setMaximumHeight(self.fontMetrics().height() * 6)
        self.answers: dict[str, AnswerBrowser] = {}
        answers = QSplitter(Qt.Orientation.Horizontal)
        for result in trial.sides:
            box = QGroupBox(f"{result.label} · {result.model} · {result.status}")
            box.setStyleSheet(f"QGroupBox {{ color: {SIDE_COLORS.get(result.side, 'palette(text)')}; "
                              "font-weight: 600; }")
            view = AnswerBrowser()  # the answer as written: Markdown without HTML, nothing loaded or opened
            view.setStyleSheet("font-weight: normal;")
            view.setMarkdown(result.text or f"*({result.skipped or 'no answer'})*")
            box_layout = QVBoxLayout(box)
            box_layout.addWidget(view)
            if result.error is not None:
                problem = plain_label(f"⚠ {result.error.message}")
                problem.setWordWrap(True)
                problem.setStyleSheet("font-weight: normal;")
                box_layout.addWidget(problem)
            if result.egress is not None:  # what left this computer for this side
                sent = QPushButton("What was sent")
                sent.setObjectName(f"sent_{result.side}")
                sent.setStyleSheet("font-weight: normal;")
                sent.clicked.connect(lambda _=False, shown=result: show_what_was_sent(shown, self))
                box_layout.addWidget(sent, 0, Qt.AlignmentFlag.AlignLeft)
            self.answers[result.side] = view
            answers.addWidget(box)
        self.card = ResultCard()
        self.card.show_trial(trial)
        self.card.setMinimumHeight(self.card.full_height())
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.send_again_button = buttons.addButton("Send again", QDialogButtonBox.ButtonRole.ActionRole)
        self.send_again_button.setToolTip("Run this input again on the same sides, with the same parameters")
        buttons.rejected.connect(self.reject)
        self.send_again_button.clicked.connect(self._on_send_again)
        input_label = QLabel("Input")
        input_label.setStyleSheet("font-weight: 600;")
        layout = QVBoxLayout(self)
        layout.addWidget(header)
        layout.addWidget(input_label)
        layout.addWidget(self.input_view)
        layout.addWidget(answers, 1)
        layout.addWidget(self.card)
        layout.addWidget(buttons)
        metrics = self.fontMetrics()
        self.resize(metrics.averageCharWidth() * 130, metrics.height() * 44)

    def _on_send_again(self) -> None:
        self.sendAgainRequested.emit(self.trial)
        self.accept()


class HistoryView(QWidget):
    problem = Signal(str)
    sendAgainRequested = Signal(object)  # Trial, from a reopened comparison

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
        self.filter = HistoryFilter(self.history, self.table, self)  # by task, with the blind votes among them
        layout.addWidget(self.filter)
        layout.addWidget(self.table)
        self.table.setToolTip("Double-click a row to see that comparison again")
        self.table.doubleClicked.connect(lambda index: self.open_row(index.row()))
        self.export_button.clicked.connect(self.export_dialog)
        self.clear_button.clicked.connect(self.confirm_clear)
        self._exporting = False
        runner()  # made now, on the GUI thread: the session appends on its own thread and hands the row over
        self._unsubscribe = self.history.subscribe(self._on_history_changed)
        self._update_title()  # what loading skipped is shown by the window's HistoryNotice, which stays in sight

    def _on_history_changed(self, trial: Trial | None) -> None:
        """Called on whichever thread appended (the session's) or cleared: the table changes on the GUI thread."""
        run_on_main(lambda: self._on_appended(trial))

    def _on_appended(self, trial: Trial | None) -> None:
        if trial is None:
            self.model.reload()
        else:
            self.model.add(trial)
            self.table.scrollToBottom()
        self.filter.refresh()
        self._update_title()

    def set_keep(self, keep: bool) -> None:
        """Keep comparisons in the history file (the setting), or for this session only."""
        self.history.keep = keep
        self._update_title()

    def _update_title(self) -> None:
        where = "kept between sessions" if self.history.keep and self.history.path else "this session only"
        self.title.setText(f"<b>History</b> · {len(self.history)} comparisons ({where})")

    def open_row(self, row: int) -> TrialDialog | None:
        """Show the comparison of a table row again (non-modal, so several can be open side by side)."""
        trial = self.model.trial_at(row)
        if trial is None:
            return None
        dialog = TrialDialog(trial, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.sendAgainRequested.connect(self.sendAgainRequested)
        dialog.card.problem.connect(self.problem)
        dialog.show()
        return dialog

    def row_count(self) -> int:
        return self.model.rowCount()

    def confirm_clear(self) -> None:
        if not len(self.history):
            return
        box = clear_history_box(len(self.history), self)
        answer = box.exec()
        box.deleteLater()
        if answer == QMessageBox.StandardButton.Yes:
            self.clear()

    def clear(self) -> None:
        problem = self.history.clear()
        if problem:
            self.problem.emit(problem)

    def export(self, path: str | Path) -> Path:
        return self.history.export(path)

    def export_dialog(self) -> None:
        if not len(self.history):
            self.problem.emit("No comparisons to export yet.")
            return
        path, _ = QFileDialog.getSaveFileName(self, "Export history", "lmscales-history.md",
                                              "Markdown (*.md);;HTML report (*.html);;CSV (*.csv);;JSON (*.json)")
        if path:
            self.export_in_background(path)

    def export_in_background(self, path: str | Path) -> Future[Path] | None:
        """Export off the GUI thread (a long history takes a while to render and write); the window says when it
        is done or why it failed. None while an export is still running."""
        if self._exporting:
            self.problem.emit("An export is still being written; wait for it to finish.")
            return None
        self._exporting = True
        self.export_button.setEnabled(False)
        trials = self.history.list()  # what the table shows now; comparisons ending meanwhile come next time
        self.problem.emit(f"Exporting {len(trials)} comparisons to {path}…")
        return run_in_background(lambda: self.history.export(path, trials),
                                 lambda future: self._on_exported(outcome(future), len(trials), path))

    def _on_exported(self, result: Path | BaseException, count: int, path: str | Path) -> None:
        self._exporting = False
        self.export_button.setEnabled(True)
        if isinstance(result, ValueError):  # a file name that names no format: already a sentence
            self.problem.emit(str(result))
        elif isinstance(result, OSError):
            self.problem.emit(f"Could not export the history to {path}: {result.strerror or result}.")
        elif isinstance(result, BaseException):
            self.problem.emit(f"Could not export the history to {path}: {result}")
        else:
            self.problem.emit(f"Exported {count} comparisons to {result}.")
