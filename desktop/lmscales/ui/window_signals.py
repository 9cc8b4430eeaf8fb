"""What the welcome and the settings controller ask of the window, connected in one place (the window's own
widgets are connected in `MainWindow._connect`)."""

from __future__ import annotations

from typing import Any, Protocol

from lmscales.core.workspace import Workspace
from lmscales.ui.generation_panel import GenerationPanel
from lmscales.ui.settings_controller import SettingsController
from lmscales.ui.side_pane import SidePane
from lmscales.ui.slot_panes import SlotPanes
from lmscales.ui.task_inputs import TaskPanel
from lmscales.ui.thread_control import ThreadControl
from lmscales.ui.welcome import Welcome


class WindowParts(Protocol):
    """What of the window these connections use (the window itself; a Protocol so this module does not import
    it back)."""

    welcome: Welcome
    settings: SettingsController
    generation: GenerationPanel
    tasks: TaskPanel
    slot_panes: SlotPanes
    threads: ThreadControl
    workspace: Workspace
    panes: dict[str, SidePane]

    def configure_endpoint(self) -> None: ...
    def open_model(self, side: str = "small") -> None: ...
    def close_welcome(self) -> None: ...
    def _show_problem(self, message: str) -> None: ...
    def _on_offline_changed(self, offline: bool) -> None: ...
    def set_endpoint(self, endpoint: Any, options: Any = None, placeholder: tuple[str, str] | None = None
                     ) -> None: ...
    def load_model(self, path: str, n_ctx: int | None = None, n_threads: int | None = None,
                   side: str = "small") -> bool: ...


def connect_welcome_and_settings(window: WindowParts) -> None:
    welcome = window.welcome
    welcome.apiRequested.connect(window.configure_endpoint)
    welcome.serverRequested.connect(window.configure_endpoint)
    welcome.ggufRequested.connect(lambda: window.open_model("large"))
    welcome.exampleRequested.connect(lambda: window.tasks.load_example())
    welcome.closed.connect(window.close_welcome)
    settings = window.settings
    settings.capture_window = window.generation.fold_into
    settings.notice.connect(window._show_problem)
    settings.offlineChanged.connect(window._on_offline_changed)
    settings.endpointChanged.connect(lambda endpoint, placeholder: window.set_endpoint(
        endpoint, placeholder=placeholder))
    settings.modelRequested.connect(lambda path, n_ctx, threads: window.load_model(path, n_ctx, threads))
    settings.modelProblem.connect(window.slot_panes.show_model_problem)
    settings.threadsSettingChanged.connect(window.threads.apply)
    settings.measureRequested.connect(window.threads.measure_again)
    settings.thread_table = lambda: window.workspace.thread_table("small")
    settings.keyNote.connect(window.panes["large"].status.setText)
