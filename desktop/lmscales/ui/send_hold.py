"""The question before a send that would give something sensitive to a side beyond this computer: "Send to
<host> anyway", "<this computer's side> only" or "Cancel", with "Remember for this session". The workspace decides
whether to ask (`Workspace.check_before_sending`) and remembers the answer; this dialog only asks."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QCheckBox, QDialog, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from lmscales.core.send_guard import Hold
from lmscales.core.trial import TaskInput
from lmscales.core.workspace import Workspace

SEND, LOCAL_ONLY, CANCEL = "send", "local_only", "cancel"


class HoldDialog(QDialog):
    """Window-modal and opened with `open()`, so nothing waits on it: `decided(choice, remember)` says the answer
    (`SEND`, `LOCAL_ONLY` or `CANCEL`)."""

    decided = Signal(str, bool)

    def __init__(self, hold: Hold, local_label: str | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("send_hold")
        self.setWindowTitle("Send beyond this computer?")
        self.setWindowModality(Qt.WindowModality.WindowModal)
        self.hold = hold
        self.message = QLabel(f"{hold.message}\n\nNothing has been sent yet.")
        self.message.setTextFormat(Qt.TextFormat.PlainText)
        self.message.setWordWrap(True)
        self.remember = QCheckBox("Remember for this session")
        self.remember.setToolTip("Do not ask again in this session when the same kind of data goes to the same host")
        hosts = " and ".join(hold.hosts)
        self.send_button = QPushButton(f"Send to {hosts} anyway")
        self.local_button = QPushButton(f"{local_label} only" if local_label else "")
        self.local_button.setVisible(local_label is not None)
        self.local_button.setToolTip("Run only the side on this computer; nothing leaves it")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setDefault(True)  # Enter keeps the data here
        row = QHBoxLayout()
        row.addWidget(self.send_button)
        row.addStretch(1)
        row.addWidget(self.local_button)
        row.addWidget(self.cancel_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.message)
        layout.addWidget(self.remember)
        layout.addLayout(row)
        self.send_button.clicked.connect(lambda: self._decide(SEND))
        self.local_button.clicked.connect(lambda: self._decide(LOCAL_ONLY))
        self.cancel_button.clicked.connect(lambda: self._decide(CANCEL))
        self.rejected.connect(lambda: self._decide(CANCEL))  # Esc, the close button
        self._done = False
        self.setMinimumWidth(self.fontMetrics().averageCharWidth() * 70)

    def _decide(self, choice: str) -> None:
        if self._done:
            return
        self._done = True
        remember = self.remember.isChecked() and choice == SEND
        if choice == CANCEL:
            self.reject()
        else:
            self.accept()
        self.decided.emit(choice, remember)


def ask_before_sending(parent: QWidget, workspace: Workspace, sides: tuple[str, ...], request: TaskInput,
                       send: Callable[[tuple[str, ...]], None], tell: Callable[[str], None]) -> HoldDialog | None:
    """Send `request` on `sides` through `send`, after the workspace's rules: a side beyond this computer is left
    out while "never send to a remote side" is on (`tell` says why), and sensitive input for one is held with the
    dialog (returned, open) until the user chooses."""
    refused = workspace.remote_refused(sides)
    if refused:
        sides = tuple(side for side in sides if workspace.remote_refused((side,)) is None)
        tell(refused)
        if not sides:
            return None
    text = "\n".join(m.content for m in request.messages) if request.messages else request.text
    hold = workspace.check_before_sending(sides, text)
    if hold is None:
        send(sides)
        return None
    local = tuple(side for side in sides if side not in hold.sides)
    dialog = HoldDialog(hold, " and ".join(workspace.label(side) for side in local) if local else None, parent)

    def decided(choice: str, remember: bool) -> None:
        if choice == SEND:
            if remember:
                workspace.send_guard.remember(hold)
            send(sides)
        elif choice == LOCAL_ONLY and local:
            send(local)
        else:
            tell("Not sent.")

    dialog.decided.connect(decided)
    dialog.open()
    return dialog
