"""After the talk: the presenter's scoreboard as a PNG, and the window's comparisons as an HTML report and as
Markdown, side by side in a folder of their own (E in presenter mode)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from PySide6.QtGui import QColor, QPainter, QPixmap
from PySide6.QtWidgets import QWidget

from lmscales.core.history import default_history_path, export_trials
from lmscales.core.trial import Trial


def demo_folder(now: datetime | None = None) -> Path:
    """Where a talk's exports go: a folder per export, named by its time, beside the history file."""
    return default_history_path().parent / "demos" / (now or datetime.now()).strftime("%Y%m%d-%H%M%S")


def save_handout(board: QWidget, background: str, trials: Sequence[Trial], folder: Path) -> list[Path]:
    """`board` as it is painted (on `background`, the theme's: a grab leaves unpainted corners transparent) and
    `trials` as an HTML report and as Markdown, into `folder`. `ValueError` when there is nothing to export;
    `OSError` when the folder cannot be written."""
    if not trials:
        raise ValueError("Nothing to export yet: run a step first.")
    folder.mkdir(parents=True, exist_ok=True)
    pixmap = QPixmap(board.size() * board.devicePixelRatioF())
    pixmap.setDevicePixelRatio(board.devicePixelRatioF())
    pixmap.fill(QColor(background))
    painter = QPainter(pixmap)
    painter.drawPixmap(0, 0, board.grab())
    painter.end()
    image = folder / "scoreboard.png"
    if not pixmap.save(str(image), "PNG"):
        raise OSError(f"Cannot write {image}")
    return [image, export_trials(trials, folder / "session.html"), export_trials(trials, folder / "session.md")]
