"""Set up the large side: a preset, base URL, model (listed by the server where it can) and API key.

The key field belongs to one host: switching the preset (or typing another base URL) puts away the key typed
for the old host and shows the one known for the new host (typed earlier in this dialog, from the keyring, or
from the environment where it belongs there), or none. A key is never carried to another host, so it never
reaches it on "List models" or a run.
"""

from __future__ import annotations

from concurrent.futures import Future

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from lmscales.core import secrets
from lmscales.core.endpoints import PRESETS, DetectedServer, Endpoint, detect_local_servers, env_api_key, preset
from lmscales.core.engines.factory import list_endpoint_models
from lmscales.ui.background import outcome, run_in_background

WIDEST_URL = "https://api.together.xyz/v1 · meta-llama/Llama-3.3-70B-Instruct-Turbo"
# What each service's keys look like, for the key field's placeholder.
KEY_HINTS = {"OpenAI": "needed: sk-…", "OpenRouter": "needed: sk-or-…", "Groq": "needed: gsk_…",
             "Together": "needed: your Together API key"}


def key_placeholder(preset_name: str) -> str:
    """The key field's hint for a preset: what its keys look like, "not needed" only for a local server."""
    chosen = preset(preset_name)
    if chosen.name in KEY_HINTS:
        return KEY_HINTS[chosen.name]
    if chosen.needs_key:
        return f"needed: your {chosen.name} API key"
    if chosen.is_loopback:
        return "not needed for a server on this computer"
    return "only if the server asks for one"


class EndpointDialog(QDialog):
    def __init__(self, current: Endpoint | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Large model · remote API")
        self.preset = QComboBox()
        for item in PRESETS:
            self.preset.addItem(item.name, item.name)
        self.base_url = QLineEdit()
        self.base_url.setPlaceholderText("https://…/v1")
        self.model = QComboBox()
        self.model.setEditable(True)
        self.model.setToolTip("Pick from the server's list, or type a model name")
        self.fetch_button = QPushButton("List models")
        self.api_key = QLineEdit()
        self.api_key.setEchoMode(QLineEdit.EchoMode.Password)
        self.api_key.setPlaceholderText("not needed for local servers")
        self.api_key.setToolTip("Kept in your system's keyring (where there is none, for this session only); never "
                                "in a settings file or a log")
        self.detect_button = QPushButton("Find servers on this computer")
        self.detect_button.setToolTip("Looks for Ollama, LM Studio, llama.cpp and vLLM on 127.0.0.1 only")
        self.message = QLabel("")
        self.message.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.ok_button = buttons.button(QDialogButtonBox.StandardButton.Ok)

        model_row = QHBoxLayout()
        model_row.addWidget(self.model, 1)
        model_row.addWidget(self.fetch_button)
        form = QFormLayout()
        form.addRow("Service", self.preset)
        form.addRow("Base URL", self.base_url)
        form.addRow("Model", model_row)
        form.addRow("API key", self.api_key)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.detect_button)
        layout.addWidget(self.message)
        layout.addWidget(buttons)

        self._keys: dict[str, str] = {}  # host account -> key typed or found for it in this dialog
        self._key_host = ""
        self.preset.currentIndexChanged.connect(self._on_preset)
        self.preset.currentIndexChanged.connect(self._show_key_placeholder)
        self.base_url.textChanged.connect(self._sync_key)
        self.fetch_button.clicked.connect(self.fetch_models)
        self.detect_button.clicked.connect(self.detect)
        buttons.accepted.connect(self._on_accept)
        buttons.rejected.connect(self.reject)
        if current is not None:
            index = self.preset.findData(current.name)
            self.preset.setCurrentIndex(index if index >= 0 else self.preset.count() - 1)
            self.base_url.setText(current.base_url)
            self.model.setEditText(current.model)
            self._key_host = secrets.account(current.base_url)
            self.api_key.setText(current.api_key or "")
        else:
            self._on_preset()
        if current is None or not current.model:
            self.detect()  # offer a server already running on this computer (loopback only, 0.3 s)
        self._show_key_placeholder()
        # Wide enough for a full URL and model name at any scaling: measured in this font, not in pixels.
        self.setMinimumWidth(self.fontMetrics().horizontalAdvance("M" * 12 + WIDEST_URL))

    def _on_preset(self) -> None:
        chosen = preset(self.preset.currentData())
        if chosen.base_url:
            self.base_url.setText(chosen.base_url)
        if chosen.default_model:
            self.model.setEditText(chosen.default_model)
        self._sync_key()

    def _sync_key(self) -> None:
        """The key field follows the host: put away the old host's key, show the new host's (or none)."""
        base_url = self.base_url.text().strip()
        host = secrets.account(base_url) if base_url else ""
        if host == self._key_host:
            return
        typed = self.api_key.text().strip()
        if self._key_host and typed:
            self._keys[self._key_host] = typed
        self._key_host = host
        known = self._keys.get(host) if host else None
        if known is None and host:
            known = secrets.load_key(base_url) or env_api_key(base_url)
        self.api_key.setText(known or "")

    def _key(self) -> str | None:
        self._sync_key()  # a URL typed a moment ago: never send the previous host's key to it
        return self.api_key.text().strip() or None

    def _show_key_placeholder(self) -> None:
        self.api_key.setPlaceholderText(key_placeholder(self.preset.currentData()))

    def endpoint(self) -> Endpoint | None:
        base_url = self.base_url.text().strip()
        model = self.model.currentText().strip()
        if not base_url or not model:
            return None
        return Endpoint(base_url=base_url, model=model, api_key=self._key(), name=self.preset.currentData())

    def fetch_models(self) -> Future[list[str]] | None:
        """Ask the server for its models off the GUI thread; the list (or why not) arrives in `_on_models`."""
        base_url = self.base_url.text().strip()
        if not base_url:
            self.message.setText("Enter a base URL first.")
            return None
        endpoint = Endpoint(base_url, "-", self._key())
        self.message.setText("Asking the server for its models…")
        self.fetch_button.setEnabled(False)
        return run_in_background(lambda: list_endpoint_models(endpoint), self._on_models)

    def _on_models(self, future: Future[list[str]]) -> None:
        # Runs even when the dialog was closed meanwhile: a deleted dialog's widgets raise, and the runner drops it.
        # The HTTP half (the openai SDK, slow to import) is loaded by now, by the listing; the window's start
        # does not wait for it.
        from lmscales.core.engines.remote import RemoteError

        result = outcome(future)
        self.fetch_button.setEnabled(True)
        if isinstance(result, RemoteError):
            self.message.setText(f"{result} You can still type a model name.")
            return
        if isinstance(result, BaseException):
            self.message.setText(f"Could not list models: {result}")
            return
        models = list(result)
        current = self.model.currentText()
        self.model.clear()
        self.model.addItems(models)
        self.model.setEditText(current if current in models or not models else models[0])
        self.message.setText(f"The server offers {len(models)} model{'s' if len(models) != 1 else ''}.")

    def detect(self) -> Future[list[DetectedServer]]:
        self.message.setText("Looking for servers on 127.0.0.1…")
        self.detect_button.setEnabled(False)
        return run_in_background(detect_local_servers, self._on_detected)

    def _on_detected(self, future: Future[list[DetectedServer]]) -> None:
        result = outcome(future)
        self.detect_button.setEnabled(True)
        found: list[DetectedServer] = result if isinstance(result, list) else []
        if not found:
            self.message.setText("No OpenAI-compatible server answers on this computer's usual ports.")
            return
        first = found[0]
        self.preset.setCurrentIndex(self.preset.findData(first.preset.name))
        self.base_url.setText(first.preset.base_url)
        self.model.clear()
        self.model.addItems(list(first.models))
        names = ", ".join(f"{d.preset.name} ({len(d.models)} models)" for d in found)
        self.message.setText(f"Found: {names}.")

    def _on_accept(self) -> None:
        endpoint = self.endpoint()
        if endpoint is None:
            self.message.setText("A base URL and a model name are needed.")
            return
        problem = endpoint.problem()
        if problem:
            self.message.setText(f"⚠ {problem}")
            return
        self.accept()
