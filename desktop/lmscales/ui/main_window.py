"""A first window: one task, the small side, live metrics. The full side-by-side window comes later.

It composes: the bridge carries engine events here, a timer coalesces text appends (~30 per second),
and the metrics line is computed by `lmscales.core.metrics`, the same definitions the CLI prints.
"""

from __future__ import annotations

from typing import cast

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QKeySequence, QShortcut, QTextCursor
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from lmscales.core import metrics, tasks
from lmscales.core.engines.local import LoadedModel
from lmscales.core.events import EngineError, Finished, GenerationRequest, TextDelta
from lmscales.ui.bridge import LocalEngineBridge

APPEND_INTERVAL_MS = 33


def model_card_text(model: LoadedModel) -> str:
    info = model.info
    size_mb = info.file_size / 1e6
    return (
        f"<b>{info.name or info.architecture}</b> · {info.parameters_label} parameters · {info.quantization} · "
        f"{size_mb:.0f} MB · context {model.n_ctx:,} · {info.license or 'licence unknown'} · "
        f"{model.n_threads} threads"
    )


class MainWindow(QMainWindow):
    def __init__(self, bridge: LocalEngineBridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.bridge = bridge
        self.setWindowTitle("LM Scales")
        self._pending: list[str] = []
        self._flush_timer = QTimer(self, interval=APPEND_INTERVAL_MS)
        self._flush_timer.timeout.connect(self._flush)

        self.model_card = QLabel("Loading the small model…")
        self.model_card.setTextFormat(Qt.TextFormat.RichText)
        self.task_picker = QComboBox()
        for task in tasks.TASKS:
            self.task_picker.addItem(task.capitalize(), task)
        self.target_language = QComboBox()
        for code, name in sorted(tasks.LANGUAGES.items(), key=lambda item: item[1]):
            self.target_language.addItem(name, code)
        self.target_language.setCurrentIndex(self.target_language.findData("fr"))
        self.summary_length = QComboBox()
        for key in tasks.SUMMARY_LENGTHS:
            self.summary_length.addItem(key.capitalize(), key)
        self.summary_length.setCurrentIndex(self.summary_length.findData("paragraph"))
        self.open_model_button = QPushButton("Open GGUF…")
        self.input = QPlainTextEdit()
        self.input.setPlaceholderText("Type a message, or paste text to summarize or translate. Ctrl+Enter sends.")
        self.send_button = QPushButton("Send")
        self.send_button.setToolTip("Send to the small model (Ctrl+Enter)")
        self.stop_button = QPushButton("Stop")
        self.stop_button.setToolTip("Stop the running generation (Esc)")
        self.stop_button.setEnabled(False)
        self.output = QPlainTextEdit()
        self.output.setReadOnly(True)
        self.metrics_line = QLabel("")
        self.metrics_line.setToolTip(
            "TTFT: first visible text minus submit time. tok/s: (tokens - 1) / (last - first token). "
            "~ marks an estimate."
        )
        self.status_line = QLabel("")
        self.status_line.setWordWrap(True)

        options = QHBoxLayout()
        options.addWidget(QLabel("Task"))
        options.addWidget(self.task_picker)
        options.addWidget(QLabel("Length"))
        options.addWidget(self.summary_length)
        options.addWidget(QLabel("Into"))
        options.addWidget(self.target_language)
        options.addStretch(1)
        options.addWidget(self.open_model_button)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.stop_button)
        buttons.addWidget(self.send_button)
        layout = QVBoxLayout()
        layout.addWidget(self.model_card)
        layout.addLayout(options)
        layout.addWidget(self.input, 2)
        layout.addLayout(buttons)
        layout.addWidget(QLabel("Small · on this CPU"))
        layout.addWidget(self.output, 3)
        layout.addWidget(self.metrics_line)
        layout.addWidget(self.status_line)
        central = QWidget()
        central.setLayout(layout)
        self.setCentralWidget(central)
        self.resize(900, 700)

        self.send_button.clicked.connect(self.send)
        self.stop_button.clicked.connect(self.stop)
        self.open_model_button.clicked.connect(self._on_open_model)
        self.task_picker.currentIndexChanged.connect(self._on_task_changed)
        self.input.textChanged.connect(self._update_send_enabled)
        QShortcut(QKeySequence("Ctrl+Return"), self, self.send)
        QShortcut(QKeySequence("Ctrl+Enter"), self, self.send)
        QShortcut(QKeySequence(Qt.Key.Key_Escape), self, self.stop)
        bridge.deltaReady.connect(self._on_delta)
        bridge.finished.connect(self._on_finished)
        bridge.failed.connect(self._on_failed)
        bridge.busyChanged.connect(self._on_busy_changed)
        bridge.loaded.connect(self._on_loaded)
        bridge.loadFailed.connect(self._on_load_failed)
        self._on_task_changed()

    @property
    def task(self) -> tasks.TaskName:
        return cast(tasks.TaskName, self.task_picker.currentData())

    def _update_send_enabled(self) -> None:
        has_text = bool(self.input.toPlainText().strip())
        self.send_button.setEnabled(has_text and not self.bridge.busy and self.bridge.local_engine.model is not None)

    def _on_task_changed(self) -> None:
        self.summary_length.setEnabled(self.task == "summarize")
        self.target_language.setEnabled(self.task == "translate")

    def request(self) -> GenerationRequest:
        text = self.input.toPlainText()
        if self.task == "chat":
            messages = tasks.chat_messages([], text)
        elif self.task == "summarize":
            messages = tasks.summarize_messages(text, self.summary_length.currentData())
        else:
            messages = tasks.translate_messages(text, self.target_language.currentData())
        return GenerationRequest(messages=messages, max_tokens=256)

    def send(self) -> None:
        if self.bridge.busy:
            return
        try:
            request = self.request()
        except tasks.TaskInputError as error:
            self.status_line.setText(str(error))
            return
        self.output.clear()
        self.metrics_line.setText("")
        self.status_line.setText("Generating…")
        self.bridge.start(request)
        self._flush_timer.start()

    def stop(self) -> None:
        if self.bridge.busy:
            self.bridge.cancel()

    def _on_delta(self, delta: TextDelta) -> None:
        self._pending.append(delta.text)

    def _flush(self) -> None:
        if not self._pending:
            return
        text, self._pending = "".join(self._pending), []
        cursor = self.output.textCursor()
        cursor.movePosition(QTextCursor.MoveOperation.End)
        cursor.insertText(text)
        self.output.setTextCursor(cursor)

    def _on_finished(self, finished: Finished) -> None:
        self._flush()
        self._flush_timer.stop()
        computed = metrics.compute(finished)
        self.metrics_line.setText(
            f"TTFT {computed.time_to_first_token.format(3)} · {computed.decode_rate.format()} · "
            f"{computed.output_tokens.format(0)} out · E2E {computed.end_to_end.format(2)}"
        )
        notes = {"cancelled": "Stopped.", "length": "Reached max tokens.", "stop": "Done."}
        trimmed = (
            f" {finished.trimmed_messages} old messages were left out to fit." if finished.trimmed_messages else ""
        )
        self.status_line.setText(notes[finished.stop_reason] + trimmed)

    def _on_failed(self, error: EngineError) -> None:
        self._flush()
        self._flush_timer.stop()
        self.status_line.setText(error.message)

    def _on_busy_changed(self, busy: bool) -> None:
        self.stop_button.setEnabled(busy)
        self.open_model_button.setEnabled(not busy)
        self._update_send_enabled()

    def _on_loaded(self, model: LoadedModel) -> None:
        self.model_card.setText(model_card_text(model))
        self.status_line.setText(f"Model loaded in {model.load_seconds:.2f} s.")

    def _on_load_failed(self, message: str) -> None:
        self.status_line.setText(message)

    def _on_open_model(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open a GGUF model", "", "GGUF models (*.gguf);;All files (*)")
        if path:
            self.status_line.setText("Loading…")
            self.bridge.load(path)
