"""The first start: a short welcome in the large side's pane that leads somewhere.

The small side works on its own; the welcome says how to give it something to compare with (an API and its
key, a server on this computer, or a second GGUF file for a fully offline comparison) and offers an example
to try. It looks for local servers itself (loopback only), so "a server on this computer" says at once
whether there is one, and where `lmscales serve` can run (not in the installed app, which leaves its web
stack out) it says that this command starts one with the bundled model, no account needed. Closing it is
remembered (the `show_welcome` setting).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QGridLayout, QHBoxLayout, QLabel, QPushButton, QToolButton, QVBoxLayout, QWidget

from lmscales import serve
from lmscales.core.endpoints import PRESETS, DetectedServer, detect_local_servers
from lmscales.ui.background import outcome, run_in_background
from lmscales.ui.shortcuts import native

INTRO = ("The small model runs on this computer and works on its own. To see what size buys, give the large "
         "side a model to compare with:")
WAYS = (
    ("api", "An API…", "OpenAI, OpenRouter, Groq or Together, with your API key (kept in the system keyring)."),
    ("server", "A server on this computer", "Ollama, LM Studio, llama.cpp or vLLM, already running here."),
    ("gguf", "A second GGUF file…", "A larger model, or another quantization, on this CPU: fully offline."),
)


# Said where `lmscales serve` can run: the bundled model as a server on llama.cpp's port, which the search finds.
SERVE_NOTE = ("Or run `lmscales serve` in a terminal: the bundled model as a server on this computer, no account "
              "needed.")
SERVE_HINT = f"`lmscales serve` in a terminal starts one on port {serve.DEFAULT_PORT}"


def _ports() -> str:
    return ", ".join(f"{p.name} {p.base_url.rsplit(':', 1)[-1].split('/')[0]}" for p in PRESETS
                     if p.base_url and p.is_loopback)


class Welcome(QFrame):
    apiRequested = Signal()
    serverRequested = Signal()  # a server was found: set it up (the endpoint dialog offers it)
    ggufRequested = Signal()
    exampleRequested = Signal()
    closed = Signal()

    def __init__(self, detect: Callable[[], list[DetectedServer]] = detect_local_servers,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("welcome")
        self._detect = detect
        self.found: list[DetectedServer] = []
        title = QLabel("<b>Welcome to LM Scales</b>")
        title.setTextFormat(Qt.TextFormat.RichText)
        self.close_button = QToolButton()
        self.close_button.setText("✕")
        self.close_button.setAutoRaise(True)
        self.close_button.setToolTip("Close the welcome (it stays closed; Settings › General brings it back)")
        intro = QLabel(INTRO)
        intro.setWordWrap(True)
        self.buttons: dict[str, QPushButton] = {}
        self.notes: dict[str, QLabel] = {}
        self.can_serve = serve.available()
        ways = QGridLayout()
        ways.setColumnStretch(1, 1)
        for row, (key, text, note) in enumerate(WAYS):
            button = QPushButton(text)
            button.setObjectName(f"welcome_{key}")
            self.buttons[key] = button
            label = QLabel(f"{note} {SERVE_NOTE}" if key == "server" and self.can_serve else note)
            label.setWordWrap(True)
            self.notes[key] = label
            ways.addWidget(button, row, 0)
            ways.addWidget(label, row, 1)
        self.server_note = QLabel("")
        self.server_note.setWordWrap(True)
        self.server_note.setObjectName("welcome_server_note")
        self.server_note.setVisible(False)
        self.use_server_button = QPushButton("Use it…")
        self.use_server_button.setVisible(False)
        server_row = QHBoxLayout()
        server_row.addWidget(self.server_note, 1)
        server_row.addWidget(self.use_server_button, 0, Qt.AlignmentFlag.AlignTop)
        self.example_button = QPushButton("Try an example")
        self.example_button.setToolTip(f"Fill in an example for the current task; {native('Ctrl+Return')} sends it")
        example_row = QHBoxLayout()
        example_note = QLabel("Or start with the small side alone:")
        example_note.setWordWrap(True)
        example_row.addWidget(example_note, 1)
        example_row.addWidget(self.example_button)
        header = QHBoxLayout()
        header.addWidget(title, 1)
        header.addWidget(self.close_button, 0, Qt.AlignmentFlag.AlignTop)
        layout = QVBoxLayout(self)
        layout.addLayout(header)
        layout.addWidget(intro)
        layout.addLayout(ways)
        layout.addLayout(server_row)
        layout.addSpacing(self.fontMetrics().height() // 2)
        layout.addLayout(example_row)

        self.buttons["api"].clicked.connect(self.apiRequested)
        self.buttons["server"].clicked.connect(self.look_for_servers)
        self.buttons["gguf"].clicked.connect(self.ggufRequested)
        self.use_server_button.clicked.connect(self.serverRequested)
        self.example_button.clicked.connect(self.exampleRequested)
        self.close_button.clicked.connect(self.closed)

    def look_for_servers(self) -> Future[list[DetectedServer]]:
        """Look for OpenAI-compatible servers on this computer (loopback only, a fraction of a second)."""
        self.buttons["server"].setEnabled(False)
        self.server_note.setText("Looking for servers on this computer…")
        self.server_note.setVisible(True)
        self.use_server_button.setVisible(False)
        return run_in_background(self._detect, self._on_found)

    def _on_found(self, future: Future[list[DetectedServer]]) -> None:
        result = outcome(future)  # a search that failed finds nothing
        self.buttons["server"].setEnabled(True)
        self.found = result if isinstance(result, list) else []
        if not self.found:
            start = f"Start one ({SERVE_HINT})" if self.can_serve else "Start one"
            self.server_note.setText(f"No server answers on this computer's usual ports ({_ports()}). {start}, "
                                     "then look again.")
            return
        names = ", ".join(f"{server.preset.name} ({len(server.models)} model{'s' if len(server.models) != 1 else ''})"
                          for server in self.found)
        self.server_note.setText(f"Found {names}.")
        self.use_server_button.setVisible(True)
