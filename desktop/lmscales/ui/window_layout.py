"""Where the window's parts sit: the input on top, the two panes side by side, the tabs below."""

from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QSplitter, QTabWidget, QVBoxLayout, QWidget

RESOURCES_TIP = "What each side costs this machine, live"
RESULT_TIP = "The latest comparison, figure by figure: which way the scales tip"


def bottom_tabs(resources: QWidget, history: QWidget, card: QWidget) -> QTabWidget:
    """Resources, History (its count in the title), Result: the order `MainWindow` refers to them by."""
    tabs = QTabWidget()
    tabs.addTab(resources, "Resources")
    tabs.addTab(history, "History")
    tabs.setTabToolTip(0, RESOURCES_TIP)
    tabs.setTabToolTip(tabs.addTab(card, "Result"), RESULT_TIP)
    return tabs


def main_splitter(top_parts: Iterable[QWidget], small: QWidget, large: QWidget, bottom: QWidget) -> QSplitter:
    top = QWidget()
    top_layout = QVBoxLayout(top)
    top_layout.setContentsMargins(0, 0, 0, 0)
    for part in top_parts:
        top_layout.addWidget(part)
    panes = QSplitter(Qt.Orientation.Horizontal)
    panes.addWidget(small)
    panes.addWidget(large)
    panes.setChildrenCollapsible(False)
    splitter = QSplitter(Qt.Orientation.Vertical)
    for index, (widget, stretch) in enumerate(((top, 2), (panes, 5), (bottom, 1))):
        splitter.addWidget(widget)
        splitter.setStretchFactor(index, stretch)
    splitter.setSizes([170, 430, 260])
    return splitter
