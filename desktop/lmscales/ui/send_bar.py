"""The row under the input: the generation settings' toggle, the hint, Stop and the send buttons. It shows
what the workspace decided (`Workspace.can_send`): a button for sides that cannot run is disabled, and the
reason is in the hint and the button's tooltip."""

from __future__ import annotations

from collections.abc import Mapping

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QToolButton, QWidget

from lmscales.core.session import SLOTS
from lmscales.core.workspace import Readiness
from lmscales.ui.shortcuts import native, with_shortcut

EMPTY_INPUT = "Type or paste some text to send (empty input cannot be sent)."


class SendBar(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.settings_toggle = QToolButton()
        self.settings_toggle.setText("Generation settings")
        self.settings_toggle.setCheckable(True)
        self.settings_toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.settings_toggle.setArrowType(Qt.ArrowType.RightArrow)
        self.settings_toggle.setToolTip(with_shortcut("Max tokens, temperature, top-p, seed, run mode, system prompt",
                                                      "Ctrl+G"))
        self.settings_toggle.toggled.connect(lambda shown: self.settings_toggle.setArrowType(
            Qt.ArrowType.DownArrow if shown else Qt.ArrowType.RightArrow))
        self.send_button = QPushButton("Send to both")
        self.send_button.setDefault(True)
        self.local_only_button = QPushButton("Small only")
        self.remote_only_button = QPushButton("Large only")
        self._tips = {
            self.send_button: with_shortcut("Send the same input to both models", "Ctrl+Return"),
            self.local_only_button: with_shortcut("Run only the small model", "Ctrl+Shift+L"),
            self.remote_only_button: with_shortcut("Run only the large model", "Ctrl+Shift+R"),
        }
        for button, tip in self._tips.items():
            button.setToolTip(tip)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setToolTip("Stop both sides (Esc)")
        self.hint = QLabel("")
        self.hint.setObjectName("hint")
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        for widget in (self.settings_toggle, self.hint, self.stop_button, self.local_only_button,
                       self.remote_only_button, self.send_button):
            row.addWidget(widget, 1 if widget is self.hint else 0)

    def show_state(self, running: bool, has_text: bool, readiness: Mapping[tuple[str, ...], Readiness],
                   ready_sides: tuple[str, ...]) -> None:
        """`readiness` for both sides (`SLOTS`) and each alone, as `Workspace.can_send` answered; `ready_sides`:
        the sides whose model is ready, run or not (the send button names them)."""
        both = readiness[SLOTS]
        buttons = {SLOTS: self.send_button, ("small",): self.local_only_button, ("large",): self.remote_only_button}
        for sides, button in buttons.items():
            answer = readiness[sides]
            button.setEnabled(answer.ok and not running)
            why = answer.reason if not answer.ok and has_text and not running else None
            button.setToolTip(self._tips[button] + (f"\n{why}" if why else ""))
        self.send_button.setText("Send to both" if ready_sides == SLOTS else "Send")
        self.stop_button.setEnabled(running)
        if running:
            self.hint.setText("Generating… Esc stops.")
        elif not has_text:
            self.hint.setText(EMPTY_INPUT)
        elif not both.ok:
            self.hint.setText(both.reason or "")
        else:
            self.hint.setText(f"{native('Ctrl+Return')} sends." + (f" {both.reason}" if both.reason else ""))
