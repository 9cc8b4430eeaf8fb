"""The comparison window. It composes the task panel, the generation settings, the two panes and the run
history, and wires menus and shortcuts; the comparison controller decides what runs."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QAction, QCloseEvent, QDesktopServices, QKeySequence
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QPushButton,
    QSplitter,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from lmscales.core.endpoints import Endpoint
from lmscales.core.engines.local import LoadedModel
from lmscales.core.engines.remote import RemoteEngine, RemoteOptions
from lmscales.core.logs import log_dir
from lmscales.core.pricing import PriceTable
from lmscales.core.sampler import Sampler
from lmscales.core.settings import Settings
from lmscales.core.tasks import TaskInputError
from lmscales.ui.about import show_about
from lmscales.ui.bridge import EngineBridge, LocalEngineBridge
from lmscales.ui.comparison import ComparisonController, RunOutcome, SummaryJob
from lmscales.ui.generation_panel import GenerationPanel
from lmscales.ui.history_view import HistoryView
from lmscales.ui.resource_panel import ResourcePanel
from lmscales.ui.settings_controller import SettingsController
from lmscales.ui.shortcuts import native, with_shortcut
from lmscales.ui.side_pane import SidePane
from lmscales.ui.task_inputs import TaskPanel

NO_ENDPOINT = (
    "No large model is set up yet.\n\nConnect an OpenAI-compatible API (OpenAI, OpenRouter, Groq, Together) or a "
    "server on this computer (Ollama, LM Studio, llama.cpp, vLLM) to compare. The small side works on its own."
)


def local_model_card(model: LoadedModel) -> str:
    info = model.info
    return (
        f"<b>{model.display_name}</b> · {info.parameters_label} parameters · {info.quantization} · "
        f"{info.file_size / 1e6:.0f} MB · context {model.n_ctx:,} · {info.license or 'licence unknown'} · "
        f"{model.n_threads} thread{'s' if model.n_threads != 1 else ''}"
    )


def remote_model_card(endpoint: Endpoint) -> str:
    return f"<b>{endpoint.model}</b> · {endpoint.host} · {endpoint.name}"


class MainWindow(QMainWindow):
    def __init__(
        self,
        local: LocalEngineBridge,
        remote: EngineBridge,
        prices: PriceTable | None = None,
        sampler: Sampler | None = None,
        settings: Settings | None = None,
        settings_path: Path | None = None,
        session_endpoint: Endpoint | None = None,
        session_values: dict[str, tuple[object, object]] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("LM Scales")
        self.local_bridge = local
        self.remote_bridge = remote
        self.sampler = sampler or Sampler()
        self.endpoint: Endpoint | None = None

        self.tasks = TaskPanel()
        self.generation = GenerationPanel()
        self.generation.setVisible(False)
        self.settings_toggle = QToolButton()
        self.settings_toggle.setText("Generation settings")
        self.settings_toggle.setCheckable(True)
        self.settings_toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.settings_toggle.setArrowType(Qt.ArrowType.RightArrow)
        self.settings_toggle.setToolTip(with_shortcut("Max tokens, temperature, top-p, seed, run mode, system prompt",
                                                      "Ctrl+G"))
        self.send_button = QPushButton("Send to both")
        self.send_button.setToolTip(with_shortcut("Send the same input to both models", "Ctrl+Return"))
        self.send_button.setDefault(True)
        self.local_only_button = QPushButton("Small only")
        self.local_only_button.setToolTip(with_shortcut("Run only the small model", "Ctrl+Shift+L"))
        self.remote_only_button = QPushButton("Large only")
        self.remote_only_button.setToolTip(with_shortcut("Run only the large model", "Ctrl+Shift+R"))
        self.stop_button = QPushButton("Stop")
        self.stop_button.setToolTip("Stop both sides (Esc)")
        self.hint = QLabel("")
        self.hint.setObjectName("hint")

        self.panes = {
            "local": SidePane("local", local),
            "remote": SidePane("remote", remote),
        }
        self.controller = ComparisonController(local, remote, self.panes, prices or PriceTable.load(),
                                               self.sampler, self)
        self.history = HistoryView()
        self.resources = ResourcePanel(self.sampler)
        self.bottom = QTabWidget()
        self.bottom.addTab(self.resources, "Resources")
        self.bottom.addTab(self.history, "Run history")
        self.bottom.setTabToolTip(0, "What each side costs this machine, live")

        send_row = QHBoxLayout()
        send_row.addWidget(self.settings_toggle)
        send_row.addWidget(self.hint, 1)
        send_row.addWidget(self.stop_button)
        send_row.addWidget(self.local_only_button)
        send_row.addWidget(self.remote_only_button)
        send_row.addWidget(self.send_button)
        top = QWidget()
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.addWidget(self.tasks)
        top_layout.addLayout(send_row)
        top_layout.addWidget(self.generation)
        panes = QSplitter(Qt.Orientation.Horizontal)
        panes.addWidget(self.panes["local"])
        panes.addWidget(self.panes["remote"])
        panes.setChildrenCollapsible(False)
        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.addWidget(top)
        self.splitter.addWidget(panes)
        self.splitter.addWidget(self.bottom)
        self.splitter.setStretchFactor(0, 2)
        self.splitter.setStretchFactor(1, 5)
        self.splitter.setStretchFactor(2, 1)
        self.splitter.setSizes([170, 430, 260])
        self.setCentralWidget(self.splitter)
        self._make_menus()
        self.resize(1280, 860)

        self.send_button.clicked.connect(lambda: self.send(("local", "remote")))
        self.local_only_button.clicked.connect(lambda: self.send(("local",)))
        self.remote_only_button.clicked.connect(lambda: self.send(("remote",)))
        self.stop_button.clicked.connect(self.stop)
        self.settings_toggle.toggled.connect(self._on_settings_toggled)
        self.tasks.changed.connect(self._on_task_changed)
        self.tasks.newChatRequested.connect(self.new_chat)
        self.tasks.problem.connect(self._show_problem)
        self.controller.runEnded.connect(self._on_run_ended)
        self.controller.runningChanged.connect(lambda _running: self._update_actions())
        self.controller.runningChanged.connect(self.resources.set_active)
        self.panes["local"].setupRequested.connect(self.open_model)
        self.panes["remote"].setupRequested.connect(self._on_remote_setup)
        local.loaded.connect(self._on_model_loaded)
        local.loadFailed.connect(self._on_model_load_failed)
        local.busyChanged.connect(lambda _busy: self._update_actions())
        self.history.problem.connect(self._show_problem)
        self.resources.problem.connect(self._show_problem)
        self.controller.marked.connect(self.resources.mark)
        local.token_observer = lambda at: self.sampler.record_tokens("local", 1, at)
        remote.token_observer = lambda at: self.sampler.record_tokens("remote", 1, at)
        self._pending_endpoint: tuple[Endpoint | None, RemoteOptions | None, tuple[str, str] | None] | None = None
        remote.busyChanged.connect(self._on_remote_busy_changed)
        self.settings = SettingsController(self, settings or Settings(), settings_path, session_endpoint,
                                           session_values)
        self.settings.notice.connect(self._show_problem)
        self.settings.offlineChanged.connect(self._on_offline_changed)
        self.remote_bridge.failed.connect(self.settings.on_remote_failed)
        self.set_endpoint(None)
        self.panes["local"].model_card.setText("Loading the small model…")
        self._on_task_changed()
        self.tasks.chat_input.setFocus()

    # -- menus and shortcuts ---------------------------------------------------------------------------
    def _action(self, menu_name: str, text: str, shortcut: QKeySequence | None, slot: object,
                role: QAction.MenuRole = QAction.MenuRole.NoRole) -> QAction:
        action = QAction(text, self)
        # Explicit roles: Qt's guess from the text would move e.g. "Generation settings panel" into the macOS
        # application menu. Quit, Settings and About go there on purpose.
        action.setMenuRole(role)
        if shortcut is not None:
            action.setShortcut(shortcut)
        action.triggered.connect(slot)
        self._menus[menu_name].addAction(action)
        return action

    def _make_menus(self) -> None:
        bar = self.menuBar()
        self._menus = {name: bar.addMenu(name) for name in ("&File", "&Run", "&Settings", "&Help")}
        self._action("&File", "Open text to summarize…", QKeySequence(QKeySequence.StandardKey.Open),
                     self.tasks.open_file)
        self._action("&File", "Open GGUF model…", QKeySequence("Ctrl+Shift+O"), self.open_model)
        self._action("&File", "Export run history…", QKeySequence("Ctrl+E"), self.history.export_dialog)
        self._menus["&File"].addSeparator()
        self._action("&File", "Quit", QKeySequence(QKeySequence.StandardKey.Quit), self.close,
                     QAction.MenuRole.QuitRole)
        self.send_action = self._action("&Run", "Send to both", QKeySequence("Ctrl+Return"),
                                        lambda: self.send(("local", "remote")))
        self.send_action.setShortcuts([QKeySequence("Ctrl+Return"), QKeySequence("Ctrl+Enter")])
        self._action("&Run", "Small model only", QKeySequence("Ctrl+Shift+L"), lambda: self.send(("local",)))
        self._action("&Run", "Large model only", QKeySequence("Ctrl+Shift+R"), lambda: self.send(("remote",)))
        self._action("&Run", "Stop", QKeySequence(Qt.Key.Key_Escape), self.stop)
        self._action("&Run", "New chat", QKeySequence(QKeySequence.StandardKey.New), self.new_chat)
        self._menus["&Run"].addSeparator()
        for index, name in enumerate(("Chat", "Summarize", "Translate"), start=1):
            self._action("&Run", name, QKeySequence(f"Ctrl+{index}"),
                         lambda _=False, i=index - 1: self.tasks.setCurrentIndex(i))
        self._action("&Settings", "Settings…", QKeySequence("Ctrl+,"), self.open_settings,
                     QAction.MenuRole.PreferencesRole)
        self._action("&Settings", "Generation settings panel", QKeySequence("Ctrl+G"), self.toggle_settings)
        self._action("&Settings", "Large model endpoint…", QKeySequence("Ctrl+Shift+E"), self.configure_endpoint)
        self.offline_action = self._action("&Settings", "Work offline", QKeySequence("Ctrl+Shift+F"),
                                           self._on_offline_toggled)
        self.offline_action.setCheckable(True)
        self._action("&Help", "Show log folder", None, self.show_log_folder)  # stays in Help on macOS too
        self._action("&Help", "About LM Scales", None, self.about, QAction.MenuRole.AboutRole)

    # -- actions ---------------------------------------------------------------------------------------
    def send(self, sides: tuple[str, ...]) -> None:
        if self.controller.running:
            return
        available = tuple(side for side in sides if self.controller.available(side))
        if not self.tasks.has_text():
            self._show_problem("Type or paste some text first.")
            return
        if not available:
            self._show_problem("Neither model is ready yet." if len(sides) > 1 else "That model is not ready.")
            return
        task = self.tasks.current_task
        system_prompt = self.generation.system_prompt_for(task)
        try:
            self.tasks.messages(system_prompt, [])  # validate once, for a clear message
        except TaskInputError as error:
            self._show_problem(str(error))
            return
        user_text = self.tasks.current_text.strip()
        length = self.tasks.summary_length.currentData()
        summary = SummaryJob(user_text, length, system_prompt) if task == "summarize" else None
        started = self.controller.send(
            task,
            lambda history: self.tasks.messages(system_prompt, history),
            self.generation.fields(),
            available,
            self.generation.sequential,
            user_text,
            summary,
        )
        if started and task == "chat":
            self.tasks.chat_input.clear()
        self._update_actions()

    def stop(self) -> None:
        self.controller.stop()

    def new_chat(self) -> None:
        self.controller.new_chat()
        self.tasks.set_task("chat")
        self.tasks.chat_input.setFocus()

    def toggle_settings(self) -> None:
        self.settings_toggle.toggle()

    def _on_settings_toggled(self, shown: bool) -> None:
        self.generation.setVisible(shown)
        self.settings_toggle.setArrowType(Qt.ArrowType.DownArrow if shown else Qt.ArrowType.RightArrow)

    def open_model(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open a GGUF model", "", "GGUF models (*.gguf);;All files (*)")
        if path:
            self.load_model(path)

    def load_model(self, path: str, n_ctx: int | None = None, n_threads: int | None = None) -> bool:
        if not self.local_bridge.load(path, n_ctx, n_threads):
            self._show_problem("The small model is busy; stop it first, then load again.")
            return False
        self.panes["local"].status.setText("Loading the model…")
        return True

    def configure_endpoint(self) -> None:
        self.settings.configure_endpoint()

    def open_settings(self) -> None:
        self.settings.open_dialog()

    def _on_remote_setup(self) -> None:
        if self.settings.offline and not self.remote_bridge.engine:
            self.settings.set_offline(False)
        else:
            self.configure_endpoint()

    def _on_remote_busy_changed(self, busy: bool) -> None:
        if not busy and self._pending_endpoint is not None:
            self.set_endpoint(*self._pending_endpoint)

    def _on_offline_toggled(self, checked: bool) -> None:
        self.settings.set_offline(checked)

    def _on_offline_changed(self, offline: bool) -> None:
        self.offline_action.setChecked(offline)
        self.setWindowTitle("LM Scales — offline" if offline else "LM Scales")

    def set_endpoint(
        self,
        endpoint: Endpoint | None,
        options: RemoteOptions | None = None,
        placeholder: tuple[str, str] | None = None,
    ) -> None:
        if self.remote_bridge.busy:
            # Going offline (or a new endpoint) mid-run: stop the stream now, switch when it has ended.
            self._pending_endpoint = (endpoint, options, placeholder)
            self.controller.stop("remote")
            return
        self._pending_endpoint = None
        self.endpoint = endpoint
        pane = self.panes["remote"]
        if endpoint is None:
            self.remote_bridge.engine = None
            pane.model_card.setText("<i>off</i>" if placeholder else "<i>not set up</i>")
            message, button = placeholder or (NO_ENDPOINT, "Set up the large model…")
            pane.show_placeholder(message, button)
        else:
            self.remote_bridge.engine = RemoteEngine(endpoint, options)
            pane.model_card.setText(remote_model_card(endpoint))
            pane.hide_placeholder()
            pane.status.setText(f"Ready: {endpoint.model} at {endpoint.host}.")
        self._update_actions()

    def about(self) -> None:
        show_about(self)

    def show_log_folder(self) -> None:
        folder = log_dir()
        folder.mkdir(parents=True, exist_ok=True)
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder)))

    # -- reactions -------------------------------------------------------------------------------------
    def _on_task_changed(self) -> None:
        self.generation.set_task(self.tasks.current_task)
        self._update_actions()

    def _update_actions(self) -> None:
        running = self.controller.running
        has_text = self.tasks.has_text()
        local_ok = self.controller.available("local")
        remote_ok = self.controller.available("remote")
        self.send_button.setEnabled(has_text and not running and (local_ok or remote_ok))
        self.send_button.setText("Send to both" if local_ok and remote_ok else "Send")
        self.local_only_button.setEnabled(has_text and not running and local_ok)
        self.remote_only_button.setEnabled(has_text and not running and remote_ok)
        self.stop_button.setEnabled(running)
        if running:
            self.hint.setText("Generating… Esc stops.")
        elif not has_text:
            self.hint.setText("Type or paste some text to send (empty input cannot be sent).")
        elif not local_ok and not remote_ok:
            self.hint.setText("Waiting for a model…")
        else:
            self.hint.setText(f"{native('Ctrl+Return')} sends.")

    def _on_run_ended(self, outcome: RunOutcome) -> None:
        self.history.add(outcome)
        self.bottom.setTabText(1, f"Run history ({self.history.row_count()})")

    def _on_model_loaded(self, model: LoadedModel) -> None:
        self.sampler.set_engine_pid(self.local_bridge.local_engine.pid)
        pane = self.panes["local"]
        pane.model_card.setText(local_model_card(model))
        pane.status.setText(f"Model loaded in {model.load_seconds:.2f} s.")
        self._update_actions()

    def _on_model_load_failed(self, message: str) -> None:
        self.panes["local"].status.setText(f"⚠ {message}")
        if self.local_bridge.local_engine.model is None:
            self.panes["local"].model_card.setText("<i>no model loaded</i>")
        self._update_actions()

    def _show_problem(self, message: str) -> None:
        self.hint.setText(message)
        self.statusBar().showMessage(message, 8000)

    def start_sampling(self) -> None:
        self.sampler.start()
        self.resources.start()

    def closeEvent(self, event: QCloseEvent) -> None:  # Qt override
        self.controller.stop()
        self.settings.save_on_close()
        self.resources.stop()
        self.sampler.stop()
        super().closeEvent(event)
