"""The comparison window: it composes the task panel, generation settings, the two panes, resource graphs, history
and "Which model?", and connects them. The `Workspace` decides what can run; the window asks it and shows events."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import QApplication, QFileDialog, QMainWindow, QWidget

from lmscales.core.endpoints import Endpoint
from lmscales.core.engines.factory import EndpointSpec, GgufSpec
from lmscales.core.resource_monitor import ResourceMonitor
from lmscales.core.session import SLOTS, SessionBusyError
from lmscales.core.settings import Settings
from lmscales.core.tasks import TaskInputError
from lmscales.core.trial import GenerationParams, RunMode, SideResult, TaskInput, Trial
from lmscales.core.workspace import Readiness, SlotChanged, TrialNotKept, Workspace, WorkspaceEvent
from lmscales.ui import gc_guard
from lmscales.ui.background import run_on_main
from lmscales.ui.blind_mode import attach_blind_mode
from lmscales.ui.decision_view import attach_decision_view
from lmscales.ui.egress_view import EgressStatus
from lmscales.ui.eval_dialog import EvalDialog
from lmscales.ui.generation_panel import GenerationPanel
from lmscales.ui.history_notice import HistoryNotice
from lmscales.ui.history_view import HistoryView
from lmscales.ui.model_loader import ModelLoader
from lmscales.ui.presenter import Presenter
from lmscales.ui.replay import ReplayController
from lmscales.ui.resource_panel import ResourcePanel
from lmscales.ui.result_card import ResultCard
from lmscales.ui.run_marks import RunMarks
from lmscales.ui.send_bar import SendBar
from lmscales.ui.send_hold import ask_before_sending
from lmscales.ui.session_bridge import SessionBridge
from lmscales.ui.settings_controller import SettingsController
from lmscales.ui.settings_wiring import wire_settings
from lmscales.ui.side_pane import SidePane
from lmscales.ui.slot_panes import SlotPanes
from lmscales.ui.task_inputs import TaskPanel
from lmscales.ui.task_request import generation_params, task_input
from lmscales.ui.thread_control import ThreadControl
from lmscales.ui.welcome import Welcome
from lmscales.ui.window_layout import bottom_tabs, main_splitter
from lmscales.ui.window_menus import WindowMenus
from lmscales.ui.window_signals import connect_welcome_and_settings

if TYPE_CHECKING:
    from lmscales.core.engines.remote import RemoteOptions

GGUF_FILTER = "GGUF models (*.gguf);;All files (*)"
SEND_CHOICES: tuple[tuple[str, ...], ...] = (SLOTS, ("small",), ("large",))  # both, small only, large only


class MainWindow(QMainWindow):
    """The window over `workspace`: the small slot holds a GGUF (its model loads in the background); the large
    slot gets an endpoint from the settings, or a second GGUF file (File menu). The caller closes the
    workspace after `shutdown`."""

    def __init__(
        self,
        workspace: Workspace,
        settings: Settings | None = None,
        settings_path: Path | None = None,
        session_endpoint: Endpoint | None = None,
        session_values: dict[str, tuple[object, object]] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        app = QApplication.instance()
        if app is not None:  # cycles (Qt objects among them) are collected on this thread, never a worker's
            gc_guard.install(app)
        self.setWindowTitle("LM Scales")
        if workspace.monitor is None:
            workspace.attach_monitor(ResourceMonitor())
        assert workspace.monitor is not None
        self.workspace = workspace
        self.monitor, self.session = workspace.monitor, workspace.session
        self.history_store, self.recorder = workspace.history, workspace.recorder
        self.bridge = SessionBridge(self.session, self)
        self.loaders = {side: ModelLoader(workspace, side, self) for side in SLOTS}

        self.tasks = TaskPanel()
        self.generation = GenerationPanel()
        self.generation.setVisible(False)
        self.send_bar = bar = SendBar()  # its parts below, as tests and benches name them
        self.hint, self.send_button, self.stop_button = bar.hint, bar.send_button, bar.stop_button
        self.local_only_button, self.remote_only_button = bar.local_only_button, bar.remote_only_button
        self.panes = {side: SidePane(side, self.bridge) for side in SLOTS}
        self.replay = ReplayController(self.workspace, self.bridge, self.panes, self)
        self.presenter = Presenter(self.session, self.bridge, self.monitor, submit=self.submit, stop=self.stop,
                                   recorder=self.recorder, replay=self.replay,
                                   loading=lambda side: self.loaders[side].busy, parent=self)
        self.history = HistoryView(self.history_store)
        self.history_notice = HistoryNotice(self.history_store)  # skipped lines, comparisons not kept
        self.egress_status = EgressStatus(self.bridge)  # what this session sent beyond this computer
        for part in (self.history_notice, self.egress_status):
            self.statusBar().addPermanentWidget(part)
        self.resources = ResourcePanel(self.monitor)
        # A replay shows its recorded samples in both graphs (the presenter's follows it too), not live ones.
        self.replay.sourceChanged.connect(self.resources.set_source)
        self.marks = RunMarks(self.bridge, self.resources, self)
        self.card = ResultCard()
        self.bottom = bottom_tabs(self.resources, self.history, self.card)
        self.welcome = Welcome()
        self.splitter = main_splitter((self.tasks, self.send_bar, self.generation), self.panes["small"],
                                      self.panes["large"], self.bottom)
        self.setCentralWidget(self.splitter)
        self.settings = SettingsController(settings or Settings(), settings_path, session_endpoint, session_values,
                                           dialog_parent=self, parent=self)
        workspace.parameter_memory = self.settings.parameter_memory  # remembered with the settings
        self.slot_panes = SlotPanes(workspace, self.panes, self.loaders, self.welcome,
                                    lambda: self.settings.settings.show_welcome, self)
        self.threads = ThreadControl(workspace, self.loaders, self.slot_panes, lambda: self.running,
                                     self._show_problem, self)
        self.menus = WindowMenus(self, self)
        self._menus, self.replay_menu = self.menus.menus, self.menus.replay_menu
        self.presenter_action, self.offline_action = self.menus.presenter_action, self.menus.offline_action
        self.decision, self.blind = attach_decision_view(self), attach_blind_mode(self)  # Run › Blind comparison
        self.resize(1280, 860)
        self._connect()
        self._unsubscribe = workspace.subscribe(lambda event: run_on_main(lambda: self._on_workspace(event)))
        self.destroyed.connect(lambda *_: self._unsubscribe())
        wire_settings(self.settings.store, workspace=workspace, generation=self.generation, monitor=self.monitor,
                      resources=self.resources, history=self.history, slot_panes=self.slot_panes, threads=self.threads)
        self.set_endpoint(None)
        self.slot_panes.show_start()
        self._on_task_changed()
        self.tasks.chat_input.setFocus()

    def _connect(self) -> None:
        bar = self.send_bar
        for button, sides in zip((bar.send_button, bar.local_only_button, bar.remote_only_button), SEND_CHOICES,
                                 strict=True):
            button.clicked.connect(lambda _=False, chosen=sides: self.send(chosen))
        bar.stop_button.clicked.connect(self.stop)
        bar.settings_toggle.toggled.connect(self.generation.setVisible)
        self.tasks.changed.connect(self._on_task_changed)
        self.tasks.newChatRequested.connect(self.new_chat)
        self.bridge.runningChanged.connect(lambda _running: self._update_actions())
        self.bridge.sideEnded.connect(self._on_side_ended)
        self.bridge.trialEnded.connect(self._on_trial_ended)
        self.panes["small"].setupRequested.connect(lambda: self.open_model())
        self.panes["large"].setupRequested.connect(self._on_remote_setup)
        for loader in self.loaders.values():
            loader.busyChanged.connect(lambda _busy: self._update_actions())
        # Space in presenter mode while the small model loads runs the step once it is ready (after a load).
        self.loaders["small"].loadFailed.connect(self.presenter.drop_queued)
        self.loaders["small"].busyChanged.connect(lambda busy: None if busy else self.presenter.run_queued())
        for source in (self.tasks, self.history, self.card, self.resources, self.replay, self.presenter):
            source.problem.connect(self._show_problem)
        self.history.sendAgainRequested.connect(self.send_again)
        connect_welcome_and_settings(self)
        self.replay_menu.bannerChanged.connect(self.presenter.set_banner)

    @property
    def running(self) -> bool:
        return self.bridge.running

    @property
    def endpoint(self) -> Endpoint | None:
        return self.workspace.endpoint("large")

    # -- actions ---------------------------------------------------------------------------------------
    def task_input(self) -> TaskInput:
        """What the task panel holds now, as the session takes it; `TaskInputError` for unusable input."""
        return task_input(self.tasks, self.generation)

    def generation_params(self) -> GenerationParams:
        return generation_params(self.generation)

    def send(self, sides: tuple[str, ...]) -> None:
        if self.running:
            return
        readiness = self.workspace.can_send(sides, has_text=self.tasks.has_text())
        if not readiness.ok:
            self._show_problem(readiness.reason or "")
            return
        try:
            request = self.task_input()
        except (TaskInputError, ValueError) as error:
            self._show_problem(str(error))
            return
        self.hold_dialog = ask_before_sending(self, self.workspace, readiness.sides, request,
                                              lambda sides: self._send_now(request, sides), self._show_problem)

    def _send_now(self, request: TaskInput, sides: tuple[str, ...]) -> None:
        try:
            self.submit(request, self.generation_params(), sides)
        except (TaskInputError, SessionBusyError, ValueError) as error:
            self._show_problem(str(error))
            return
        if request.task == "chat":
            self.tasks.chat_input.clear()
        self._update_actions()

    def submit(self, task_input: TaskInput, params: GenerationParams, sides: tuple[str, ...],
               mode: RunMode | None = None) -> str:
        """Run `task_input` on `sides`, in `mode` or else the run mode the generation panel says."""
        if mode is None:
            mode = self.generation.chosen_mode
        return self.bridge.submit(task_input, params, sides, mode)

    def send_again(self, trial: Trial) -> None:
        """Run a past comparison's input again, with its parameters, on the sides it ran on that are ready."""
        readiness = self.workspace.can_send_again(trial)
        if not readiness.ok or self.running:
            self._show_problem(readiness.reason or "A comparison is running; send again when it has finished.")
            return
        try:
            self.submit(trial.input, trial.params, readiness.sides, trial.mode)  # matched as it was: same mode too
        except (SessionBusyError, ValueError) as error:
            self._show_problem(str(error))
            return
        if readiness.reason:
            self._show_problem(readiness.reason)
        self._update_actions()

    def close_welcome(self) -> None:
        """Close the welcome for good: the setting remembers it (Settings › General brings it back)."""
        self.settings.store.replace(self.settings.settings.with_value("show_welcome", False))
        self.settings.save()

    def stop(self) -> None:
        self.bridge.cancel()

    def evaluate(self) -> None:
        """Repeated A/B runs of an evaluation set, with scores and a report (modal; the panes show each item)."""
        if self.running:
            self._show_problem("A comparison is running; stop it first.")
            return
        refused = self.workspace.remote_refused()  # fail closed: an evaluation runs both sides
        if refused:
            self._show_problem(refused)
            return
        dialog = EvalDialog(self.session, self.generation_params(), self, workspace=self.workspace)
        dialog.exec()
        dialog.deleteLater()

    def new_chat(self) -> None:
        self.session.new_chat()
        for pane in self.panes.values():
            pane.reset()
            pane.status.setText("New chat.")
        self.tasks.set_task("chat")
        self.tasks.chat_input.setFocus()

    def open_model(self, side: str = "small") -> None:
        title = "Open a GGUF model" + (" for the large side" if side == "large" else "")
        path, _ = QFileDialog.getOpenFileName(self, title, "", GGUF_FILTER)
        if path:
            self.load_model(path, side=side)

    def load_model(self, path: str, n_ctx: int | None = None, n_threads: int | None = None,
                   side: str = "small") -> bool:
        """Load a GGUF into a slot in the background; the large slot takes one too, so two models on this CPU
        can be compared fully offline."""
        if self.running:
            self._show_problem("A comparison is running; stop it first, then load again.")
            return False
        if not self.loaders[side].load(GgufSpec(path, n_ctx, n_threads)):
            self._show_problem("That model is busy loading; wait for it, then load again.")
            return False
        self.panes[side].status.setText("Loading the model…")
        return True

    def configure_endpoint(self) -> None:
        self.settings.configure_endpoint()

    def open_settings(self) -> None:
        self.settings.open_dialog()

    def _on_remote_setup(self) -> None:
        if self.settings.offline and self.workspace.engine("large") is None:
            self.settings.set_offline(False)
        else:
            self.configure_endpoint()

    def _on_offline_changed(self, offline: bool) -> None:
        self.offline_action.setChecked(offline)
        self.setWindowTitle("LM Scales — offline" if offline else "LM Scales")

    def set_endpoint(self, endpoint: Endpoint | None, options: RemoteOptions | None = None,
                     placeholder: tuple[str, str] | None = None) -> None:
        """The large side's endpoint (None: none, with `placeholder`'s words when offline), now or, during a
        run, once it has ended (that side is stopped now)."""
        if endpoint is None and placeholder is None and self.workspace.holds_gguf("large"):
            return  # the large side is a GGUF on this CPU: no endpoint needed, offline or not
        self.slot_panes.placeholder = placeholder
        spec = EndpointSpec(endpoint, options or self.settings.remote_options()) if endpoint is not None else None
        self.workspace.set_slot_when_idle("large", spec)

    # -- reactions -------------------------------------------------------------------------------------
    def _on_workspace(self, event: WorkspaceEvent) -> None:
        if isinstance(event, SlotChanged):
            self.slot_panes.show_slot(event.side, event.spec)
        elif isinstance(event, TrialNotKept):
            self._show_problem(event.reason)  # the history notice keeps it in sight
        self._update_actions()

    def _on_task_changed(self) -> None:
        self.generation.set_task(self.tasks.current_task)
        self._update_actions()

    def _update_actions(self) -> None:
        self.generation.show_thinking_for(self.workspace.remote_models())
        has_text = self.tasks.has_text()
        busy = next((side for side, loader in self.loaders.items() if loader.busy), None)  # a load, then its threads
        loading = Readiness((), f"The {self.workspace.label(busy or '').lower()} model is busy loading.")
        answers = {sides: self.workspace.can_send(sides, has_text=has_text) if busy is None else loading
                   for sides in SEND_CHOICES}
        self.send_bar.show_state(self.running, has_text, answers, self.workspace.ready_sides())

    def _on_side_ended(self, side: str, result: SideResult) -> None:
        if side == "large" and result.error is not None:
            self.settings.on_remote_failed(result.error)

    def _on_trial_ended(self, trial: Trial) -> None:
        self.workspace.apply_pending()
        self.bottom.setTabText(1, f"History ({len(self.history_store)})")
        self.card.show_trial(trial)
        if self.bottom.currentWidget() is not self.history:
            self.bottom.setCurrentWidget(self.card)
        self._update_actions()

    def _show_problem(self, message: str) -> None:
        self.hint.setText(message)
        self.statusBar().showMessage(message, 8000)

    def start_sampling(self) -> None:
        self.monitor.start()
        self.resources.start()

    def shutdown(self, timeout: float = 10.0) -> None:
        """Stop any run and wait for it and for the loads under way (the workspace's owner closes it)."""
        self.bridge.cancel()
        self.bridge.wait(timeout)
        for loader in self.loaders.values():
            loader.wait(timeout)

    def closeEvent(self, event: QCloseEvent) -> None:  # Qt override
        self.bridge.cancel()
        self.settings.save_on_close()
        self.resources.stop()
        self.monitor.stop()
        self.presenter.dispose()
        super().closeEvent(event)
