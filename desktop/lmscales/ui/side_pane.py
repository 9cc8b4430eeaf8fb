"""One side of the comparison: a model card, the streaming answer, stop and copy, and its metrics.

The pane takes its bridge in `__init__` and subscribes to it; it never touches threads or engines.
"""

from __future__ import annotations

import time

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from lmscales.core import metrics
from lmscales.core.events import EngineError, Finished, Notice, TextDelta
from lmscales.ui.bridge import EngineBridge
from lmscales.ui.metrics_strip import MetricsStrip
from lmscales.ui.streaming_view import StreamingView
from lmscales.ui.theme import SIDE_COLORS, SIDE_TITLES


class SidePane(QFrame):
    stopRequested = Signal()
    setupRequested = Signal()  # the placeholder's button, or the header's model/endpoint button

    def __init__(self, side: str, bridge: EngineBridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.side = side
        self.bridge = bridge
        self.setObjectName(f"pane_{side}")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        color = SIDE_COLORS[side]

        self.title = QLabel(SIDE_TITLES[side])
        self.title.setStyleSheet(f"font-weight: 600; color: {color};")
        self.model_card = QLabel("")
        self.model_card.setTextFormat(Qt.TextFormat.RichText)
        self.model_card.setWordWrap(True)
        self.setup_button = QPushButton("Model…" if side == "local" else "Endpoint…")
        self.setup_button.setToolTip("Pick a GGUF model file" if side == "local" else "Set up the remote API")
        self.copy_button = QPushButton("Copy")
        self.copy_button.setToolTip("Copy this side's answer")
        self.stop_button = QPushButton("Stop")
        self.stop_button.setToolTip("Stop this side (Esc stops both)")
        self.stop_button.setEnabled(False)

        self.view = StreamingView()
        self.placeholder_text = QLabel()
        self.placeholder_text.setWordWrap(True)
        self.placeholder_text.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.placeholder_button = QPushButton()
        placeholder = QWidget()
        placeholder_layout = QVBoxLayout(placeholder)
        placeholder_layout.addStretch(1)
        placeholder_layout.addWidget(self.placeholder_text)
        placeholder_layout.addWidget(self.placeholder_button, 0, Qt.AlignmentFlag.AlignHCenter)
        placeholder_layout.addStretch(2)
        self.stack = QStackedWidget()
        self.stack.setMinimumHeight(self.fontMetrics().height() * 6)
        self.stack.addWidget(self.view)
        self.stack.addWidget(placeholder)

        self.metrics = MetricsStrip(side)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.status.setObjectName(f"status_{side}")
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        header = QHBoxLayout()
        header.addWidget(self.title)
        header.addStretch(1)
        header.addWidget(self.setup_button)
        header.addWidget(self.copy_button)
        header.addWidget(self.stop_button)
        layout = QVBoxLayout(self)
        layout.addLayout(header)
        layout.addWidget(self.model_card)
        layout.addWidget(self.stack, 1)
        layout.addWidget(self.metrics)
        layout.addWidget(self.status)
        self.setStyleSheet(f"#pane_{side} {{ border-top: 3px solid {color}; }}")

        self._submitted_at: float | None = None
        self._first_at: float | None = None
        self._chunks = 0
        self._live = QTimer(self)
        self._live.setInterval(250)
        self._live.timeout.connect(self._on_live_tick)

        self.copy_button.clicked.connect(self.copy_answer)
        self.stop_button.clicked.connect(self.stopRequested)
        self.setup_button.clicked.connect(self.setupRequested)
        self.placeholder_button.clicked.connect(self.setupRequested)
        bridge.deltasReady.connect(self._on_deltas)
        bridge.noticed.connect(self._on_notice)
        bridge.busyChanged.connect(self._on_busy_changed)

    # -- states -------------------------------------------------------------------------------------
    def show_placeholder(self, message: str, button_text: str) -> None:
        self.placeholder_text.setText(message)
        self.placeholder_button.setText(button_text)
        self.stack.setCurrentIndex(1)

    def hide_placeholder(self) -> None:
        self.stack.setCurrentIndex(0)

    @property
    def placeholder_shown(self) -> bool:
        return self.stack.currentIndex() == 1

    def begin(self, prefix_markdown: str = "") -> None:
        self.hide_placeholder()
        self._submitted_at = time.perf_counter()
        self._first_at = None
        self._chunks = 0
        self.metrics.clear()
        self.status.setText("Waiting for the first token…")
        self.view.begin(prefix_markdown)
        self._live.start()

    def reset(self, prefix_markdown: str = "") -> None:
        self.view.begin(prefix_markdown)
        self.view.finish()
        self.metrics.clear()
        self.status.setText("")

    # -- events -------------------------------------------------------------------------------------
    def _on_deltas(self, deltas: list[TextDelta]) -> None:
        if self._first_at is None:
            self._first_at = deltas[0].timestamp
            self.status.setText("Streaming…")
        self._chunks += len(deltas)
        self.view.add("".join(delta.text for delta in deltas))

    def _on_notice(self, notice: Notice) -> None:
        self.status.setText(notice.message)

    def _on_live_tick(self) -> None:
        if self._submitted_at is None:
            return
        ttft = self._first_at - self._submitted_at if self._first_at is not None else None
        self.metrics.show_live(ttft, self._chunks, time.perf_counter() - self._submitted_at)

    def finish(self, finished: Finished, last_figure: str | None, note: str, suffix_markdown: str = "") -> str:
        self._live.stop()
        answer = self.view.finish(suffix_markdown)
        self.metrics.show_final(metrics.compute(finished), last_figure)
        self.status.setText(note)
        return answer

    def fail(self, error: EngineError) -> str:
        self._live.stop()
        answer = self.view.finish("\n\n*(incomplete)*" if error.partial_text else "")
        self.status.setText(f"⚠ {error.message}")
        return answer

    def _on_busy_changed(self, busy: bool) -> None:
        self.stop_button.setEnabled(busy)
        self.setup_button.setEnabled(not busy)

    def copy_answer(self) -> None:
        clipboard = QGuiApplication.clipboard()
        if clipboard is not None:
            clipboard.setText(self.view.answer)
