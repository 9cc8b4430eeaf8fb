"""Tests only: what a screenshot shows, read with Qt's QImage and numpy (no QApplication needed).

How much of a picture is light (which theme a window is painted in) and how many of its pixels are in colour
(the side colours, where everything else is grey): what a real-window test waits for on the screen before it
keeps a screenshot, instead of sleeping and hoping the window has painted by then.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtGui import QImage

Box = tuple[float, float, float, float]  # left, top, right, bottom, as fractions of the picture
WHOLE: Box = (0.0, 0.0, 1.0, 1.0)


def pixels(path: Path, box: Box = WHOLE) -> np.ndarray:
    """The picture's pixels inside `box`, as rows × columns × RGB (uint8)."""
    image = QImage(str(path))
    assert not image.isNull(), f"{path} is not a picture"
    image = image.convertToFormat(QImage.Format.Format_RGB888)
    width, height, stride = image.width(), image.height(), image.bytesPerLine()
    rows = np.frombuffer(image.constBits(), dtype=np.uint8, count=stride * height).reshape(height, stride)
    rgb = rows[:, : width * 3].reshape(height, width, 3)
    left, top, right, bottom = box
    inside = rgb[round(top * height): round(bottom * height), round(left * width): round(right * width)]
    return np.array(inside, dtype=np.uint8)


def light_share(path: Path, box: Box = WHOLE) -> float:
    """The share of pixels lighter than mid-grey (relative luminance above 0.5): most of a light theme's
    window, little of a dark one's."""
    rgb = pixels(path, box).astype(np.float64) / 255.0
    luminance = 0.2126 * rgb[..., 0] + 0.7152 * rgb[..., 1] + 0.0722 * rgb[..., 2]
    return float((luminance > 0.5).mean()) if luminance.size else 0.0


def coloured_pixels(path: Path, box: Box = WHOLE) -> int:
    """How many pixels are clearly in colour (their channels differ by more than 80 of 255), not grey: text,
    lines and backgrounds in black, white and greys never are."""
    rgb = pixels(path, box).astype(np.int16)
    return int(((rgb.max(axis=-1) - rgb.min(axis=-1)) > 80).sum())
