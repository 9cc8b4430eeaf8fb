"""The live metrics line under each pane: TTFT, decode rate, tokens, E2E, and cost or CPU-seconds.

Figures fill in while the answer streams and settle on the engine's final numbers when it finishes.
Every label's tooltip says how the figure is measured; estimated figures carry a "~". For a model that
thinks, TTFT is still the first answer token; the first token of any kind is in its tooltip, and the
thinking tokens are counted beside the answer's. A rate that cannot be measured says "n/a" and why.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QWidget

from lmscales.core.metrics import Figure, RunMetrics

TOOLTIPS = {
    "ttft": "Time to first token: from the moment the request was submitted to the first token of the answer. "
            "A model that thinks first sends thinking before it; the time to its first token of any kind is "
            "given below when there was thinking.",
    "rate": "Decode rate over the tokens the stream shows: (tokens − 1) / (time of last token − time of first "
            "token). The wait before the first token is not in it; that is TTFT. Thinking the server only "
            "reports in its usage is not in it (it was never seen arriving). ~ means the token count is "
            "estimated (the server sent no usage). n/a: too few pieces, or everything arrived at once.",
    "tokens": "Tokens generated. Counted by the model's own tokenizer (local) or reported by the server; "
              "~ means estimated from the streamed chunks.",
    "e2e": "End to end: from submit to the last piece of text.",
    "cost": "Cost of this run from the price table (USD per million input and output tokens); the source "
            "and date of the price are in the pane's status line (stale: older than 180 days). Unknown model: unknown. "
            "Thinking tokens are billed as output and are in it. A server on this computer costs $0; the energy the "
            "machine spent on the run is shown instead.",
    "cpu": "CPU-seconds the local engine process spent on this run (user + system, all its threads). "
           "llama.cpp's threads spin while they wait, so this is close to threads × wall time.",
}


class MetricsStrip(QWidget):
    """`kind` is the engine's ("local": its CPU-seconds are shown; "remote": the money it cost)."""

    def __init__(self, kind: str = "local", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.kind = kind
        self.labels: dict[str, QLabel] = {}
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for key, title in (("ttft", "TTFT"), ("rate", "tok/s"), ("tokens", "tokens"), ("e2e", "E2E"),
                           ("cost", "cost"), ("cpu", "CPU")):
            label = QLabel()
            label.setTextFormat(Qt.TextFormat.RichText)
            label.setToolTip(TOOLTIPS[key])
            label.setObjectName(f"metric_{key}")
            label.setProperty("title", title)
            layout.addWidget(label)
            self.labels[key] = label
        layout.addStretch(1)
        self.set_kind(kind)
        self.clear()

    @property
    def last_key(self) -> str:
        return "cost" if self.kind == "remote" else "cpu"

    def set_kind(self, kind: str) -> None:
        self.kind = kind
        self.labels["cost"].setVisible(kind == "remote")
        self.labels["cpu"].setVisible(kind != "remote")

    def _set(self, key: str, value: str) -> None:
        label = self.labels[key]
        label.setText(f"{label.property('title')} <b>{value}</b>")

    def clear(self) -> None:
        for key in self.labels:
            self._set(key, "–")
            self.labels[key].setToolTip(TOOLTIPS[key])

    def show_live(self, ttft: float | None, chunks: int, elapsed: float) -> None:
        if ttft is not None:
            self._set("ttft", f"{ttft:.2f} s")
        self._set("tokens", f"~{chunks}")
        self._set("e2e", f"{elapsed:.1f} s…")

    def show_final(self, metrics: RunMetrics, last: str | None, ttft_note: str = "") -> None:
        self._set("ttft", _fmt(metrics.time_to_first_token, 2))
        first_any = metrics.time_to_first_any
        self.labels["ttft"].setToolTip(TOOLTIPS["ttft"] + (
            f"\n\nFirst token of any kind (thinking included): {_fmt(first_any, 2)}." if first_any is not None
            else "") + (f"\n\n{ttft_note}" if ttft_note else ""))
        rate = metrics.decode_rate
        self._set("rate", _fmt(rate, 1, unit=False))
        self.labels["rate"].setToolTip(TOOLTIPS["rate"] + f"\n\nThis run: {rate.how}."
                                       + (f"\nNo rate: {rate.reason}." if rate.value is None and rate.reason else ""))
        tokens = _fmt(metrics.output_tokens, 0, unit=False)
        if metrics.reasoning_tokens is not None:
            tokens += f" + {_fmt(metrics.reasoning_tokens, 0, unit=False)} thinking"
        self._set("tokens", tokens)
        self._set("e2e", _fmt(metrics.end_to_end, 2))
        if last is not None:
            self._set(self.last_key, last)

    def reset_tooltips(self) -> None:
        for key, label in self.labels.items():
            label.setToolTip(TOOLTIPS[key])

    def text(self) -> str:
        return " · ".join(label.text() for label in self.labels.values() if not label.isHidden())


def _fmt(figure: Figure, digits: int, unit: bool = True) -> str:
    if figure.value is None:
        return "n/a"
    mark = "~" if figure.provenance == "estimated" else ""
    return f"{mark}{figure.value:.{digits}f}" + (f" {figure.unit}" if unit else "")
