"""Live resource graphs: what each side costs this machine while it runs.

Four plots (CPU, memory, tokens/s of both sides, network), created once and fed with `setData` from the
monitor's ring buffers by one timer. The x axis is seconds before now. Each run leaves markers on the time
axis (request sent, first token, finished) in its side's colour, so a user sees where the CPU went.

A one-second translation is a thin spike in a 60-second view, so beside the rolling views there is "last
run": the graphs zoomed to the latest comparison, from the first request sent to the last side finished
(with a small margin), its x axis in seconds since the request was sent.

The graphs draw from a `SampleSource`: the live monitor, or, while a recording is replayed, the recording's own
samples played at its pace (`set_source`, see `lmscales.ui.replay`), so a replay shows the recorded figures.
"""

from __future__ import annotations

import csv
import io
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from lmscales.core.resource_monitor import ENGINE_CPU_TOOLTIP, ResourceMonitor, ResourceSample, Side, engine_series
from lmscales.core.storage import write_atomically
from lmscales.ui.theme import SIDE_COLORS

REFRESH_MS = 250  # while a run streams
IDLE_REFRESH_MS = 500  # while nothing runs: the graphs still move, at half the drawing cost
WINDOWS_S = (30, 60, 120)
LAST_RUN = 0.0  # the window box's value for the "last run" view
RATES_HZ = (1.0, 4.0, 10.0, 20.0)
MARKER_STYLES = {"sent": Qt.PenStyle.DotLine, "first token": Qt.PenStyle.DashLine, "finished": Qt.PenStyle.SolidLine}
GREY = "#8a8f98"
AMBER = "#d08a00"


def nice_ceiling(value: float) -> float:
    """The smallest of 1, 2, 5 × 10^k at or above `value` (axis limits that read well and change rarely)."""
    if value <= 0 or math.isnan(value):
        return 1.0
    exponent = math.floor(math.log10(value))
    for step in (1.0, 2.0, 5.0, 10.0):
        if step * 10.0**exponent >= value:
            return step * 10.0**exponent
    return 10.0 ** (exponent + 1)


def _fit_y(plot: pg.PlotItem, arrays: list[np.ndarray | None]) -> None:
    """Grow the y range at once when data outgrows it; shrink only when data falls below a third of it."""
    peaks = [float(np.nanmax(a)) for a in arrays if a is not None and len(a) and np.isfinite(a).any()]
    peak = max(peaks, default=0.0)
    upper = plot.getViewBox().viewRange()[1][1]
    if peak > upper or peak < upper / 3:
        target = nice_ceiling(peak * 1.1)
        if target != upper:
            plot.setYRange(0, target, padding=0)


class SampleSource(Protocol):
    """What graphs draw from: `ResourceMonitor` (live) or `lmscales.core.recording.SamplePlayback` (a replay)."""

    def snapshot(self) -> dict[str, npt.NDArray[Any]]: ...

    def latest(self) -> ResourceSample | None: ...


@dataclass
class _Marker:
    side: str
    kind: str
    at: float  # perf_counter
    line: pg.InfiniteLine


class ResourcePanel(QWidget):
    problem = Signal(str)

    def __init__(self, monitor: ResourceMonitor, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.monitor = monitor
        self.source: SampleSource = monitor
        self.paused = False
        self.window_s = 60.0
        self.updates = 0
        pg.setConfigOptions(antialias=False, useOpenGL=False)

        self.graphs = pg.GraphicsLayoutWidget()
        self.graphs.setBackground(None)
        self.graphs.setMinimumHeight(self.fontMetrics().height() * 9)  # readable axes at any scaling
        self.cpu = self._plot("CPU, % of the machine", 0)
        self.memory = self._plot("Memory, MB", 1)
        self.tokens = self._plot("Tokens/s", 2)
        self.network = self._plot("Network received, KB/s", 3)
        self.curves = {
            "engine_cpu": self.cpu.plot(pen=pg.mkPen(SIDE_COLORS["small"], width=1), name="small model's engine"),
            "gui_cpu": self.cpu.plot(pen=pg.mkPen(GREY, width=1), name="this app (GUI)"),
            "system_cpu": self.cpu.plot(pen=pg.mkPen(AMBER, width=1, style=Qt.PenStyle.DashLine), name="whole system"),
            "large_engine_cpu": self.cpu.plot(pen=pg.mkPen(SIDE_COLORS["large"], width=1),
                                              name="large model's engine (a GGUF here)"),
            "engine_rss": self.memory.plot(pen=pg.mkPen(SIDE_COLORS["small"], width=1), name="engine RSS"),
            "large_engine_rss": self.memory.plot(pen=pg.mkPen(SIDE_COLORS["large"], width=1),
                                                 name="large engine RSS"),
            "gui_rss": self.memory.plot(pen=pg.mkPen(GREY, width=1), name="GUI RSS"),
            "small_tokens": self.tokens.plot(pen=pg.mkPen(SIDE_COLORS["small"], width=1), name="small"),
            "large_tokens": self.tokens.plot(pen=pg.mkPen(SIDE_COLORS["large"], width=1), name="large"),
            "net": self.network.plot(pen=pg.mkPen(SIDE_COLORS["large"], width=1), name="all interfaces"),
        }
        for curve in self.curves.values():
            curve.setClipToView(True)
            curve.setDownsampling(auto=True, method="peak")
        self.cpu.setYRange(0, 100, padding=0.02)
        self.cpu.setToolTip(ENGINE_CPU_TOOLTIP)
        self.memory.setToolTip("Resident memory of each side's engine process (the model lives there) and of this app.")
        self.tokens.setToolTip("Tokens each side produced over the last second (0 when idle). Large-side tokens "
                               "are streamed chunks where the server reports no counts.")
        self.network.setToolTip("Bytes received per second on all of this machine's interfaces: the large "
                                "side's answer arrives here; the small side needs none.")
        self._markers: list[_Marker] = []
        self.last_run_view = False
        self._run_start: float | None = None  # perf_counter of the latest comparison's first "sent"
        self._run_end: float | None = None  # ... and of its last "finished" (None while it runs)
        self._run_open = False

        self.pause_box = QCheckBox("Pause")
        self.pause_box.setToolTip("Freeze the graphs (sampling goes on)")
        self.window_combo = QComboBox()
        for seconds in WINDOWS_S:
            self.window_combo.addItem(f"last {seconds} s", float(seconds))
        self.window_combo.addItem("last run", LAST_RUN)
        self.window_combo.setItemData(self.window_combo.count() - 1,
                                      "The latest comparison, from request sent to last side finished",
                                      Qt.ItemDataRole.ToolTipRole)
        self.window_combo.setCurrentIndex(self.window_combo.findData(self.window_s))
        self.window_combo.setToolTip("How much of the past the graphs show: a rolling window, or the last run")
        self.rate_combo = QComboBox()
        for hz in RATES_HZ:
            self.rate_combo.addItem(f"{hz:g} Hz", hz)
        self.rate_combo.setCurrentIndex(max(0, self.rate_combo.findData(monitor.rate_hz)))
        self.rate_combo.setToolTip("How often the monitor reads the processes")
        self.summary = QLabel("")
        self.summary.setToolTip(ENGINE_CPU_TOOLTIP)
        # One legend for all four plots, as a label: overlay legends repaint with every curve update.
        swatch = "<span style='color:{}'>&#9632;</span> {}"
        self._legend_swatches = "  ".join((
            swatch.format(SIDE_COLORS["small"], "small model (engine process)"),
            swatch.format(SIDE_COLORS["large"], "large model (tokens, network; its engine process if a GGUF)"),
            swatch.format(GREY, "this app"),
            swatch.format(AMBER, "whole system"),
        ))
        self.legend = QLabel()
        self.legend.setTextFormat(Qt.TextFormat.RichText)
        self.csv_button = QPushButton("Samples CSV…")
        self.png_button = QPushButton("Graphs PNG…")
        controls = QHBoxLayout()
        controls.addWidget(self.summary, 1)
        controls.addWidget(self.pause_box)
        controls.addWidget(self.window_combo)
        controls.addWidget(self.rate_combo)
        controls.addWidget(self.csv_button)
        controls.addWidget(self.png_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(controls)
        layout.addWidget(self.legend)
        layout.addWidget(self.graphs, 1)

        self.timer = QTimer(self)
        self.timer.setInterval(IDLE_REFRESH_MS)
        self.timer.timeout.connect(self.refresh)
        self.pause_box.toggled.connect(self._on_paused)
        self.window_combo.currentIndexChanged.connect(self._on_window_changed)
        self.rate_combo.currentIndexChanged.connect(self._on_rate_changed)
        self.csv_button.clicked.connect(self.export_csv_dialog)
        self.png_button.clicked.connect(self.export_png_dialog)
        self._on_window_changed()

    def _plot(self, title: str, column: int) -> pg.PlotItem:
        plot = self.graphs.addPlot(row=0, col=column)
        plot.setTitle(title, size="9pt")
        # No grid and no auto-range: both redraw axes on every update, and together they were two thirds
        # of what the idle graphs cost (measured with bench ui). Y ranges step through nice values instead.
        plot.setMouseEnabled(x=False, y=False)
        plot.enableAutoRange(x=False, y=False)
        plot.setYRange(0, 1, padding=0)
        plot.hideButtons()
        return plot

    def start(self) -> None:
        self.timer.start()

    def set_source(self, source: SampleSource | None) -> None:
        """Draw from `source` (a replay's recorded samples) instead of the live monitor; None: live again."""
        self.source = self.monitor if source is None else source
        self.refresh()

    def set_active(self, active: bool) -> None:
        """Redraw at 4 Hz while a run streams, at 2 Hz when idle (drawing is most of what watching costs)."""
        self.timer.setInterval(REFRESH_MS if active else IDLE_REFRESH_MS)

    def stop(self) -> None:
        self.timer.stop()

    # -- markers -----------------------------------------------------------------------------------
    def mark(self, side: str, kind: str, at: float | None = None) -> None:
        """A vertical line on every plot at `at` (perf_counter): "sent", "first token" or "finished"."""
        when = time.perf_counter() if at is None else at
        pen = pg.mkPen(SIDE_COLORS[side], width=1, style=MARKER_STYLES[kind])
        for plot in (self.cpu, self.memory, self.tokens, self.network):
            line = pg.InfiniteLine(angle=90, movable=False, pen=pen)
            line.setToolTip(f"{side}: {kind}")
            plot.addItem(line, ignoreBounds=True)
            self._markers.append(_Marker(side, kind, when, line))
        if kind == "sent":
            if not self._run_open:  # the first request of a new comparison
                self._run_open = True
                self._run_start, self._run_end = when, None
            elif self._run_start is None or when < self._run_start:
                self._run_start = when
        elif kind == "finished" and self._run_open:
            self._run_end = when if self._run_end is None else max(self._run_end, when)

    def end_run(self) -> None:
        """The comparison has ended (every side): the next "sent" starts the next one."""
        self._run_open = False

    def last_run_range(self, now: float | None = None) -> tuple[float, float] | None:
        """The latest comparison's span in perf_counter time, sent → finished (now, while it runs), with a
        margin of 5 % of the run or 0.25 s, whichever is more; None before the first comparison."""
        if self._run_start is None:
            return None
        end = self._run_end if self._run_end is not None and not self._run_open else None
        if end is None:
            end = max(self._run_end or self._run_start, time.perf_counter() if now is None else now)
        margin = max(0.25, 0.05 * (end - self._run_start))
        return self._run_start - margin, end + margin

    @property
    def marker_count(self) -> int:
        return len(self._markers) // 4

    # -- drawing -----------------------------------------------------------------------------------
    def refresh(self) -> None:
        if self.paused:
            return
        data = self.source.snapshot()
        times = data["timestamp"]
        now = time.perf_counter()
        span = self.last_run_range(now) if self.last_run_view else None
        origin = now if span is None else (self._run_start or now)  # x = 0: now, or the last run's first request
        x = times - origin
        if span is None:
            keep = x >= -self.window_s
        else:
            keep = (times >= span[0]) & (times <= span[1])
            for plot in (self.cpu, self.memory, self.tokens, self.network):
                plot.setXRange(span[0] - origin, span[1] - origin, padding=0)
        x = x[keep]

        def series(name: str, scale: float = 1.0) -> np.ndarray:
            return data[name][keep] * scale

        def engine(side: Side, name: str, scale: float = 1.0) -> np.ndarray:
            # Each side's own engine process where the source keeps them apart (the live monitor); a recording
            # holds the engines' sum only, which is the small side's but for a second GGUF side.
            key = engine_series(side, name)
            if key in data:
                return series(key, scale)
            return series(name, scale) if side == "small" else np.full(len(x), np.nan)

        self.curves["engine_cpu"].setData(x, engine("small", "engine_cpu_percent"), connect="finite")
        self.curves["large_engine_cpu"].setData(x, engine("large", "engine_cpu_percent"), connect="finite")
        self.curves["gui_cpu"].setData(x, series("gui_cpu_percent"), connect="finite")
        self.curves["system_cpu"].setData(x, series("system_cpu_percent"), connect="finite")
        self.curves["engine_rss"].setData(x, engine("small", "engine_rss_bytes", 1e-6), connect="finite")
        self.curves["large_engine_rss"].setData(x, engine("large", "engine_rss_bytes", 1e-6), connect="finite")
        self.curves["gui_rss"].setData(x, series("gui_rss_bytes", 1e-6), connect="finite")
        self.curves["small_tokens"].setData(x, series("small_tokens_per_s"), connect="finite")
        self.curves["large_tokens"].setData(x, series("large_tokens_per_s"), connect="finite")
        self.curves["net"].setData(x, series("net_recv_bytes_per_s", 1e-3), connect="finite")
        for plot, names in ((self.memory, ("engine_rss", "large_engine_rss", "gui_rss")),
                            (self.tokens, ("small_tokens", "large_tokens")),
                            (self.network, ("net",))):
            _fit_y(plot, [self.curves[name].getData()[1] for name in names])
        for marker in list(self._markers):
            position = marker.at - now
            if position < -self.window_s:
                for plot in (self.cpu, self.memory, self.tokens, self.network):
                    if marker.line in plot.items:
                        plot.removeItem(marker.line)
                self._markers.remove(marker)
            else:
                marker.line.setPos(marker.at - origin)
        self._update_summary()
        self.updates += 1

    def _update_summary(self) -> None:
        sample = self.source.latest()
        if sample is None:
            return
        parts = []
        if not math.isnan(sample.engine_cpu_cores):
            parts.append(f"engine {sample.engine_cpu_cores:.1f} cores, {sample.engine_rss_bytes / 1e6:.0f} MB")
        if not math.isnan(sample.gui_cpu_percent):
            parts.append(f"app {sample.gui_cpu_percent:.1f} %")
        if not math.isnan(sample.power_watts):
            mark = "" if sample.power_provenance == "measured" else "~"
            where = "CPU package" if sample.power_provenance == "measured" else "engine, estimated"
            parts.append(f"power {mark}{sample.power_watts:.1f} W ({where})")
        self.summary.setText(" · ".join(parts))

    # -- controls ----------------------------------------------------------------------------------
    def _on_paused(self, paused: bool) -> None:
        self.paused = paused

    def _on_window_changed(self) -> None:
        chosen = float(self.window_combo.currentData())
        self.last_run_view = chosen == LAST_RUN
        if not self.last_run_view:
            self.window_s = chosen
            if self.monitor.window_s < self.window_s:  # the samples must reach back as far as the graphs do
                self.monitor.set_window(self.window_s)
            for plot in (self.cpu, self.memory, self.tokens, self.network):
                plot.setXRange(-self.window_s, 0, padding=0)
        axis = "seconds since the last run's request" if self.last_run_view else "seconds ago"
        self.legend.setText(f"{self._legend_swatches}  <span style='opacity:0.7'>· x: {axis} · markers: dotted "
                            "sent, dashed first token, solid finished</span>")
        self.refresh()

    def show_last_run(self, on: bool = True) -> None:
        """Zoom the graphs to the latest comparison (or back to the rolling window chosen before)."""
        self.window_combo.setCurrentIndex(self.window_combo.findData(LAST_RUN if on else self.window_s))

    def show_window(self, seconds: float) -> None:
        """Show the last `seconds` of history (the setting); the monitor keeps at least that much."""
        index = self.window_combo.findData(float(seconds))
        if index < 0:
            self.window_combo.addItem(f"last {seconds:g} s", float(seconds))
            index = self.window_combo.count() - 1
        self.window_combo.setCurrentIndex(index)  # applies it, as if chosen in the box

    def show_rate(self, hz: float) -> None:
        """Reflect a rate set elsewhere (settings) in the rate box."""
        index = self.rate_combo.findData(hz)
        if index < 0:
            self.rate_combo.addItem(f"{hz:g} Hz", hz)
            index = self.rate_combo.count() - 1
        self.rate_combo.blockSignals(True)
        self.rate_combo.setCurrentIndex(index)
        self.rate_combo.blockSignals(False)

    def _on_rate_changed(self) -> None:
        self.monitor.set_rate(float(self.rate_combo.currentData()))

    # -- export ------------------------------------------------------------------------------------
    def samples_csv(self) -> str:
        data = self.monitor.snapshot()
        columns = [name for name in data if data[name].ndim == 1]
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["seconds_ago", *columns])
        now = time.perf_counter()
        for index in range(len(data["timestamp"])):
            row = [f"{data['timestamp'][index] - now:.3f}"]
            for name in columns:
                value = data[name][index]
                row.append("" if isinstance(value, float) and math.isnan(value) else repr(value.item()))
            writer.writerow(row)
        return out.getvalue()

    def export_csv(self, path: str | Path) -> Path:
        return write_atomically(Path(path), self.samples_csv().encode("utf-8"))

    def export_png(self, path: str | Path) -> Path:
        target = Path(path)
        if not self.graphs.grab().save(str(target), "PNG"):
            raise OSError(f"could not write {target}")
        return target

    def export_csv_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export samples", "lmscales-samples.csv", "CSV (*.csv)")
        if path:
            self._report(lambda: self.export_csv(path))

    def export_png_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export graphs", "lmscales-graphs.png", "PNG (*.png)")
        if path:
            self._report(lambda: self.export_png(path))

    def _report(self, work: object) -> None:
        try:
            written = work()  # type: ignore[operator]
        except OSError as error:
            self.problem.emit(f"Could not export: {error}")
            return
        self.problem.emit(f"Saved {written}.")
