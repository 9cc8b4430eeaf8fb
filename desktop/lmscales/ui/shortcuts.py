"""Shortcut text as the user's platform writes it: "Ctrl+Shift+L" on Linux and Windows, "⇧⌘L" on macOS.

Hints and tooltips take their text from the `QKeySequence` in native format, so they name the keys the user
presses (Qt maps Ctrl to ⌘ on macOS) instead of a hard-coded "Ctrl+".
"""

from __future__ import annotations

import sys

from PySide6.QtGui import QKeySequence


def native(sequence: str | QKeySequence) -> str:
    """`sequence` ("Ctrl+Return", a portable key sequence) in the platform's own notation."""
    text = QKeySequence(sequence).toString(QKeySequence.SequenceFormat.NativeText)
    if sys.platform != "darwin":
        text = text.replace("Return", "Enter")  # what the key is called on PC keyboards
    return text


def with_shortcut(text: str, sequence: str | QKeySequence) -> str:
    """A tooltip that ends with its shortcut: "Run only the small model (Ctrl+Shift+L)"."""
    return f"{text} ({native(sequence)})"
