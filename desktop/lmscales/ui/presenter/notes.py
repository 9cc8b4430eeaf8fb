"""The presenter's notes: the current step's talking points in a window of their own, for a second screen."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QVBoxLayout, QWidget

from lmscales.core.scenario import Step
from lmscales.ui.markdown_text import plain_label


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
