"""What left this computer, shown: the session's total in the status bar, and a read-only dialog with a side's
request as it was sent (pretty-printed JSON, key redacted), opened from a pane or a past comparison. The figures
and the sentence come from `lmscales.core.egress`; this module only shows them."""

from __future__ import annotations

import json

from PySide6.QtCore import Qt
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QPlainTextEdit, QVBoxLayout, QWidget

from lmscales.core.egress import Egress, format_bytes, host_name, session_total, total_sentence
from lmscales.core.secrets import redact
from lmscales.core.trial import SideResult, Trial
from lmscales.ui.session_bridge import SessionBridge


class EgressStatus(QLabel):
    """ "This session sent 14.2 KB to api.openai.com; the small side sent nothing (measured)." """

    def __init__(self, bridge: SessionBridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("egress_status")
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setToolTip("What this session's comparisons sent over the network, counted on the connections; "
                        "a side on this CPU is checked for network connections at each run's start and end.")
        self._sides: list[tuple[Egress | None, bool, bool]] = []
        bridge.trialEnded.connect(self.add_trial)

    def add_trial(self, trial: Trial) -> None:
        for result in trial.sides:
            on_this_cpu = result.engine is not None and result.engine.model_runs == "this_cpu"
            self._sides.append((result.egress, on_this_cpu, result.recorded))
        self.setText(total_sentence(session_total(self._sides)))


def request_text(body: str) -> str:
    """The body pretty-printed when it is JSON (as an API body is), else as it was sent; redacted either way."""
    try:
        return redact(json.dumps(json.loads(body), indent=2, ensure_ascii=False))
    except ValueError:
        return redact(body)


def egress_summary(result: SideResult) -> str:
    egress = result.egress
    if egress is None:
        return "Not recorded: this comparison was made before LM Scales kept what each side sent."
    if egress.host is None:
        sent = "unknown" if egress.bytes_sent is None else format_bytes(egress.bytes_sent)
        return f"Sent over the network: {sent}.\n{_sentence(egress.how)}"
    sent = "unknown" if egress.bytes_sent is None else format_bytes(egress.bytes_sent)
    received = "unknown" if egress.bytes_received is None else format_bytes(egress.bytes_received)
    requests = f"{egress.requests} request{'s' if egress.requests != 1 else ''}"
    return (f"Sent to {host_name(egress.host)}: {sent} in {requests}; received {received} on the connection.\n"
            f"{_sentence(egress.how)} Below, the body of the last request as sent; its headers (with the key) are "
            "never kept.")


def _sentence(text: str) -> str:
    return (text[:1].upper() + text[1:] + ".") if text else ""


class SentDialog(QDialog):
    """One side's request as it was sent, read-only."""

    def __init__(self, result: SideResult, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("sent_dialog")
        self.setWindowTitle(f"What the {result.label.lower()} side sent (read-only)")
        self.summary = QLabel(egress_summary(result))
        self.summary.setTextFormat(Qt.TextFormat.PlainText)
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        body = result.egress.request_body if result.egress is not None else None
        self.request = QPlainTextEdit(request_text(body) if body is not None else "(nothing was sent)")
        self.request.setReadOnly(True)
        self.request.setObjectName("sent_request")
        self.request.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.request.setVisible(body is not None)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(self.request, 1)
        layout.addWidget(buttons)
        metrics = self.fontMetrics()
        self.resize(metrics.averageCharWidth() * 110, metrics.height() * (40 if body is not None else 8))


def show_what_was_sent(result: SideResult, parent: QWidget | None = None) -> SentDialog:
    """Open (not modal) the dialog of what `result`'s side sent; it deletes itself when closed."""
    dialog = SentDialog(result, parent)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.show()
    return dialog
