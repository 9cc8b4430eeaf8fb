"""Presenter mode: the comparison for a room, full screen, in type a back row can read.

`Presenter` is made by the main window and follows the same session bridge as the panes; entering presenter
mode opens `PresenterWindow` (full screen) over the main window, which keeps running underneath. The
presenter window shows each side's answer in large type, a scoreboard (first token, speed, cost, energy,
quality) with a ★ and the words "wins" on the better side of each figure, one simple graph (tokens/s per
side), and, with a scenario, a strip of the steps and a separate notes window with the talking points.
After the talk, E saves the scoreboard as a PNG and the window's comparisons as an HTML report and as Markdown.

Keys (a presenter's clicker sends PageDown/PageUp): Space or PageDown runs the next step (or plays the next
recorded trial in a replay), PageUp goes back one step, S stops the run, T switches light/dark, N shows the
notes window, Esc or F11 leave presenter mode. Leaving never stops a run.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtGui import (
    QCloseEvent,
    QColor,
    QFont,
    QFontMetrics,
    QGuiApplication,
    QKeySequence,
    QPainter,
    QPixmap,
    QResizeEvent,
    QShortcut,
    QWindow,
)
from PySide6.QtWidgets import (
    QApplication,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLayout,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from lmscales.core.extrapolation import million_answers
from lmscales.core.history import default_history_path, export_trials
from lmscales.core.sampler import Sampler
from lmscales.core.scenario import Scenario, Step
from lmscales.core.scoreboard import WINNER_MARK, scoreboard
from lmscales.core.session import SLOTS, Session, SideStarted, TrialStarted
from lmscales.core.trial import GenerationParams, SideResult, TaskInput, Trial
from lmscales.ui.markdown_text import plain_label
from lmscales.ui.resource_panel import SampleSource
from lmscales.ui.session_bridge import SessionBridge
from lmscales.ui.streaming_view import StreamingView

# High contrast: body text at least 7:1 against the background (WCAG AAA) in both themes; the sides keep
# their hues from the main window, darkened or lightened until they pass 4.5:1 for large text.
THEMES: dict[str, dict[str, str]] = {
    "dark": {"bg": "#000000", "fg": "#ffffff", "muted": "#d0d0d0", "line": "#ffffff", "accent": "#ffd84d",
             "small": "#3fe0c5", "large": "#c2b0ff", "panel": "#111111"},
    "light": {"bg": "#ffffff", "fg": "#000000", "muted": "#2b2b2b", "line": "#000000", "accent": "#003d99",
              "small": "#00695a", "large": "#4a22c9", "panel": "#f2f2f2"},
}
KEY_HINT = "Space / PgDn next · PgUp back · S stop · N notes · T theme · E export · Esc leave"

log = logging.getLogger(__name__)


class FitLabel(QLabel):
    """A line of large type that shrinks to fit its width (never below `smallest_px`) and wraps only if it
    still does not fit there: a long title takes one line, not two of the screen's few."""

    def __init__(self, text: str = "", parent: QWidget | None = None) -> None:
        super().__init__(text, parent)
        self.setTextFormat(Qt.TextFormat.PlainText)  # titles and model names from outside, shown as written
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)  # it adapts to its width
        self.largest_px = 24
        self.smallest_px = 16
        self.text_px = 0

    def set_sizes(self, largest_px: int, smallest_px: int) -> None:
        self.largest_px, self.smallest_px = largest_px, min(smallest_px, largest_px)
        self.fit()

    def setText(self, text: str) -> None:  # Qt override: new words, new fit
        super().setText(text)
        self.fit()

    def resizeEvent(self, event: QResizeEvent) -> None:  # Qt override
        super().resizeEvent(event)
        self.fit()

    def fit(self) -> None:
        self.ensurePolished()
        room = self.contentsRect().width()
        font = QFont(self.font())
        px = self.largest_px
        while px > self.smallest_px:
            font.setPixelSize(px)
            if QFontMetrics(font).horizontalAdvance(self.text()) <= room:
                break
            px -= 1
        font.setPixelSize(px)
        self.setWordWrap(QFontMetrics(font).horizontalAdvance(self.text()) > room)
        if px != self.text_px:
            self.text_px = px
            # Its own style sheet: the presenter's sets every label's size, and a widget's own sheet wins.
            self.setStyleSheet(f"font-size: {px}px;")


class StepStrip(QWidget):
    """Where the talk is: every step's number and title, the current one marked ▶ and framed, done ones ✓.
    Where the titles do not fit the width (many steps, a small or 200 % screen) the other steps show their number
    only; the current one keeps its title."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("strip")
        # The strip takes the width it is given, never more: its labels adapt (see `fit`).
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self._layout = QHBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self.labels: list[QLabel] = []
        self._titles: list[str] = []
        self._current = -1
        self.compact = False

    def show_steps(self, titles: Sequence[str], current: int) -> None:
        self._titles, self._current = list(titles), current
        self._build(compact=False)
        self.fit()

    def _text(self, index: int, compact: bool) -> str:
        mark = "▶ " if index == self._current else "✓ " if index < self._current else ""
        if compact and index != self._current:
            return f"{mark}{index + 1}"
        return f"{mark}{index + 1} · {self._titles[index]}"

    def fit(self) -> None:
        """Full titles where they fit the strip's width, else numbers only beside the current step's title."""
        if not self.labels or self.width() <= 0:
            return
        spacing = max(0, self._layout.spacing())
        for label in self.labels:
            label.ensurePolished()  # the presenter's style sheet sets their size
        full = sum(label.fontMetrics().horizontalAdvance(self._text(index, False)) + 24
                   for index, label in enumerate(self.labels)) + spacing * len(self.labels)
        compact = full > self.width()
        if compact != self.compact:
            for index, label in enumerate(self.labels):
                label.setText(self._text(index, compact))
            self.compact = compact

    def resizeEvent(self, event: QResizeEvent) -> None:  # Qt override
        super().resizeEvent(event)
        self.fit()

    def _build(self, compact: bool) -> None:
        while self._layout.count():  # the labels and the stretch after them
            item = self._layout.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.deleteLater()
        self.labels = []
        self.compact = compact
        for index in range(len(self._titles)):
            label = plain_label(self._text(index, compact), self)  # a scenario's step titles, as written
            label.setObjectName("step_current" if index == self._current else "step")
            label.setWordWrap(False)
            self._layout.addWidget(label)
            label.show()
            self.labels.append(label)
        self._layout.addStretch(1)

    def current_text(self) -> str:
        for label in self.labels:
            if label.objectName() == "step_current":
                return label.text()
        return ""


class ScoreboardView(QWidget):
    """The scoreboard: a row per figure, a column per side, ★ and "wins" on the better side of each figure."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("scoreboard")
        self.grid = QGridLayout(self)
        self.grid.setHorizontalSpacing(24)
        self.grid.setVerticalSpacing(6)
        self.cells: dict[tuple[str, str], QLabel] = {}
        self.notes: dict[str, QLabel] = {}
        self.headers: dict[str, QLabel] = {}
        self.titles: list[QLabel] = []
        self.show_notes = True  # the ratio in words; left out when the window is narrow (the ★ and "wins" stay)

    def set_notes_shown(self, shown: bool) -> None:
        self.show_notes = shown
        for note in self.notes.values():
            note.setVisible(shown)

    def clear(self) -> None:
        while self.grid.count():
            item = self.grid.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.deleteLater()
        self.cells, self.notes, self.headers = {}, {}, {}
        self.titles = []

    def show_trial(self, trial: Trial) -> None:
        # Every label is made with its parent: a parentless label made visible would be a window of its own
        # and take the focus from the main window.
        self.clear()
        for column, result in enumerate(trial.sides, start=1):
            header = plain_label(result.label + (" · recorded" if result.recorded else ""), self)
            header.setObjectName(f"score_head_{result.side}")
            self.grid.addWidget(header, 0, column)
            header.show()
            self.headers[result.side] = header
        for row_index, row in enumerate(scoreboard(trial), start=1):
            title = plain_label(row.title, self)
            title.setObjectName("score_title")
            self.grid.addWidget(title, row_index, 0)
            self.titles.append(title)
            title.show()
            for column, cell in enumerate(row.cells, start=1):
                text = f"{WINNER_MARK} {cell.text} wins" if cell.better else cell.text
                label = plain_label(text, self)
                label.setObjectName("score_win" if cell.better else "score")
                label.setAccessibleName(f"{row.title}, {cell.side}: {text}")
                self.grid.addWidget(label, row_index, column)
                label.show()
                self.cells[(row.key, cell.side)] = label
            note = plain_label(row.note, self)
            note.setObjectName("score_note")
            note.setVisible(self.show_notes)
            self.grid.addWidget(note, row_index, len(row.cells) + 1)
            self.notes[row.key] = note
        self.grid.setColumnStretch(len(trial.sides) + 1, 1)

    def text(self) -> str:
        return "\n".join(label.text() for label in self.cells.values())

    def needed_width(self, with_notes: bool) -> int:
        """The width the board's columns take at their natural size (the words in the last column only
        `with_notes`): what the window checks before it shows the notes."""
        def widest(labels: Sequence[QLabel]) -> int:
            for label in labels:
                label.ensurePolished()  # the presenter's style sheet sets the type size
            return max((label.sizeHint().width() for label in labels), default=0)

        kept = [widest(self.titles)]
        kept += [widest([header, *(label for (_key, side), label in self.cells.items() if side == name)])
                 for name, header in self.headers.items()]
        if with_notes:
            kept.append(widest(list(self.notes.values())))
        margins = self.grid.contentsMargins()
        return sum(kept) + self.grid.horizontalSpacing() * max(0, len(kept) - 1) + margins.left() + margins.right()


class AnswerColumn(QWidget):
    def __init__(self, side: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.side = side
        self.title = FitLabel(side.title())
        self.title.setObjectName(f"answer_title_{side}")
        self.badge = plain_label("▶ RECORDED")
        self.badge.setObjectName("badge")
        self.badge.setVisible(False)
        self.status = plain_label("")  # a server's error message, as written
        self.status.setObjectName("answer_status")
        self.status.setWordWrap(True)
        self.view = StreamingView()
        self.view.setObjectName("answer")
        self.view.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # the keys are the presenter's, not the text's
        self.view.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        head = QHBoxLayout()
        head.addWidget(self.title, 1)
        head.addWidget(self.badge)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(head)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.status)
        self.largest_px = 24
        self.smallest_px = 16
        self.text_px = 24
        self._fitting = False
        # Refit when the text grows (streaming, the Markdown at the end) or the box changes size.
        self.view.document().documentLayout().documentSizeChanged.connect(lambda _size: self._schedule_fit())
        self._fit_timer = QTimer(self)
        self._fit_timer.setSingleShot(True)
        self._fit_timer.setInterval(0)
        self._fit_timer.timeout.connect(self.fit_text)

    def set_text_sizes(self, largest_px: int, smallest_px: int) -> None:
        """The answer's type: `largest_px` while it fits its box, smaller (never below `smallest_px`) when a long
        answer would otherwise run off the bottom of the screen."""
        self.largest_px, self.smallest_px = largest_px, min(smallest_px, largest_px)
        self._set_px(largest_px)
        self._schedule_fit()

    def _set_px(self, px: int) -> None:
        self.text_px = px
        font = self.view.font()
        font.setPixelSize(px)
        self.view.setFont(font)
        self.view.document().setDefaultFont(font)

    def _schedule_fit(self) -> None:
        if not self._fitting:
            self._fit_timer.start()

    def overflows(self) -> bool:
        document = self.view.document()
        document.setTextWidth(self.view.viewport().width())
        return document.size().height() > self.view.viewport().height()

    def fit_text(self) -> None:
        """Shrink the type a step at a time until the answer fits (a longer answer only ever shrinks it while it
        streams); at the smallest size the end of the answer stays in view."""
        if self.view.viewport().height() <= 0:
            return
        self._fitting = True
        try:
            while self.text_px > self.smallest_px and self.overflows():
                self._set_px(max(self.smallest_px, self.text_px - max(1, round(self.text_px * 0.08))))
        finally:
            self._fitting = False
        if self.overflows():
            bar = self.view.verticalScrollBar()
            bar.setValue(bar.maximum())

    def resizeEvent(self, event: QResizeEvent) -> None:  # Qt override: a bigger box takes bigger type again
        super().resizeEvent(event)
        self._set_px(self.largest_px)
        self._schedule_fit()


class SpeedGraph(pg.PlotWidget):  # type: ignore[misc]
    """One simple graph: tokens per second of each side, thick lines, named in a legend (not colour alone)."""

    def __init__(self, sampler: Sampler, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.sampler = sampler
        self.source: SampleSource = sampler  # a replay's recorded samples while one plays (`set_source`)
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
        self.source = self.sampler if source is None else source
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


class PresenterNotes(QWidget):
    """The talking points of the current step, in a window of its own (for a second screen)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.setWindowTitle("LM Scales — presenter notes")
        # Shown beside the room's view, not in front of its keys: Space and Esc stay with the presenter window.
        self.setAttribute(Qt.WidgetAttribute.WA_ShowWithoutActivating)
        self.title = plain_label("")
        self.title.setStyleSheet("font-size: 20pt; font-weight: 700;")
        self.title.setWordWrap(True)
        self.points = plain_label("")
        self.points.setStyleSheet("font-size: 16pt;")
        self.points.setWordWrap(True)
        self.next = plain_label("")
        self.next.setStyleSheet("font-size: 13pt;")
        self.next.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addWidget(self.points, 1, Qt.AlignmentFlag.AlignTop)
        layout.addWidget(self.next)
        self.resize(640, 480)

    def show_step(self, number: int, count: int, step: Step | None, following: Step | None) -> None:
        if step is None:
            self.title.setText("Ready — Space runs step 1")
            self.points.setText("")
        else:
            self.title.setText(f"Step {number} of {count}: {step.title}")
            self.points.setText("\n\n".join(f"• {point}" for point in step.talking_points) or "(no talking points)")
        self.next.setText(f"Next: {following.title}" if following is not None else "Last step.")


class PresenterWindow(QWidget):
    """The full-screen view. Its keys are its own: Esc here leaves presenter mode, it never stops a run."""

    leaveRequested = Signal()
    nextRequested = Signal()
    previousRequested = Signal()
    stopRequested = Signal()
    themeToggled = Signal()
    notesRequested = Signal()
    exportRequested = Signal()

    def __init__(self, sampler: Sampler, parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.setObjectName("presenter")
        self.setWindowTitle("LM Scales — presenter")
        self.theme = "dark"
        self.banner = plain_label("")  # a recording's banner, as written
        self.banner.setObjectName("banner")
        self.banner.setVisible(False)
        self.title = FitLabel("LM Scales")
        self.title.setObjectName("title")
        self.strip = StepStrip()
        self.columns = {side: AnswerColumn(side) for side in SLOTS}
        self.board = ScoreboardView()
        self.graph = SpeedGraph(sampler)
        self.extrapolation = plain_label("")
        self.extrapolation.setObjectName("extrapolation")
        self.extrapolation.setWordWrap(True)
        self.extrapolation.setVisible(False)
        self.hint = plain_label(KEY_HINT)  # problems quote servers and files
        self.hint.setObjectName("hint")
        self.hint.setWordWrap(True)  # a problem or a saved file's path can be longer than the screen is wide
        self.banner.setWordWrap(True)

        answers = QHBoxLayout()
        answers.setSpacing(40)
        for side in SLOTS:
            self.columns[side].setMinimumWidth(1)  # the two columns share the width evenly, whatever they hold
            answers.addWidget(self.columns[side], 1)
        lower = QHBoxLayout()
        lower.setSpacing(40)
        self.lower_row = lower
        lower.addWidget(self.board, 3)
        lower.addWidget(self.graph, 2)
        layout = QVBoxLayout(self)
        # The window is the screen: its parts share what it has and it never grows past it (the default
        # constraint would make the window as wide as its widest row, off the right edge of the screen).
        layout.setSizeConstraint(QLayout.SizeConstraint.SetNoConstraint)
        layout.setContentsMargins(48, 24, 48, 16)
        layout.setSpacing(14)
        self.main_layout = layout
        layout.addWidget(self.banner)
        layout.addWidget(self.title)
        layout.addWidget(self.strip)
        layout.addLayout(answers, 5)
        layout.addLayout(lower, 3)
        layout.addWidget(self.extrapolation)
        layout.addWidget(self.hint)

        self.bind_keys(self)
        self.apply_theme("dark")

    def bind_keys(self, widget: QWidget) -> None:
        """The presenter's keys on `widget`'s window (this one, and the notes window: a clicker sends its keys
        to whichever of the two has the focus)."""
        for keys, signal in (
            (("Space", "PgDown", "Right"), self.nextRequested),
            (("PgUp", "Left"), self.previousRequested),
            (("Esc", "F11"), self.leaveRequested),
            (("S",), self.stopRequested),
            (("T",), self.themeToggled),
            (("N",), self.notesRequested),
            (("E",), self.exportRequested),
        ):
            for key in keys:
                shortcut = QShortcut(QKeySequence(key), widget)
                shortcut.setContext(Qt.ShortcutContext.WindowShortcut)
                shortcut.activated.connect(signal.emit)

    # -- look --------------------------------------------------------------------------------------------
    def apply_theme(self, theme: str) -> None:
        self.theme = theme
        self._restyle()

    def base_px(self) -> int:
        """The body text size: it follows the window (1080 px high: 24 px), never below 12 px. The type is in
        proportion down to 540 px (a 1080p screen at 200 %: the 1080p layout at twice the pixels); a larger floor
        there would not leave the scoreboard its height."""
        return max(12, round(min(self.height() / 45, self.width() / 80)))

    def _restyle(self) -> None:
        c = THEMES[self.theme]
        base = self.base_px()
        self.graph.apply_theme(c, base)
        self.graph.setMinimumWidth(base * 12)  # room for its axis, title and legend at this type size
        self.setStyleSheet(f"""
            #presenter {{ background: {c['bg']}; }}
            #presenter QLabel {{ color: {c['fg']}; font-size: {base}px; }}
            #presenter #title {{ font-weight: 800; }}
            #presenter #banner {{ font-size: {base}px; font-weight: 800; color: {c['bg']};
                                  background: {c['accent']}; padding: 6px 14px; }}
            #presenter #step {{ color: {c['muted']}; font-size: {round(base * 0.85)}px; padding: 2px 8px; }}
            #presenter #step_current {{ font-size: {round(base * 0.85)}px; font-weight: 800; padding: 2px 8px;
                                        border: 3px solid {c['accent']}; }}
            #presenter #answer_title_small {{ color: {c['small']};
                                              font-weight: 800; }}
            #presenter #answer_title_large {{ color: {c['large']};
                                              font-weight: 800; }}
            #presenter #badge {{ font-weight: 800; border: 2px solid {c['fg']}; padding: 0 6px; }}
            #presenter #answer_status {{ color: {c['muted']}; font-size: {round(base * 0.8)}px; }}
            #presenter #answer {{ background: {c['panel']}; color: {c['fg']}; border: 1px solid {c['muted']}; }}
            #presenter #score_title {{ color: {c['muted']}; font-size: {round(base * 1.15)}px; }}
            #presenter #score {{ font-size: {round(base * 1.3)}px; }}
            #presenter #score_win {{ font-size: {round(base * 1.3)}px; font-weight: 800;
                                    border-bottom: 4px solid {c['accent']}; }}
            #presenter #score_head_small {{ color: {c['small']}; font-size: {round(base * 1.15)}px;
                                           font-weight: 800; }}
            #presenter #score_head_large {{ color: {c['large']}; font-size: {round(base * 1.15)}px;
                                           font-weight: 800; }}
            #presenter #score_note {{ color: {c['muted']}; font-size: {round(base * 0.9)}px; }}
            #presenter #extrapolation {{ font-size: {base}px; border: 2px dashed {c['muted']}; padding: 6px; }}
            #presenter #hint {{ color: {c['muted']}; font-size: {round(base * 0.7)}px; }}
        """)
        self.title.set_sizes(round(base * 1.9), round(base * 1.3))
        for column in self.columns.values():
            column.set_text_sizes(round(base * 1.05), round(base * 0.75))
            column.title.set_sizes(round(base * 1.3), round(base * 0.95))
        self.strip.fit()
        self.fit_board()

    def resizeEvent(self, event: QResizeEvent) -> None:  # Qt override: type follows the window
        super().resizeEvent(event)
        self._restyle()

    def fit_board(self) -> None:
        """The scoreboard's notes (the ratio in words) only where they fit beside the graph; the ★ and "wins"
        always show."""
        margins = self.main_layout.contentsMargins()
        room = (self.width() - margins.left() - margins.right() - self.lower_row.spacing() - self.graph.minimumWidth())
        self.board.set_notes_shown(self.board.needed_width(with_notes=True) <= room)

    def closeEvent(self, event: QCloseEvent) -> None:  # Qt override: closing is leaving, never stopping
        event.ignore()
        self.leaveRequested.emit()


class Presenter(QObject):
    """Presenter mode and scenario stepping for a window. `submit(task_input, params, sides)` runs a step
    through the window (so the panes and the history see it too); `stop()` stops the run."""

    entered = Signal(bool)
    problem = Signal(str)

    def __init__(self, session: Session, bridge: SessionBridge, sampler: Sampler,
                 submit: Callable[[TaskInput, GenerationParams, tuple[str, ...]], str],
                 stop: Callable[[], None], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.bridge = bridge
        self._submit = submit
        self._stop = stop
        self.owner = parent
        self.window = PresenterWindow(sampler)
        self.notes = PresenterNotes()
        self.window.bind_keys(self.notes)
        self.scenario: Scenario | None = None
        self.step_index = -1  # the step shown; -1: none yet
        self.replay_next: Callable[[], bool] | None = None  # set while a recording is stepped through
        self.replay_previous: Callable[[], bool] | None = None
        self.last_trial: Trial | None = None
        self._themed = False
        self._claiming = False  # entered, and no presenter key pressed yet (see `_on_focus_window_changed`)
        self._queued: int | None = None  # the step to run once the small model has loaded
        self.small_loading: Callable[[], bool] = lambda: False  # the window says when its small model loads
        self._hint_reset = QTimer(self)
        self._hint_reset.setSingleShot(True)
        self._hint_reset.setInterval(6000)
        self._hint_reset.timeout.connect(lambda: self.window.hint.setText(KEY_HINT))
        self.problem.connect(self._show_problem)
        self.window.leaveRequested.connect(self.leave)
        self.window.nextRequested.connect(self.next_step)
        self.window.previousRequested.connect(self.previous_step)
        self.window.stopRequested.connect(stop)
        self.window.themeToggled.connect(self.toggle_theme)
        self.window.notesRequested.connect(self.show_notes)
        self.window.exportRequested.connect(self._on_export)
        for signal in (self.window.nextRequested, self.window.previousRequested, self.window.stopRequested,
                       self.window.themeToggled, self.window.notesRequested, self.window.exportRequested):
            signal.connect(self._end_claim)
        app = QGuiApplication.instance()
        if isinstance(app, QGuiApplication):
            app.focusWindowChanged.connect(self._on_focus_window_changed)
        self.session_trials: Callable[[], Sequence[Trial]] = lambda: [self.last_trial] if self.last_trial else []
        self._followed = ((bridge.trialStarted, self._on_trial_started), (bridge.sideStarted, self._on_side_started),
                          (bridge.deltasReady, self._on_deltas), (bridge.noticed, self._on_notice),
                          (bridge.sideEnded, self._on_side_ended), (bridge.trialEnded, self._on_trial_ended))
        for signal, slot in self._followed:
            signal.connect(slot)
        self.disposed = False

    @property
    def active(self) -> bool:
        return not self.disposed and self.window.isVisible()

    # -- entering and leaving ----------------------------------------------------------------------------
    def enter(self) -> None:
        if self.disposed:
            return
        if not self._themed:  # first time: the app's own light or dark, in high contrast
            app = QApplication.instance()
            self.window.apply_theme("dark" if app is not None and app.property("lmscalesDark") else "light")
            self._themed = True
        self._show_strip()
        owner_screen = self.owner.screen() if self.owner is not None else None
        screen = owner_screen or QGuiApplication.primaryScreen()
        if screen is not None:
            # The whole screen even where nothing applies "full screen" (X without a window manager, a kiosk);
            # a window manager that does puts it there anyway.
            self.window.setGeometry(screen.geometry())
        self.window.showFullScreen()
        self._claiming = True
        self._take_keyboard()
        QTimer.singleShot(0, self._take_keyboard)  # again once the window system has mapped it
        self.window.graph.timer.start()
        self.entered.emit(True)

    def _take_keyboard(self) -> None:
        """A presenter's clicker sends its keys to whatever has the keyboard: from the moment presenter mode is
        entered, that is the presenter window (itself, not a child that might eat Space)."""
        if not self.active:
            return
        self.window.raise_()
        self.window.activateWindow()
        self.window.setFocus(Qt.FocusReason.ActiveWindowFocusReason)

    def _on_focus_window_changed(self, focused: QWindow | None) -> None:
        """Until the presenter's first key, the main window (hidden under the full-screen presenter on the same
        screen) does not keep the keyboard: it can take it late, when the window system maps it after the
        presenter at start-up, and Space would then do nothing the room can see."""
        if not (self._claiming and self.active and focused is not None and self.owner is not None):
            return
        if focused == self.owner.windowHandle() and self.owner.screen() == self.window.screen():
            log.info("presenter: the main window took the keyboard; giving it back to the presenter")
            QTimer.singleShot(0, self._take_keyboard)

    def _end_claim(self) -> None:
        self._claiming = False

    def leave(self) -> None:
        """Back to the main window; a run in progress goes on (its result is in the panes); a step waiting for
        the model to load does not start behind the presenter's back."""
        self._claiming = False
        self._queued = None
        self.window.graph.timer.stop()
        self.window.hide()
        self.notes.hide()
        if self.owner is not None:
            self.owner.activateWindow()
        self.entered.emit(False)

    def dispose(self) -> None:
        """The main window closes: its presenter and notes windows (top-level, so not its children) go with it,
        deleted here on the GUI thread. Left to Python's garbage collector they would be destroyed in whatever
        thread collects them (a stream's reader, say), and a widget destroyed off the GUI thread warns or
        crashes."""
        if self.disposed:
            return
        self.disposed = True
        self._queued = None
        self._claiming = False
        for signal, slot in self._followed:  # a run that ends after the close has no presenter to show it
            signal.disconnect(slot)
        self.window.graph.timer.stop()
        self._hint_reset.stop()
        for window in (self.window, self.notes):
            window.hide()
            window.deleteLater()

    def toggle(self) -> None:
        if self.active:
            self.leave()
        else:
            self.enter()

    def _show_problem(self, message: str) -> None:
        """In the room's view too: the main window's status bar is hidden behind presenter mode (and in the log,
        for whoever looks into a demo that did not go as planned)."""
        log.info("presenter: %s", message)
        self.window.hint.setText(f"⚠ {message}")
        self._hint_reset.start()

    def toggle_theme(self) -> None:
        self._themed = True
        self.window.apply_theme("light" if self.window.theme == "dark" else "dark")

    def show_notes(self) -> None:
        self.notes.show()

    def set_banner(self, text: str) -> None:
        if self.disposed:
            return
        self.window.banner.setText(text)
        self.window.banner.setVisible(bool(text))

    # -- scenario stepping ------------------------------------------------------------------------------------
    def load_scenario(self, scenario: Scenario) -> None:
        self.scenario = scenario
        self.step_index = -1
        self.window.title.setText(scenario.title)
        self._show_strip()

    def _show_strip(self) -> None:
        steps = self.scenario.steps if self.scenario is not None else ()
        self.window.strip.show_steps([step.title for step in steps], self.step_index)
        self.window.strip.setVisible(bool(steps))
        current = steps[self.step_index] if 0 <= self.step_index < len(steps) else None
        following = steps[self.step_index + 1] if self.step_index + 1 < len(steps) else None
        self.notes.show_step(self.step_index + 1, len(steps), current, following)

    def next_step(self) -> None:
        if self.replay_next is not None:
            if not self.replay_next():
                self.problem.emit("That was the last recorded comparison.")
            return
        if self.scenario is None:
            self.problem.emit("No scenario loaded: lmscales demo run NAME, or type and send in the main window.")
            return
        if self.step_index + 1 >= len(self.scenario.steps):
            self.problem.emit("That was the last step.")
            return
        self.run_step(self.step_index + 1)

    def previous_step(self) -> None:
        if self.replay_previous is not None:
            self.replay_previous()
            return
        if self.scenario is not None and self.step_index > 0:
            self.run_step(self.step_index - 1)

    def run_step(self, index: int) -> bool:
        assert self.scenario is not None
        if self.session.running:
            self.problem.emit("Still running: S stops it.")
            return False
        step = self.scenario.steps[index]
        if "small" in step.sides and self.small_loading():
            # A clicker's Space is not lost while the model loads (or its threads are measured): the step starts
            # as soon as the model is ready.
            self._queued = index
            self.problem.emit(f"Step {index + 1} starts as soon as the small model has loaded.")
            return False
        if "small" in step.sides and not self.session.available("small"):
            self.problem.emit("The small model is not loaded: open one in the main window (File), then Space.")
            return False
        sides = tuple(side for side in step.sides if self.session.available(side))
        if not sides:
            self.problem.emit("The large side is not set up: this step has nothing to run.")
            return False
        self.step_index = index
        self._show_strip()
        self.window.title.setText(f"{self.scenario.title} — {step.title}")
        self.session.new_chat()  # each step stands alone
        try:
            self._submit(step.input, step.params, sides)
        except ValueError as error:
            self.problem.emit(str(error))
            return False
        log.info("presenter: step %d of %d started: %s", index + 1, len(self.scenario.steps), step.title)
        return True

    def run_queued(self) -> None:
        """The small model is ready: run the step Space asked for while it loaded (if presenter mode is on)."""
        index, self._queued = self._queued, None
        if index is not None and self.active and self.scenario is not None and index < len(self.scenario.steps):
            self.run_step(index)

    def drop_queued(self, message: str) -> None:
        """The small model did not load: the step that waited for it does not run."""
        if self._queued is not None:
            self._queued = None
            self.problem.emit(f"The small model did not load ({message}); the step did not run.")

    @property
    def current_step(self) -> Step | None:
        if self.scenario is None or not 0 <= self.step_index < len(self.scenario.steps):
            return None
        return self.scenario.steps[self.step_index]

    # -- the session's events --------------------------------------------------------------------------------
    def _on_trial_started(self, event: TrialStarted) -> None:
        self.window.board.clear()
        self.window.extrapolation.setVisible(False)
        for side, column in self.window.columns.items():
            column.badge.setVisible(False)
            if side in event.sides:
                column.view.begin()
                column.status.setText("Waiting for the first token…")
            else:
                column.view.begin()
                column.view.finish()
                column.status.setText("Not in this step." if self.session.available(side) else "Not set up.")
            column.title.setText(self.session.labels.get(side, side))

    def _on_side_started(self, side: str, event: SideStarted) -> None:
        column = self.window.columns.get(side)
        if column is None:
            return
        info = event.engine
        where = " · on this CPU" if info.kind == "local" else " · on this computer" if info.loopback else " · API"
        column.title.setText(f"{self.session.labels.get(side, side)}{where} · {event.engine.model}")
        column.badge.setVisible(event.engine.recorded)

    def _on_deltas(self, side: str, deltas: list[object]) -> None:
        column = self.window.columns.get(side)
        if column is not None and deltas:
            column.view.add("".join(getattr(delta, "text", "") for delta in deltas))
            column.status.setText("Streaming…")

    def _on_notice(self, side: str, notice: object) -> None:
        self._status(side, str(getattr(notice, "message", notice)))

    def _status(self, side: str, message: str) -> None:
        column = self.window.columns.get(side)
        if column is not None:
            column.status.setText(message)

    def _on_side_ended(self, side: str, result: SideResult) -> None:
        column = self.window.columns.get(side)
        if column is None:
            return
        column.view.finish()
        if result.skipped is not None:
            column.status.setText(f"⚠ {result.skipped}")
        elif result.error is not None:
            column.status.setText(f"⚠ {result.error.message}")
        else:
            column.status.setText("Replayed from a recording." if result.recorded else "Done.")

    def _on_trial_ended(self, trial: Trial) -> None:
        self.last_trial = trial
        self.window.board.show_trial(trial)
        self.window.fit_board()
        step = self.current_step
        if step is not None and step.extrapolate == "million_answers" and not self.replay_next:
            self.show_extrapolation(trial)

    # -- after the talk ---------------------------------------------------------------------------------------
    def export_artifacts(self, folder: Path) -> list[Path]:
        """The current scoreboard as a PNG and this window's comparisons as an HTML report and as Markdown, into
        `folder`. `ValueError` when nothing has run yet; `OSError` when the folder cannot be written."""
        trials = list(self.session_trials())
        if self.last_trial is None or not trials:
            raise ValueError("Nothing to export yet: run a step first.")
        folder.mkdir(parents=True, exist_ok=True)
        board = self.window.board
        pixmap = QPixmap(board.size() * board.devicePixelRatioF())
        pixmap.setDevicePixelRatio(board.devicePixelRatioF())
        pixmap.fill(QColor(THEMES[self.window.theme]["bg"]))
        painter = QPainter(pixmap)
        painter.drawPixmap(0, 0, board.grab())
        painter.end()
        image = folder / "scoreboard.png"
        if not pixmap.save(str(image), "PNG"):
            raise OSError(f"Cannot write {image}")
        return [image, export_trials(trials, folder / "session.html"), export_trials(trials, folder / "session.md")]

    def _on_export(self) -> None:
        folder = default_history_path().parent / "demos" / datetime.now().strftime("%Y%m%d-%H%M%S")
        try:
            written = self.export_artifacts(folder)
        except (ValueError, OSError) as error:
            self.problem.emit(str(error))
            return
        self.window.hint.setText(f"Saved {', '.join(path.name for path in written)} in {folder}")
        self._hint_reset.start()

    def show_extrapolation(self, trial: Trial) -> None:
        figures = million_answers([trial])
        if not figures:
            return
        parts = []
        for figure in figures:
            bits = []
            if figure.usd is not None:
                bits.append(f"${figure.usd:,.0f}")
            if figure.cpu_hours is not None:
                bits.append(f"{figure.cpu_hours:,.0f} CPU-hours")
            if figure.energy_kwh is not None:
                bits.append(f"{figure.energy_kwh:,.1f} kWh")
            if figure.generation_hours is not None:
                bits.append(f"{figure.generation_hours:,.0f} h one after the other")
            parts.append(f"{figure.label}: " + (", ".join(bits) or "no measured figure"))
        self.window.extrapolation.setText("A million answers like this one — " + " · ".join(parts)
                                          + f"\n{figures[0].label_text}; prices from the price table.")
        self.window.extrapolation.setVisible(True)
