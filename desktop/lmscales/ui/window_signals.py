"""What the welcome and the settings controller ask of the window, connected in one place (the window's own
widgets are connected in `MainWindow._connect`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lmscales.ui.main_window import MainWindow


def connect_welcome_and_settings(window: MainWindow) -> None:
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
