"""The presenter's one graph: each side's tokens per second over the last minute."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QWidget

from lmscales.core.resource_monitor import ResourceMonitor
from lmscales.ui.resource_panel import SampleSource


class SpeedGraph(pg.PlotWidget):  # type: ignore[misc]
    """One simple graph: tokens per second of each side, thick lines, named in a legend (not colour alone)."""

    def __init__(self, monitor: ResourceMonitor, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.monitor = monitor
        self.source: SampleSource = monitor  # a replay's recorded samples while one plays (`set_source`)
        self.setMenuEnabled(False)
        self.setMouseEnabled(False, False)
        self.hideButtons()
        self.setTitle("tokens per second")
        self.legend = self.addLegend(offset=(10, 10))
        self.curves = {
            "small": self.plot([], [], name="small", pen=pg.mkPen("#3fe0c5", width=4)),
            "large": self.plot([], [], name="large", pen=pg.mkPen("#c2b0ff", width=4, style=Qt.PenStyle.DashLine)),
        }
        self.timer = QTimer(self)
        self.timer.setInterval(500)
        self.timer.timeout.connect(self.refresh)

    def apply_theme(self, colors: dict[str, str], base_px: int = 18) -> None:
        self.setBackground(colors["bg"])
        font = QFont()
        font.setPixelSize(max(12, round(base_px * 0.75)))
        for axis in ("left", "bottom"):
            self.getAxis(axis).setPen(pg.mkPen(colors["fg"]))
            self.getAxis(axis).setTextPen(pg.mkPen(colors["fg"]))
            self.getAxis(axis).setStyle(tickFont=font)
        self.setTitle("tokens per second (last minute)", color=colors["fg"], size=f"{base_px}px")
        size = f"{max(12, round(base_px * 0.8))}px"
        self.legend.setLabelTextColor(colors["fg"])
        self.legend.setLabelTextSize(size)
        for _sample, label in self.legend.items:
            label.setText(label.text, color=colors["fg"], size=size)
        self.curves["small"].setPen(pg.mkPen(colors["small"], width=4))
        self.curves["large"].setPen(pg.mkPen(colors["large"], width=4, style=Qt.PenStyle.DashLine))

    def set_source(self, source: SampleSource | None) -> None:
        self.source = self.monitor if source is None else source
        self.refresh()

    def refresh(self) -> None:
        data = self.source.snapshot()
        times = data.get("timestamp")
        if times is None or len(times) == 0:
            for curve in self.curves.values():
                curve.setData([], [])
            self.setYRange(0, 10, padding=0)
            return
        x = times - times[-1]
        peak = 0.0
        for side, curve in self.curves.items():
            values = np.nan_to_num(data[f"{side}_tokens_per_s"], nan=0.0)
            curve.setData(x, values, skipFiniteCheck=True)
            peak = max(peak, float(values.max()))
        self.setYRange(0, max(10.0, peak * 1.1), padding=0)  # from zero: a rate is never negative
