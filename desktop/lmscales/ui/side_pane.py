"""One side of the comparison: a model card, the streaming answer, stop and copy, and its metrics.

A model that thinks gets a "Thinking" section above its answer: collapsed by default, with its own token
count and time, filled as the thinking streams (or saying the model kept it to itself, where only the
usage counted it).

The pane takes the session bridge and its slot in `__init__` and subscribes to the session's events for that
slot; it never touches threads or engines. What it shows at the end comes from the side's `SideResult`.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QStackedWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from lmscales.core.events import EngineError, Notice, TextDelta, Where
from lmscales.core.metrics import RunMetrics
from lmscales.core.session import SideStarted, TrialStarted
from lmscales.core.tasks import ChatTurn
from lmscales.core.trial import SideResult
from lmscales.ui.egress_view import show_what_was_sent
from lmscales.ui.markdown_text import plain_tooltip
from lmscales.ui.metrics_strip import MetricsStrip
from lmscales.ui.session_bridge import SessionBridge
from lmscales.ui.side_notes import prompt_cache_note, result_note
from lmscales.ui.streaming_view import StreamingView
from lmscales.ui.theme import SIDE_COLORS, SIDE_TITLES


class SidePane(QFrame):
    stopRequested = Signal()
    setupRequested = Signal()  # the placeholder's button, or the header's model/endpoint button

    def __init__(self, side: str, bridge: SessionBridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.side = side
        self.bridge = bridge
        self.running = False
        self.setObjectName(f"pane_{side}")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        color = SIDE_COLORS[side]

        self.title = QLabel(SIDE_TITLES[side])
        self.title.setTextFormat(Qt.TextFormat.PlainText)  # a label the user typed, as written
        self.title.setStyleSheet(f"font-weight: 600; color: {color};")
        self.model_card = QLabel("")
        self.model_card.setTextFormat(Qt.TextFormat.RichText)
        self.model_card.setWordWrap(True)
        self.setup_button = QPushButton("Model…" if side == "small" else "Endpoint…")
        self.setup_button.setToolTip("Pick a GGUF model file for this side" if side == "small"
                                     else "Set up this side: an API endpoint, a server on this computer, or a GGUF")
        self.copy_button = QPushButton("Copy")
        self.copy_button.setToolTip("Copy this side's answer")
        self.sent_button = QPushButton("What was sent")  # what left this computer for this side's last run
        self.sent_button.setObjectName(f"sent_{side}")
        self.sent_button.setToolTip("The host, the bytes each way and the request as sent (key redacted)")
        self.sent_button.setVisible(False)
        self._sent: SideResult | None = None
        self.stop_button = QPushButton("Stop")
        self.stop_button.setToolTip("Stop this side (Esc stops both)")
        self.stop_button.setEnabled(False)

        self.thinking_toggle = QToolButton()
        self.thinking_toggle.setObjectName(f"thinking_{side}")
        self.thinking_toggle.setCheckable(True)
        self.thinking_toggle.setChecked(False)
        self.thinking_toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.thinking_toggle.setArrowType(Qt.ArrowType.RightArrow)
        self.thinking_toggle.setToolTip("What the model thought before it answered (not part of the answer). "
                                        "Its tokens are counted apart and billed as output.")
        self.thinking_view = QPlainTextEdit()
        self.thinking_view.setReadOnly(True)
        self.thinking_view.setMaximumHeight(self.fontMetrics().height() * 8)
        self.thinking_view.setVisible(False)
        self.thinking_toggle.setVisible(False)
        self.thinking_toggle.toggled.connect(self._on_thinking_toggled)
        self._thinking_pieces = 0
        self._thinking_first: float | None = None
        self._thinking_last: float | None = None

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
        self._placeholder_layout = placeholder_layout
        self.welcome: QWidget | None = None
        self.stack = QStackedWidget()
        self.stack.setMinimumHeight(self.fontMetrics().height() * 6)
        self.stack.addWidget(self.view)
        self.stack.addWidget(placeholder)

        self.metrics = MetricsStrip("local" if side == "small" else "remote")
        self.quality = QualityLine()
        self.status = QLabel("")
        self.status.setTextFormat(Qt.TextFormat.PlainText)  # a server's error message, shown as written
        self.status.setWordWrap(True)
        self.status.setObjectName(f"status_{side}")
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        # "RECORDED" in words beside the title, never colour alone: this side's answer is a replay.
        self.recorded_badge = QLabel("▶ RECORDED")
        self.recorded_badge.setObjectName(f"recorded_{side}")
        self.recorded_badge.setToolTip("This answer is played back from a recording, not generated now.")
        self.recorded_badge.setStyleSheet("font-weight: 700; border: 1px solid palette(text); padding: 0 4px;")
        self.recorded_badge.setVisible(False)
        self.action_button = QPushButton()  # an offer for this side (e.g. "Play the recorded answer")
        self.action_button.setVisible(False)
        self._action_slot: Callable[[], None] | None = None
        self.action_button.clicked.connect(self._on_action)

        header = QHBoxLayout()
        header.addWidget(self.title)
        header.addWidget(self.recorded_badge)
        header.addStretch(1)
        header.addWidget(self.setup_button)
        header.addWidget(self.sent_button)
        header.addWidget(self.copy_button)
        header.addWidget(self.stop_button)
        layout = QVBoxLayout(self)
        layout.addLayout(header)
        layout.addWidget(self.model_card)
        layout.addWidget(self.thinking_toggle)
        layout.addWidget(self.thinking_view)
        layout.addWidget(self.stack, 1)
        layout.addWidget(self.metrics)
        layout.addWidget(self.quality)
        layout.addWidget(self.status)
        layout.addWidget(self.action_button, 0, Qt.AlignmentFlag.AlignLeft)
        self.setStyleSheet(f"#pane_{side} {{ border-top: 3px solid {color}; }}")

        self._submitted_at: float | None = None
        self._first_at: float | None = None
        self._chunks = 0
        self._live = QTimer(self)
        self._live.setInterval(250)
        self._live.timeout.connect(self._on_live_tick)

        self.copy_button.clicked.connect(self.copy_answer)
        self.sent_button.clicked.connect(self.show_what_was_sent)
        self.stop_button.clicked.connect(self.stopRequested)
        self.stopRequested.connect(lambda: bridge.cancel(side))
        self.setup_button.clicked.connect(self.setupRequested)
        self.placeholder_button.clicked.connect(self.setupRequested)
        bridge.trialStarted.connect(self._on_trial_started)
        bridge.sideQueued.connect(self._on_queued)
        bridge.sideStarted.connect(self._on_started)
        bridge.deltasReady.connect(self._on_deltas)
        bridge.noticed.connect(self._on_notice)
        bridge.sideEnded.connect(self._on_ended)

    # -- states -------------------------------------------------------------------------------------
    def show_placeholder(self, message: str, button_text: str) -> None:
        self.placeholder_text.setText(message)
        self.placeholder_button.setText(button_text)
        self.stack.setCurrentIndex(1)

    def hide_placeholder(self) -> None:
        self.stack.setCurrentIndex(0)

    def set_welcome(self, welcome: QWidget | None) -> None:
        """Show `welcome` in the placeholder instead of its message (a first start), or the message again."""
        if welcome is not None and welcome is not self.welcome:
            self._placeholder_layout.insertWidget(1, welcome)
        if self.welcome is not None and welcome is None:
            self.welcome.hide()
        self.welcome = welcome if welcome is not None else self.welcome
        shown = welcome is not None
        if welcome is not None:
            welcome.show()
        self.placeholder_text.setVisible(not shown)
        self.placeholder_button.setVisible(not shown)

    @property
    def welcome_shown(self) -> bool:
        return self.placeholder_shown and self.welcome is not None and not self.welcome.isHidden()

    @property
    def placeholder_shown(self) -> bool:
        return self.stack.currentIndex() == 1

    def begin(self, prefix_markdown: str = "") -> None:
        self.hide_placeholder()
        self.quality.clear()
        self._submitted_at = time.perf_counter()
        self._first_at = None
        self._chunks = 0
        self.metrics.clear()
        self._clear_thinking()
        self.status.setText("Waiting for the first token…")
        self.view.begin(prefix_markdown)
        self._live.start()
        self.sent_button.setVisible(False)

    def reset(self, prefix_markdown: str = "") -> None:
        self.view.begin(prefix_markdown)
        self.view.finish()
        self.metrics.clear()
        self._clear_thinking()
        self.status.setText("")

    def show_what_was_sent(self) -> QWidget | None:
        """The dialog of what this side's last run sent (None: nothing recorded)."""
        return show_what_was_sent(self._sent, self) if self._sent is not None else None

    # -- thinking ----------------------------------------------------------------------------------------
    def _clear_thinking(self) -> None:
        self._thinking_pieces = 0
        self._thinking_first = self._thinking_last = None
        self.thinking_view.clear()
        self.thinking_toggle.setChecked(False)
        self.thinking_toggle.setVisible(False)
        self.thinking_view.setVisible(False)

    def _on_thinking_toggled(self, expanded: bool) -> None:
        self.thinking_toggle.setArrowType(Qt.ArrowType.DownArrow if expanded else Qt.ArrowType.RightArrow)
        self.thinking_view.setVisible(expanded and not self.thinking_toggle.isHidden())

    def _show_thinking_header(self, tokens: str, seconds: float | None, note: str = "") -> None:
        when = f" · {seconds:.2f} s" if seconds is not None else ""
        self.thinking_toggle.setText(f"Thinking · {tokens} tok{when}{note}")
        self.thinking_toggle.setVisible(True)
        self.thinking_view.setVisible(self.thinking_toggle.isChecked())

    def _add_thinking(self, deltas: list[TextDelta]) -> None:
        if self._thinking_first is None:
            self._thinking_first = deltas[0].timestamp
        self._thinking_last = deltas[-1].timestamp
        self._thinking_pieces += len(deltas)
        cursor = self.thinking_view.textCursor()
        cursor.movePosition(cursor.MoveOperation.End)
        cursor.insertText("".join(delta.text for delta in deltas))
        self._show_thinking_header(f"~{self._thinking_pieces}", self._thinking_last - self._thinking_first)

    def thinking_text(self) -> str:
        return self.thinking_view.toPlainText()

    def set_label(self, label: str, where: Where | None = None) -> None:
        """The side's name as the user sees it, and where it runs (None: not known yet)."""
        self.title.setText(label + WHERE_LABELS.get(where or "", ""))
        if where in ("this_cpu", "this_computer", "remote"):
            self.metrics.set_kind("local" if where == "this_cpu" else "remote")

    def offer_action(self, text: str, slot: Callable[[], None], tip: str = "") -> None:
        """A button under the status line offering one thing to do about this side's result."""
        self._action_slot = slot
        self.action_button.setText(text)
        self.action_button.setToolTip(tip)
        self.action_button.setVisible(True)

    def withdraw_action(self) -> None:
        self._action_slot = None
        self.action_button.setVisible(False)

    def _on_action(self) -> None:
        if self._action_slot is not None:
            self._action_slot()

    def _set_running(self, running: bool) -> None:
        self.running = running
        self.stop_button.setEnabled(running)
        self.setup_button.setEnabled(not running)

    # -- session events ------------------------------------------------------------------------------
    def _on_trial_started(self, event: TrialStarted) -> None:
        if self.side not in event.sides:
            return
        prefix = ""
        if event.input.task == "chat" and event.input.messages is None:
            prefix = transcript_markdown(self.bridge.session.transcripts[self.side], event.input.text.strip())
        self.begin(prefix)
        self.recorded_badge.setVisible(False)
        self._set_running(True)

    def _on_queued(self, side: str) -> None:
        if side == self.side:
            self._live.stop()
            self.status.setText("Waits for the other side to finish (one after the other)…")

    def _on_started(self, side: str, event: SideStarted) -> None:
        if side != self.side:
            return
        self.metrics.set_kind(event.engine.kind)
        self.recorded_badge.setVisible(event.engine.recorded)
        self._submitted_at = event.at
        self.status.setText("Waiting for the first token…")
        self._live.start()

    def _on_deltas(self, side: str, deltas: list[TextDelta]) -> None:
        if side != self.side:
            return
        thoughts = [delta for delta in deltas if delta.kind == "reasoning"]
        answer = [delta for delta in deltas if delta.kind != "reasoning"]
        if thoughts:
            self._add_thinking(thoughts)
            if self._first_at is None:
                self.status.setText("Thinking…")
        if not answer:
            return
        if self._first_at is None:
            self._first_at = answer[0].timestamp
            self.status.setText("Streaming…")
        self._chunks += len(answer)
        self.view.add("".join(delta.text for delta in answer))

    def _on_notice(self, side: str, notice: Notice) -> None:
        if side == self.side:
            self.status.setText(notice.message)

    def _on_live_tick(self) -> None:
        if self._submitted_at is None:
            return
        ttft = self._first_at - self._submitted_at if self._first_at is not None else None
        self.metrics.show_live(ttft, self._chunks, time.perf_counter() - self._submitted_at)

    def _on_ended(self, side: str, result: SideResult) -> None:
        if side != self.side:
            return
        self._live.stop()
        self._set_running(False)
        self.show_result(result)

    def show_result(self, result: SideResult) -> str:
        """Settle the pane on a side's result: its figures, and a note on how it ended."""
        self._sent = result if result.egress is not None else None
        self.sent_button.setVisible(self._sent is not None)
        if result.skipped is not None:
            answer = self.view.finish()
            self.status.setText(f"⚠ {result.skipped}")
            return answer
        if result.error is not None:
            return self.fail(result.error)
        computed = result.metrics
        if result.cost is not None and result.cost.on_this_computer:
            energy = result.resources.energy if result.resources is not None else None
            shown = energy.format(0) if energy is not None and energy.value is not None else "energy n/a"
            last: str | None = f"$0 · {shown}"
        elif result.cost is not None:
            last = result.cost.format()
        else:
            last = f"{result.cpu_seconds:.2f} s" if result.cpu_seconds is not None else "n/a"
        if computed is not None:
            self.metrics.show_final(computed, last, prompt_cache_note(result))
            self._settle_thinking(result, computed)
        self.quality.show_result(result)
        return self.view_finish(result_note(result))

    def _settle_thinking(self, result: SideResult, computed: RunMetrics) -> None:
        finished = result.finished
        if finished is None or computed.reasoning_tokens is None:
            return
        tokens = computed.reasoning_tokens.format(0).replace(" tok", "")
        seconds = computed.thinking_time.value if computed.thinking_time is not None else None
        if not finished.reasoning_deltas:
            self.thinking_view.setPlainText("The model thought before it answered but did not show its thinking; "
                                            "only the server's usage counted it.")
            self._show_thinking_header(tokens, None, " (not shown by the model)")
        else:
            if not self.thinking_text():  # a result shown from the history: fill it from the trial
                self.thinking_view.setPlainText(finished.reasoning_text)
            self._show_thinking_header(tokens, seconds)

    def view_finish(self, note: str) -> str:
        answer = self.view.finish()
        self.status.setText(note)
        return answer

    def fail(self, error: EngineError) -> str:
        self._live.stop()
        answer = self.view.finish("\n\n*(incomplete)*" if error.partial_text else "")
        self.status.setText(f"⚠ {error.message}")
        return answer

    def copy_answer(self) -> None:
        clipboard = QGuiApplication.clipboard()
        if clipboard is not None:
            clipboard.setText(self.view.answer)


# After the side's name: where it runs.
WHERE_LABELS: dict[str, str] = {"this_cpu": " · on this CPU", "this_computer": " · server on this computer",
                                "remote": " · API", "recording": " · recording"}


class QualityLine(QWidget):
    """A small line of the answer's quality checks under the metrics: ✓ or ✗ and the check's name, never colour
    alone, each with a tooltip saying what was checked and what was found; then any reference scores."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._layout = QHBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self.title = QLabel("checks")
        self.title.setToolTip("Quality checks that need no reference answer, run on every answer. They catch "
                              "obvious failures (wrong language, a copy of the input, a loop); passing them does "
                              "not make an answer right.")
        self._layout.addWidget(self.title)
        self.labels: list[QLabel] = []
        self._layout.addStretch(1)
        self.clear()

    def clear(self) -> None:
        for label in self.labels:
            self._layout.removeWidget(label)
            label.deleteLater()
        self.labels = []
        self.setVisible(False)

    def show_result(self, result: SideResult) -> None:
        self.clear()
        items: list[tuple[str, str]] = []
        for check in result.checks:
            mark = "–" if check.passed is None else "✓" if check.passed else "✗"
            items.append((f"{mark} {check.name}", check.detail))
        for score in result.scores:
            items.append((f"{score.name} {score.value:.0f}", f"{score.detail} ({score.signature})".strip()))
        for text, tip in items:
            label = QLabel(text)
            label.setTextFormat(Qt.TextFormat.PlainText)
            label.setToolTip(plain_tooltip(tip))  # a check's detail may quote the answer
            self._layout.insertWidget(self._layout.count() - 1, label)
            self.labels.append(label)
        self.setVisible(bool(items))

    def text(self) -> str:
        return " · ".join(label.text() for label in self.labels)


def _escape_markdown(text: str) -> str:
    return text.replace("\\", "\\\\").replace("*", "\\*").replace("_", "\\_").replace("#", "\\#")


def transcript_markdown(history: list[ChatTurn], user_text: str) -> str:
    """A side's chat so far and the new question, as the pane shows them above the streaming answer."""
    parts = [f"**You:** {_escape_markdown(turn.user)}\n\n{turn.assistant}\n\n---\n\n" for turn in history]
    parts.append(f"**You:** {_escape_markdown(user_text)}\n\n")
    return "".join(parts)
