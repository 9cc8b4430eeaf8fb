"""Each part of the window listens for the settings it uses (qutebrowser's `config.change_filter` is the
pattern): the generation panel, the resource monitor and its graphs, the theme, the prices and the GGUF engines
in the workspace, the history. `wire_settings` applies the current values once, then subscribes each part."""

from __future__ import annotations

from PySide6.QtWidgets import QApplication

from lmscales.core.resource_monitor import ResourceMonitor
from lmscales.core.settings import Settings, SettingsStore
from lmscales.core.workspace import Workspace
from lmscales.ui.generation_panel import GenerationPanel
from lmscales.ui.history_view import HistoryView
from lmscales.ui.resource_panel import ResourcePanel
from lmscales.ui.slot_panes import SlotPanes
from lmscales.ui.theme import apply_theme
from lmscales.ui.thread_control import ThreadControl


def wire_settings(store: SettingsStore, *, workspace: Workspace, generation: GenerationPanel, monitor: ResourceMonitor,
                  resources: ResourcePanel, history: HistoryView, slot_panes: SlotPanes,
                  threads: ThreadControl) -> None:
    def show_monitor(settings: Settings) -> None:
        values = settings.sampler
        monitor.set_rate(values.rate_hz)
        monitor.set_window(values.window_seconds)
        monitor.watts_per_core = values.watts_per_core
        resources.show_rate(values.rate_hz)
        resources.show_window(values.window_seconds)

    def use_theme(settings: Settings) -> None:
        app = QApplication.instance()
        if isinstance(app, QApplication):
            apply_theme(app, settings.theme)

    def use_electricity(settings: Settings) -> None:
        workspace.set_electricity(settings.energy.electricity_zone, settings.energy.electricity_price)

    def use_prices(settings: Settings) -> None:
        workspace.set_price_overrides((price.model, price.input_per_million, price.output_per_million)
                                      for price in settings.price_overrides)

    settings = store.current
    generation.show_settings(settings)
    show_monitor(settings)
    use_prices(settings)
    use_electricity(settings)
    history.set_keep(settings.keep_history)
    workspace.never_remote = settings.never_remote
    threads.apply(settings.local_engine, choose=False)  # the theme was applied before the widgets were made
    store.subscribe(("generation", "run_mode", "system_prompts"), lambda change: generation.show_settings(change.new))
    store.subscribe("sampler", lambda change: show_monitor(change.new))
    store.subscribe("theme", lambda change: use_theme(change.new))
    store.subscribe("price_overrides", lambda change: use_prices(change.new))
    store.subscribe("energy", lambda change: use_electricity(change.new))
    store.subscribe("keep_history", lambda change: history.set_keep(change.new.keep_history))
    store.subscribe("never_remote", lambda change: setattr(workspace, "never_remote", change.new.never_remote))
    store.subscribe("show_welcome", lambda change: slot_panes.show_welcome())
    store.subscribe("local_engine.watchdog_seconds", lambda change: workspace.configure_local(change.new.local_engine))
