"""Light and dark themes that follow the system, and the two sides' colours (panes and graphs match)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication, QStyleFactory

SIDE_COLORS = {"small": "#1f9e89", "large": "#7b5cff"}
SIDE_TITLES = {"small": "Small", "large": "Large"}


def system_is_dark() -> bool:
    hints = QGuiApplication.styleHints()
    return bool(hints is not None and hints.colorScheme() == Qt.ColorScheme.Dark)


def _dark_palette() -> QPalette:
    palette = QPalette()
    base, window, text = QColor("#1e1f22"), QColor("#2b2d30"), QColor("#dfe1e5")
    palette.setColor(QPalette.ColorRole.Window, window)
    palette.setColor(QPalette.ColorRole.WindowText, text)
    palette.setColor(QPalette.ColorRole.Base, base)
    palette.setColor(QPalette.ColorRole.AlternateBase, window)
    palette.setColor(QPalette.ColorRole.ToolTipBase, window)
    palette.setColor(QPalette.ColorRole.ToolTipText, text)
    palette.setColor(QPalette.ColorRole.Text, text)
    palette.setColor(QPalette.ColorRole.Button, window)
    palette.setColor(QPalette.ColorRole.ButtonText, text)
    palette.setColor(QPalette.ColorRole.Highlight, QColor("#3574f0"))
    palette.setColor(QPalette.ColorRole.HighlightedText, QColor("#ffffff"))
    palette.setColor(QPalette.ColorRole.Link, QColor("#6ea0ff"))
    palette.setColor(QPalette.ColorRole.PlaceholderText, QColor("#8c8f94"))
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText, QPalette.ColorRole.WindowText):
        palette.setColor(QPalette.ColorGroup.Disabled, role, QColor("#6f737a"))
    return palette


def _follow_system(app: QApplication) -> None:
    """Re-apply the theme when the system's appearance changes (QStyleHints.colorSchemeChanged), as long as
    the chosen theme is "system". Connected once per application."""
    hints = QGuiApplication.styleHints()
    if hints is None or app.property("lmscalesFollowsSystem"):
        return

    def on_color_scheme_changed(_scheme: Qt.ColorScheme) -> None:
        if app.property("lmscalesTheme") == "system":
            apply_theme(app, "system")

    hints.colorSchemeChanged.connect(on_color_scheme_changed)
    app.setProperty("lmscalesFollowsSystem", True)


def apply_theme(app: QApplication, mode: str = "system") -> bool:
    """Apply "light", "dark" or "system" ("system" also follows later changes of the system's appearance);
    returns whether the dark palette is in use."""
    app.setProperty("lmscalesTheme", mode)
    _follow_system(app)
    current = app.style()
    if current is None or current.name().lower() != "fusion":  # a new style object only when it changes
        fusion = QStyleFactory.create("Fusion")
        if fusion is not None:
            app.setStyle(fusion)
    dark = system_is_dark() if mode == "system" else mode == "dark"
    app.setPalette(_dark_palette() if dark else QApplication.style().standardPalette())
    app.setProperty("lmscalesDark", dark)
    for widget in app.allWidgets():  # widgets under a style sheet do not pick up a new palette by themselves
        if widget.styleSheet():
            widget.setStyleSheet(widget.styleSheet())
    return dark
