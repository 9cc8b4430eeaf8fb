""""Which model?": the decision for the current task (the workspace's, from the last evaluation or the history),
shown as core words it: the advice and its evidence, the pass rates with their intervals, the break-even sentence,
a monthly volume (a field and a slider, kept in Settings › Decision) and the monthly cost of both sides against
volume with the user's volume and the crossover marked, and the items where only one model was acceptable. It
follows the task, kept trials, ended evaluations and the decision and energy settings."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Protocol

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QSlider,
    QSpinBox,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from lmscales.core.decision.from_history import SourcedDecision, no_decision_text
from lmscales.core.decision.view_text import CostChart, cost_chart, cost_chart_unknown, pass_rates_text
from lmscales.core.settings import Settings, SettingsStore
from lmscales.core.settings.decision_section import decision_settings
from lmscales.core.workspace import EvaluationEnded, TrialKept, Workspace, WorkspaceEvent
from lmscales.ui.background import run_on_main
from lmscales.ui.disagreement_list import DisagreementList
from lmscales.ui.markdown_text import plain_label
from lmscales.ui.settings_controller import SettingsController
from lmscales.ui.task_inputs import TaskPanel
from lmscales.ui.theme import SIDE_COLORS
from lmscales.ui.window_menus import WindowMenus

MAX_VOLUME = 1_000_000_000
SLIDER_STEPS = 90  # ten steps a decade, 1 to 10^9 answers a month


def slider_volume(position: int) -> int:
    return round(10 ** (position / 10)) if position > 0 else 0


def slider_position(volume: int) -> int:
    return 0 if volume < 1 else min(SLIDER_STEPS, round(math.log10(volume) * 10))


class DecisionView(QWidget):
    """The decision for `task()`; `save` writes the settings after the volume changed."""

    def __init__(self, workspace: Workspace, store: SettingsStore, task: Callable[[], str], save: Callable[[], None],
                 parent: QWidget | None = None, shown: Callable[[], bool] = lambda: True) -> None:
        super().__init__(parent)
        self.workspace, self.store, self.task, self.save = workspace, store, task, save
        # Deciding reads the whole history (150 ms for 2,000 comparisons): done while the view is in sight, and
        # once when it comes into sight, never on every kept comparison behind another tab.
        self.shown, self.stale = shown, True
        self.decision: SourcedDecision | None = None
        self.source = plain_label()
        self.source.setStyleSheet("color: palette(mid);")
        self.headline = plain_label()
        font = self.headline.font()
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.25)
        self.headline.setFont(font)
        self.evidence, self.rates, self.sentence = plain_label(), plain_label(), plain_label()
        for label in (self.source, self.headline, self.evidence, self.rates, self.sentence):
            label.setWordWrap(True)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        text = QWidget()
        column = QVBoxLayout(text)
        for label in (self.headline, self.evidence, self.rates, self.sentence, self.source):
            column.addWidget(label)
        self.disagreements = DisagreementList()  # the items only one side got right, both answers side by side
        column.addWidget(self.disagreements)
        column.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(text)

        self.volume = QSpinBox()
        self.volume.setRange(0, MAX_VOLUME)
        self.volume.setGroupSeparatorShown(True)
        self.volume.setKeyboardTracking(False)  # one recomputation per typed number, not per digit
        self.volume.setSuffix(" a month")
        self.volume.setToolTip("Answers a month you expect: the break-even and the chart use it (Settings › Decision)")
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, SLIDER_STEPS)
        self.slider.setToolTip(self.volume.toolTip())
        volume_row = QHBoxLayout()
        volume_row.addWidget(QLabel("Volume"))
        volume_row.addWidget(self.volume)
        volume_row.addWidget(self.slider, 1)
        self.plot = pg.PlotWidget()
        self.plot.setBackground(None)
        self.plot.setMinimumSize(260, 150)
        self.plot.addLegend(offset=(10, 5))
        self.plot.getAxis("left").enableAutoSIPrefix(False)  # "0.005", not "5 (x0.001)" beside a currency
        self.lines = {side: self.plot.plot(pen=pg.mkPen(SIDE_COLORS[side], width=2), name=f"{side} model")
                      for side in ("small", "large")}
        self.volume_line = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen("#888", style=Qt.PenStyle.DashLine))
        self.crossing = pg.ScatterPlotItem(size=9, brush=pg.mkBrush("#e0a000"), pen=None)
        self.plot.addItem(self.volume_line)
        self.plot.addItem(self.crossing)
        self.chart_note = plain_label()
        self.chart_note.setWordWrap(True)
        chart = QVBoxLayout()
        chart.addLayout(volume_row)
        chart.addWidget(self.plot, 1)
        chart.addWidget(self.chart_note)
        layout = QHBoxLayout(self)
        layout.addWidget(scroll, 3)
        layout.addLayout(chart, 2)

        self.volume.valueChanged.connect(self.set_volume)
        self.slider.valueChanged.connect(lambda position: self.set_volume(slider_volume(position)))
        self._unsubscribe = [
            workspace.subscribe(lambda event: run_on_main(lambda: self._on_workspace(event))),
            store.subscribe(("decision", "energy"), lambda change: self.use_settings(change.new)),
        ]
        self.destroyed.connect(lambda *_: [unsubscribe() for unsubscribe in self._unsubscribe])
        self.use_settings(store.current)

    def use_settings(self, settings: Settings) -> None:
        """The user's decision settings into the workspace, and the decision shown again under them."""
        self.workspace.decision_settings = decision_settings(settings.decision, settings.energy.electricity_price)
        self.refresh()

    def set_volume(self, volume: int) -> None:
        """A volume typed or slid: kept in the settings (which recomputes the decision at once) and saved."""
        current = self.store.current
        if volume == current.decision.volume_per_month:
            return
        self.store.replace(current.with_value("decision.volume_per_month", volume))
        self.save()

    def _on_workspace(self, event: WorkspaceEvent) -> None:
        if isinstance(event, (TrialKept, EvaluationEnded)):
            self.refresh()

    def refresh(self) -> None:
        """Decide again now if the view is in sight, else when it comes into sight (`refresh_if_stale`)."""
        self.stale = True
        if self.shown():
            self._refresh()

    def refresh_if_stale(self) -> None:
        if self.stale and self.shown():
            self._refresh()

    def _refresh(self) -> None:
        self.stale = False
        volume = self.workspace.decision_settings.volume_per_month
        for widget, value in ((self.volume, volume), (self.slider, slider_position(volume))):
            widget.blockSignals(True)
            widget.setValue(value)
            widget.blockSignals(False)
        self.decision = sourced = self.workspace.decision(self.task())
        if sourced is None:
            self.headline.setText("No evidence yet")
            self.evidence.setText(no_decision_text(self.task()))
            for label in (self.rates, self.sentence, self.source):
                label.setText("")
            self.disagreements.show_disagreements(())
            self._show_chart(None, "")
            return
        decision = sourced.decision
        self.headline.setText(decision.advice.headline[:1].upper() + decision.advice.headline[1:])
        self.evidence.setText(decision.advice.evidence)  # the headline is above it
        self.rates.setText(f"{pass_rates_text(decision)}\n{decision.acceptable.definition}")
        routing = f"\nBy tag: {decision.routing_sentence}." if decision.routing_sentence else ""
        self.sentence.setText(decision.break_even.sentence + routing)
        self.source.setText(sourced.source.description)
        self.disagreements.show_disagreements(decision.disagreements)
        chart = cost_chart(decision.break_even)
        self._show_chart(chart, chart.caption if chart is not None else cost_chart_unknown(decision.break_even))

    def _show_chart(self, chart: CostChart | None, note: str) -> None:
        self.chart_note.setText(note)
        if chart is None:
            for line in self.lines.values():
                line.setData([], [])
            self.crossing.setData([], [])
            self.volume_line.setVisible(False)
            return
        self.lines["small"].setData(chart.volumes, chart.small)
        self.lines["large"].setData(chart.volumes, chart.large)
        self.volume_line.setVisible(True)
        self.volume_line.setValue(chart.volume)
        if chart.crossover is not None and chart.crossover_money is not None:
            self.crossing.setData([chart.crossover], [chart.crossover_money])
        else:
            self.crossing.setData([], [])
        self.plot.setLabel("bottom", chart.x_label)
        self.plot.setLabel("left", chart.y_label)


class DecisionOwner(Protocol):
    """What the view is attached to: the main window's parts."""

    workspace: Workspace
    settings: SettingsController
    tasks: TaskPanel
    bottom: QTabWidget
    splitter: QSplitter
    menus: WindowMenus


def attach_decision_view(window: DecisionOwner) -> DecisionView:
    """"Which model?" as a tab beside the resource graphs and the result card, following the current task, and
    View › Which model? (Ctrl+D), which shows it with room to read."""
    view = DecisionView(window.workspace, window.settings.store, lambda: window.tasks.current_task,
                        window.settings.save, shown=lambda: False)  # out of sight at start: nothing read yet
    view.shown = lambda: window.bottom.currentWidget() is view
    index = window.bottom.addTab(view, "Which model?")
    window.bottom.currentChanged.connect(lambda _index: view.refresh_if_stale())
    window.bottom.setTabToolTip(index, "The advice and break-even for the current task, from the last evaluation "
                                       "or the history")
    window.tasks.changed.connect(view.refresh)

    def show() -> None:
        window.bottom.setCurrentWidget(view)
        sizes = window.splitter.sizes()
        if sizes[-1] < 330:  # the tab needs more than the graphs' strip to be read
            sizes[1] -= 330 - sizes[-1]
            sizes[-1] = 330
            window.splitter.setSizes(sizes)

    window.menus.add("&View", "Which model?", QKeySequence("Ctrl+D"), show)
    return view
