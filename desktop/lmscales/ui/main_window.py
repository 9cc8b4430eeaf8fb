"""The comparison window. It composes the task panel, the generation settings, the two panes, the resource
graphs and the history, and wires menus and shortcuts. What runs, and how, is the `Session`'s to decide;
the window turns the user's input into a `TaskInput` and shows the session's events through one bridge."""

from __future__ import annotations

import functools
import logging
import time
from html import escape
from pathlib import Path
from typing import cast

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import QAction, QCloseEvent, QDesktopServices, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
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
from lmscales.core.engines.local import LoadedModel, LocalEngine
from lmscales.core.engines.local_worker import NO_CHAT_TEMPLATE_NOTE
from lmscales.core.engines.remote import RemoteEngine, RemoteOptions
from lmscales.core.events import TextDelta
from lmscales.core.history import TrialHistory
from lmscales.core.logs import log_dir
from lmscales.core.pricing import PriceTable
from lmscales.core.recording import Collector
from lmscales.core.sampler import Sampler
from lmscales.core.session import SLOTS, Session, SessionBusyError, SideStarted
from lmscales.core.settings import LocalEngineSettings, Settings
from lmscales.core.tasks import TaskInputError
from lmscales.core.threads import Preference, ThreadPolicy, ThreadStore, describe_threads
from lmscales.core.trial import GenerationParams, RunMode, SideResult, TaskInput, Trial
from lmscales.ui import gc_guard
from lmscales.ui.about import show_about
from lmscales.ui.bridge import ModelLoader
from lmscales.ui.eval_dialog import EvalDialog
from lmscales.ui.generation_panel import GenerationPanel
from lmscales.ui.history_notice import HistoryNotice
from lmscales.ui.history_view import HistoryView
from lmscales.ui.presenter import Presenter
from lmscales.ui.replay import ReplayController, ReplayMenu
from lmscales.ui.resource_panel import ResourcePanel
from lmscales.ui.result_card import ResultCard
from lmscales.ui.session_bridge import SessionBridge
from lmscales.ui.settings_controller import SettingsController
from lmscales.ui.shortcuts import native, with_shortcut
from lmscales.ui.side_pane import SidePane
from lmscales.ui.task_inputs import TaskPanel
from lmscales.ui.theme import apply_theme
from lmscales.ui.welcome import Welcome

log = logging.getLogger(__name__)

NO_ENDPOINT = (
    "No large model is set up yet.\n\nConnect an OpenAI-compatible API (OpenAI, OpenRouter, Groq, Together) or a "
    "server on this computer (Ollama, LM Studio, llama.cpp, vLLM) to compare. The small side works on its own."
)


def local_model_card(model: LoadedModel) -> str:
    info = model.info
    threads = model.threads_reason or describe_threads(model.n_threads)
    if model.n_threads_batch and model.n_threads_batch != model.n_threads:
        threads += f", {model.n_threads_batch} for prompts"
    warning = "" if info.has_chat_template else f"<br>⚠ {NO_CHAT_TEMPLATE_NOTE}"
    # The card is rich text; the name and licence come from the file's metadata: escaped, shown as written.
    return (
        f"<b>{escape(model.display_name)}</b> · {info.parameters_label} parameters · {escape(info.quantization)} · "
        f"{info.file_size / 1e6:.0f} MB · context {model.n_ctx:,} · {escape(info.license or 'licence unknown')} · "
        f"{escape(threads)}{warning}"
    )


def remote_model_card(endpoint: Endpoint) -> str:
    return f"<b>{escape(endpoint.model)}</b> · {escape(endpoint.host)} · {escape(endpoint.name)}"


class MainWindow(QMainWindow):
    """`small` is the local engine of the small slot (its model loads in the background). The large slot
    starts empty and gets an endpoint from the settings, or a second GGUF file (File menu)."""

    _keepFailed = Signal(str)

    def __init__(
        self,
        small: LocalEngine,
        prices: PriceTable | None = None,
        sampler: Sampler | None = None,
        settings: Settings | None = None,
        settings_path: Path | None = None,
        session_endpoint: Endpoint | None = None,
        session_values: dict[str, tuple[object, object]] | None = None,
        history: TrialHistory | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        app = QApplication.instance()
        if app is not None:  # cycles (Qt objects among them) are collected on this thread, never a worker's
            gc_guard.install(app)
        self.setWindowTitle("LM Scales")
        self.sampler = sampler or Sampler()
        self.endpoint: Endpoint | None = None
        self.history_store = history if history is not None else TrialHistory()
        self.session = Session({"small": small, "large": None}, prices=prices or PriceTable.load(),
                               sampler=self.sampler, on_trial=self._keep)
        self.bridge = SessionBridge(self.session, self)
        self.loaders: dict[str, ModelLoader] = {"small": ModelLoader(small, self)}
        self.recorder = Collector()  # what File → Save recording… writes
        self.sampler.subscribe(self.recorder.add_sample)
        self._awaiting_first: set[str] = set()

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

        self.panes = {side: SidePane(side, self.bridge) for side in SLOTS}
        self.replay = ReplayController(self.session, self.bridge, self.panes, self)
        self.presenter = Presenter(self.session, self.bridge, self.sampler, submit=self.submit, stop=self.stop,
                                   recorder=self.recorder, replay=self.replay,
                                   loading=lambda side: side in self.loaders and self.loaders[side].busy, parent=self)
        self.history = HistoryView(self.history_store)
        self.history_notice = HistoryNotice(self.history_store)  # skipped lines, comparisons not kept
        self.statusBar().addPermanentWidget(self.history_notice)
        self.resources = ResourcePanel(self.sampler)
        # A replay shows its recorded samples in both graphs (the presenter's follows it too), not live ones.
        self.replay.sourceChanged.connect(self.resources.set_source)
        self.bottom = QTabWidget()
        self.bottom.addTab(self.resources, "Resources")
        self.bottom.addTab(self.history, "History")
        self.bottom.setTabToolTip(0, "What each side costs this machine, live")
        self.card = ResultCard()
        self.bottom.addTab(self.card, "Result")
        self.bottom.setTabToolTip(self.bottom.indexOf(self.card),
                                  "The latest comparison, figure by figure: which way the scales tip")
        self.welcome = Welcome()

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
        panes.addWidget(self.panes["small"])
        panes.addWidget(self.panes["large"])
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

        self.send_button.clicked.connect(lambda: self.send(SLOTS))
        self.local_only_button.clicked.connect(lambda: self.send(("small",)))
        self.remote_only_button.clicked.connect(lambda: self.send(("large",)))
        self.stop_button.clicked.connect(self.stop)
        self.settings_toggle.toggled.connect(self._on_settings_toggled)
        self.tasks.changed.connect(self._on_task_changed)
        self.tasks.newChatRequested.connect(self.new_chat)
        self.tasks.problem.connect(self._show_problem)
        self.bridge.runningChanged.connect(lambda _running: self._update_actions())
        self.bridge.runningChanged.connect(self.resources.set_active)
        self.bridge.sideStarted.connect(self._on_side_started)
        self.bridge.deltasReady.connect(self._on_deltas)
        self.bridge.sideEnded.connect(self._on_side_ended)
        self.bridge.trialEnded.connect(self._on_trial_ended)
        self.panes["small"].setupRequested.connect(self.open_model)
        self.panes["large"].setupRequested.connect(self._on_remote_setup)
        self._watch_loader("small")
        # Space in presenter mode while the small model loads runs the step once it is ready (after the window
        # has taken the loaded model: busy goes false after `loaded`, or after `loadFailed`).
        self.loaders["small"].loadFailed.connect(self.presenter.drop_queued)
        self.loaders["small"].busyChanged.connect(lambda busy: None if busy else self.presenter.run_queued())
        self.history.problem.connect(self._show_problem)
        self.history.sendAgainRequested.connect(self.send_again)
        self.card.problem.connect(self._show_problem)
        self.welcome.apiRequested.connect(self.configure_endpoint)
        self.welcome.serverRequested.connect(self.configure_endpoint)
        self.welcome.ggufRequested.connect(self.open_large_model)
        self.welcome.exampleRequested.connect(lambda: self.tasks.load_example())
        self.welcome.closed.connect(self.close_welcome)
        self._welcome_place = False  # the large side is not set up (no offline note): the welcome's place
        self.resources.problem.connect(self._show_problem)
        self.replay.problem.connect(self._show_problem)
        self.presenter.problem.connect(self._show_problem)
        self.replay_menu.bannerChanged.connect(self.presenter.set_banner)
        self._keepFailed.connect(self._show_problem)
        self._pending_endpoint: tuple[Endpoint | None, RemoteOptions | None, tuple[str, str] | None] | None = None
        self.settings = SettingsController(settings or Settings(), settings_path, session_endpoint, session_values,
                                           dialog_parent=self, parent=self)
        self.settings.capture_window = self.generation.fold_into
        self.settings.notice.connect(self._show_problem)
        self.settings.offlineChanged.connect(self._on_offline_changed)
        self.settings.endpointChanged.connect(lambda endpoint, placeholder: self.set_endpoint(
            endpoint, placeholder=placeholder))
        self.settings.modelRequested.connect(lambda path, n_ctx, threads: self.load_model(path, n_ctx, threads))
        self.settings.modelProblem.connect(self._on_model_problem)
        self.settings.threadsSettingChanged.connect(self._apply_threads)
        self.settings.measureRequested.connect(self.measure_threads)
        self.settings.thread_table = lambda: self.small_engine.thread_table
        self.settings.keyNote.connect(self.panes["large"].status.setText)
        # Each part listens for the settings it uses.
        store = self.settings.store
        store.subscribe(("generation", "run_mode", "system_prompts"),
                        lambda change: self.generation.show_settings(change.new))
        store.subscribe("sampler", lambda change: self._apply_sampler(change.new))
        store.subscribe("theme", lambda change: self._apply_theme(change.new))
        store.subscribe("price_overrides", lambda change: self._apply_prices(change.new))
        store.subscribe("keep_history", lambda change: self.history.set_keep(change.new.keep_history))
        store.subscribe("show_welcome", lambda change: self._show_welcome())
        store.subscribe("local_engine.watchdog_seconds", lambda change: self._apply_watchdog(change.new))
        self.generation.show_settings(self.settings.settings)
        self._apply_sampler(self.settings.settings)
        self._apply_prices(self.settings.settings)
        self.history.set_keep(self.settings.settings.keep_history)
        self._apply_watchdog(self.settings.settings)
        self._thread_store = ThreadStore()
        self._apply_threads(self.settings.settings.local_engine, choose=False)
        self.set_endpoint(None)
        self.panes["small"].model_card.setText("Loading the small model…")
        self.panes["small"].set_label(self.session.labels["small"], "local")
        self.panes["large"].set_label(self.session.labels["large"])
        self._on_task_changed()
        self.tasks.chat_input.setFocus()

    # -- settings, as each part takes them ----------------------------------------------------------------
    def _apply_sampler(self, settings: Settings) -> None:
        values = settings.sampler
        self.sampler.set_rate(values.rate_hz)
        self.sampler.set_window(values.window_seconds)
        self.sampler.watts_per_core = values.watts_per_core
        self.resources.show_rate(values.rate_hz)
        self.resources.show_window(values.window_seconds)

    def _apply_theme(self, settings: Settings) -> None:
        app = QApplication.instance()
        if isinstance(app, QApplication):
            apply_theme(app, settings.theme)

    def _apply_prices(self, settings: Settings) -> None:
        table = PriceTable.load()
        for price in settings.price_overrides:
            table = table.with_override(price.model, price.input_per_million, price.output_per_million)
        self.session.prices = table

    def _on_model_problem(self, message: str) -> None:
        self.panes["small"].status.setText(f"⚠ {message}")
        self.panes["small"].model_card.setText("<i>no model loaded</i>")

    def _watch_loader(self, side: str) -> None:
        loader = self.loaders[side]
        loader.loaded.connect(lambda model, s=side: self._on_model_loaded(s, model))
        loader.progress.connect(self.panes[side].status.setText)
        loader.threadsChosen.connect(lambda model, s=side: self._on_threads_chosen(s, model))
        loader.loadFailed.connect(lambda message, s=side: self._on_model_load_failed(s, message))
        loader.busyChanged.connect(lambda _busy: self._update_actions())

    @property
    def small_engine(self) -> LocalEngine:
        return self.loaders["small"].engine

    @property
    def running(self) -> bool:
        return self.bridge.running

    def _keep(self, trial: Trial) -> None:
        """Called on the session's thread when a comparison ends: into the history (and its file)."""
        self.recorder.add_trial(trial)
        problem = self.history_store.append(trial)
        if problem:
            self._keepFailed.emit(problem)

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
        self._menus = {name: bar.addMenu(name) for name in ("&File", "&Run", "&View", "&Settings", "&Help")}
        self._action("&File", "Open text to summarize…", QKeySequence(QKeySequence.StandardKey.Open),
                     self.tasks.open_file)
        self._action("&File", "Open GGUF model…", QKeySequence("Ctrl+Shift+O"), self.open_model)
        self._action("&File", "Open GGUF model for the large side…", None, self.open_large_model)
        self._action("&File", "Export history…", QKeySequence("Ctrl+E"), self.history.export_dialog)
        self._menus["&File"].addSeparator()
        self.replay_menu = ReplayMenu(self, self._menus["&File"], self.replay, self.recorder)
        self._menus["&File"].addSeparator()
        self._action("&File", "Quit", QKeySequence(QKeySequence.StandardKey.Quit), self.close,
                     QAction.MenuRole.QuitRole)
        self.send_action = self._action("&Run", "Send to both", QKeySequence("Ctrl+Return"),
                                        lambda: self.send(SLOTS))
        self.send_action.setShortcuts([QKeySequence("Ctrl+Return"), QKeySequence("Ctrl+Enter")])
        self._action("&Run", "Small model only", QKeySequence("Ctrl+Shift+L"), lambda: self.send(("small",)))
        self._action("&Run", "Large model only", QKeySequence("Ctrl+Shift+R"), lambda: self.send(("large",)))
        self._action("&Run", "Stop", QKeySequence(Qt.Key.Key_Escape), self.stop)
        self._action("&Run", "New chat", QKeySequence(QKeySequence.StandardKey.New), self.new_chat)
        self._action("&Run", "Evaluate…", QKeySequence("Ctrl+Shift+V"), self.evaluate)
        self._menus["&Run"].addSeparator()
        for index, name in enumerate(("Chat", "Summarize", "Translate"), start=1):
            self._action("&Run", name, QKeySequence(f"Ctrl+{index}"),
                         lambda _=False, i=index - 1: self.tasks.setCurrentIndex(i))
        self.presenter_action = self._action("&View", "Presenter mode", QKeySequence("F11"), self.presenter.toggle)
        self._action("&Settings", "Settings…", QKeySequence("Ctrl+,"), self.open_settings,
                     QAction.MenuRole.PreferencesRole)
        self._action("&Settings", "Generation settings panel", QKeySequence("Ctrl+G"), self.toggle_settings)
        self._action("&Settings", "Large model endpoint…", QKeySequence("Ctrl+Shift+E"), self.configure_endpoint)
        self._action("&Settings", "Measure the small model's threads again", None, self.measure_threads)
        self.offline_action = self._action("&Settings", "Work offline", QKeySequence("Ctrl+Shift+F"),
                                           self._on_offline_toggled)
        self.offline_action.setCheckable(True)
        self._action("&Help", "Show log folder", None, self.show_log_folder)  # stays in Help on macOS too
        self._action("&Help", "About LM Scales", None, self.about, QAction.MenuRole.AboutRole)

    # -- actions ---------------------------------------------------------------------------------------
    def task_input(self) -> TaskInput:
        """What the task panel holds now, as the session takes it; `TaskInputError` for unusable input."""
        return self.tasks.task_input(self.generation.system_prompt_for(self.tasks.current_task) or None)

    def generation_params(self) -> GenerationParams:
        return self.generation.params()

    def send(self, sides: tuple[str, ...]) -> None:
        if self.running:
            return
        if not self.tasks.has_text():
            self._show_problem("Type or paste some text first.")
            return
        available = tuple(side for side in sides if self.session.available(side))
        if not available:
            self._show_problem("Neither model is ready yet." if len(sides) > 1 else "That model is not ready.")
            return
        try:
            task_input = self.task_input()
            self.submit(task_input, self.generation_params(), available)
        except (TaskInputError, SessionBusyError, ValueError) as error:
            self._show_problem(str(error))
            return
        if task_input.task == "chat":
            self.tasks.chat_input.clear()
        self._update_actions()

    def submit(self, task_input: TaskInput, params: GenerationParams, sides: tuple[str, ...],
               mode: RunMode | None = None) -> str:
        """Run `task_input` on `sides`, in `mode` or else the run mode the generation panel says."""
        if mode is None:
            mode = "sequential" if self.generation.sequential else "parallel"
        return self.bridge.submit(task_input, params, sides, mode)

    def send_again(self, trial: Trial) -> None:
        """Run a past comparison's input again, with its parameters, on the sides it ran on that are ready."""
        if self.running:
            self._show_problem("A comparison is running; send again when it has finished.")
            return
        wanted = tuple(result.side for result in trial.sides if result.skipped is None) or \
            tuple(result.side for result in trial.sides)
        ready = tuple(side for side in wanted if self.session.available(side))
        if not ready:
            self._show_problem("The sides of that comparison are not ready now.")
            return
        try:
            self.submit(trial.input, trial.params, ready, trial.mode)  # matched as it was: same run mode too
        except (SessionBusyError, ValueError) as error:
            self._show_problem(str(error))
            return
        left_out = [self.session.labels.get(side, side) for side in wanted if side not in ready]
        if left_out:
            self._show_problem(f"Sent again without the {' and '.join(left_out).lower()} side (not ready now).")
        self._update_actions()

    def close_welcome(self) -> None:
        """Close the welcome for good: the setting remembers it (Settings › General brings it back)."""
        self.settings.store.replace(self.settings.settings.with_value("show_welcome", False))
        self.settings.save()

    def _show_welcome(self) -> None:
        shown = self._welcome_place and self.settings.settings.show_welcome
        self.panes["large"].set_welcome(self.welcome if shown else None)

    def stop(self) -> None:
        self.bridge.cancel()

    def evaluate(self) -> None:
        """Repeated A/B runs of an evaluation set on both sides, with scores and a report (a modal dialog: the
        panes show each item as it runs)."""
        if self.running:
            self._show_problem("A comparison is running; stop it first.")
            return
        dialog = EvalDialog(self.session, self.generation_params(), self)
        dialog.exec()
        dialog.deleteLater()

    def new_chat(self) -> None:
        self.session.new_chat()
        for pane in self.panes.values():
            pane.reset()
            pane.status.setText("New chat.")
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

    def _apply_threads(self, values: LocalEngineSettings, choose: bool = True) -> None:
        """The threads settings into every local engine: a number set by hand, or the measured table's choice
        by the preference; the adaptation to load and the prompt cache from the next run on."""
        policy = ThreadPolicy(self._thread_store, cast(Preference, values.threads_preference), values.measure_threads)
        for side, loader in self.loaders.items():
            engine = loader.engine
            engine.reuse_prompt_cache = values.reuse_prompt_cache
            engine.adapt_threads = values.adapt_threads
            loader.policy = None if values.threads else policy
            if not choose or engine.model is None:
                continue
            if values.threads:
                loader.when_idle(functools.partial(self._set_threads_by_hand, side, values.threads))
            else:
                loader.choose()

    def _set_threads_by_hand(self, side: str, threads: int) -> None:
        engine = self.loaders[side].engine
        engine.set_threads(threads, reason=f"{describe_threads(threads)} (set in the settings)")
        self._on_threads_chosen(side, engine.model)

    def measure_threads(self) -> None:
        """Measure the small model's thread table again (from the settings, or the Run menu)."""
        if self.running:
            self._show_problem("A comparison is running; measure the threads when it has finished.")
            return
        loader = self.loaders["small"]
        if loader.engine.model is None:
            self._show_problem("No small model is loaded: nothing to measure.")
            return
        if loader.policy is None:
            self._show_problem("The threads are set by hand in the settings; clear that number to use the "
                               "measured table.")
            return
        if loader.busy:
            self._show_problem("The threads will be measured once the small model is ready.")
        loader.measure_again()

    def _on_threads_chosen(self, side: str, model: LoadedModel | None) -> None:
        if model is None:
            return
        self.panes[side].model_card.setText(local_model_card(model))
        self.panes[side].status.setText(f"Threads: {model.threads_reason or describe_threads(model.n_threads)}.")

    def _apply_watchdog(self, settings: Settings) -> None:
        for loader in self.loaders.values():
            loader.engine.watchdog_seconds = settings.local_engine.watchdog_seconds

    def open_large_model(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open a GGUF model for the large side", "",
                                              "GGUF models (*.gguf);;All files (*)")
        if path:
            self.load_model(path, side="large")

    def load_model(self, path: str, n_ctx: int | None = None, n_threads: int | None = None,
                   side: str = "small") -> bool:
        """Load a GGUF into a slot's local engine in the background; the large slot gets one of its own, so
        two models on this CPU can be compared fully offline."""
        if self.running:
            self._show_problem("A comparison is running; stop it first, then load again.")
            return False
        if side not in self.loaders:
            self.loaders[side] = ModelLoader(
                LocalEngine(watchdog_seconds=self.settings.settings.local_engine.watchdog_seconds), self)
            self._watch_loader(side)
            self._apply_threads(self.settings.settings.local_engine, choose=False)
        loader = self.loaders[side]
        if not loader.load(path, n_ctx, n_threads):
            self._show_problem("That model is busy loading; wait for it, then load again.")
            return False
        self.panes[side].status.setText("Loading the model…")
        return True

    def configure_endpoint(self) -> None:
        self.settings.configure_endpoint()

    def open_settings(self) -> None:
        self.settings.open_dialog()

    def _on_remote_setup(self) -> None:
        if self.settings.offline and self.session.engines.get("large") is None:
            self.settings.set_offline(False)
        else:
            self.configure_endpoint()

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
        if self.running:
            # Going offline (or a new endpoint) mid-run: stop the stream now, switch when the run has ended.
            self._pending_endpoint = (endpoint, options, placeholder)
            self.bridge.cancel("large")
            return
        self._pending_endpoint = None
        large = self.loaders.get("large")
        if large is not None and large.engine.model is not None and endpoint is None and placeholder is None:
            return  # the large side is a GGUF on this CPU: no endpoint needed, offline or not
        self.endpoint = endpoint
        pane = self.panes["large"]
        if endpoint is None:
            self.session.set_engine("large", None)
            pane.model_card.setText("<i>off</i>" if placeholder else "<i>not set up</i>")
            message, button = placeholder or (NO_ENDPOINT, "Set up the large model…")
            pane.show_placeholder(message, button)
            self._welcome_place = placeholder is None
            self._show_welcome()
            pane.set_label(self.session.labels["large"])
        else:
            self.session.set_engine("large", RemoteEngine(endpoint, options or self.settings.remote_options(),
                                                          self.settings.parameter_memory))
            pane.model_card.setText(remote_model_card(endpoint))
            pane.hide_placeholder()
            self._welcome_place = False
            pane.set_label(self.session.labels["large"], "remote", endpoint.is_loopback)
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
        # only a remote model is sent the effort: a GGUF on this CPU ignores it, whatever its name
        self.generation.show_thinking_for(info.model for slot in ("small", "large")
                                          if (info := self.session.info(slot)) is not None and info.kind == "remote")
        running = self.running or any(loader.busy for loader in self.loaders.values())
        has_text = self.tasks.has_text()
        local_ok = self.session.available("small")
        remote_ok = self.session.available("large")
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

    def _on_side_started(self, side: str, event: SideStarted) -> None:
        self._awaiting_first.add(side)
        self.resources.mark(side, "sent", event.at)

    def _on_deltas(self, side: str, deltas: list[TextDelta]) -> None:
        if side in self._awaiting_first and deltas:
            self._awaiting_first.discard(side)
            self.resources.mark(side, "first token", deltas[0].timestamp)

    def _on_side_ended(self, side: str, result: SideResult) -> None:
        self._awaiting_first.discard(side)
        if result.skipped is None:
            self.resources.mark(side, "finished", time.perf_counter())
        if side == "large" and result.error is not None:
            self.settings.on_remote_failed(result.error)

    def _on_trial_ended(self, trial: Trial) -> None:
        self.bottom.setTabText(1, f"History ({len(self.history_store)})")
        self.resources.end_run()
        self.card.show_trial(trial)
        if self.bottom.currentWidget() is not self.history:
            self.bottom.setCurrentWidget(self.card)
        if self._pending_endpoint is not None:
            self.set_endpoint(*self._pending_endpoint)
        self._update_actions()

    def _on_model_loaded(self, side: str, model: LoadedModel) -> None:
        engine = self.loaders[side].engine
        if side == "large":
            self.session.set_engine("large", engine)
            self.endpoint = None
            self.panes["large"].hide_placeholder()
        pane = self.panes[side]
        pane.set_label(self.session.labels[side], "local")
        pane.model_card.setText(local_model_card(model))
        pane.status.setText(f"Model loaded in {model.load_seconds:.2f} s.")
        log.info("%s side: model %s loaded in %.2f s", side, model.display_name, model.load_seconds)
        self._update_actions()

    def _on_model_load_failed(self, side: str, message: str) -> None:
        self.panes[side].status.setText(f"⚠ {message}")
        if self.loaders[side].engine.model is None:
            self.panes[side].model_card.setText("<i>no model loaded</i>")
        self._update_actions()

    def _show_problem(self, message: str) -> None:
        self.hint.setText(message)
        self.statusBar().showMessage(message, 8000)

    def start_sampling(self) -> None:
        self.sampler.start()
        self.resources.start()

    def shutdown(self, timeout: float = 10.0) -> None:
        """Stop any run, wait for it, and close the engines the window made (the large slot's GGUF)."""
        self.bridge.cancel()
        self.bridge.wait(timeout)
        for loader in self.loaders.values():
            loader.wait(timeout)
        large = self.loaders.get("large")
        if large is not None:
            large.engine.close()

    def closeEvent(self, event: QCloseEvent) -> None:  # Qt override
        self.bridge.cancel()
        self.settings.save_on_close()
        self.resources.stop()
        self.sampler.stop()
        self.presenter.dispose()
        super().closeEvent(event)
