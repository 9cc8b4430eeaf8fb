"""The presenter's full-screen window: the title, the steps, both answers, the scoreboard and the graph, laid
out in type that follows the screen's size, and the presenter's keys."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QCloseEvent, QKeySequence, QResizeEvent, QShortcut
from PySide6.QtWidgets import QHBoxLayout, QLayout, QVBoxLayout, QWidget

from lmscales.core.resource_monitor import ResourceMonitor
from lmscales.core.session import SLOTS
from lmscales.ui.markdown_text import plain_label
from lmscales.ui.presenter.answer_column import AnswerColumn
from lmscales.ui.presenter.fit_label import FitLabel
from lmscales.ui.presenter.look import KEY_HINT, THEMES
from lmscales.ui.presenter.scoreboard_view import ScoreboardView
from lmscales.ui.presenter.speed_graph import SpeedGraph
from lmscales.ui.presenter.step_strip import StepStrip


class PresenterWindow(QWidget):
    """The full-screen view. Its keys are its own: Esc here leaves presenter mode, it never stops a run."""

    leaveRequested = Signal()
    nextRequested = Signal()
    previousRequested = Signal()
    stopRequested = Signal()
    themeToggled = Signal()
    notesRequested = Signal()
    exportRequested = Signal()

    def __init__(self, monitor: ResourceMonitor, parent: QWidget | None = None) -> None:
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
        self.graph = SpeedGraph(monitor)
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
            #presenter #answer_title_blind {{ font-weight: 800; }}
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
