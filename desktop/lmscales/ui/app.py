"""Start the GUI: logs, settings, the local engine in its child process, the remote engine if set up."""

from __future__ import annotations

import logging
import os
import sys

from PySide6.QtWidgets import QApplication

from lmscales.core import offline
from lmscales.core.endpoints import Endpoint
from lmscales.core.engines.local import LocalEngine
from lmscales.core.logs import setup_logging
from lmscales.core.settings import LoadResult, Settings, load_settings, settings_path
from lmscales.ui.bridge import EngineBridge, LocalEngineBridge
from lmscales.ui.crash import CrashReporter
from lmscales.ui.main_window import MainWindow
from lmscales.ui.theme import apply_theme

log = logging.getLogger(__name__)


def build_window(
    model: str | None = None,
    threads: int | None = None,
    n_ctx: int | None = None,
    endpoint: Endpoint | None = None,
    settings: LoadResult | None = None,
    persist: bool = False,
    offline_mode: bool = False,
) -> tuple[MainWindow, LocalEngine]:
    """The window with its engines, the model loading in the background (used by the app and the benches).

    Command-line values (`model`, `threads`, `n_ctx`, `endpoint`) apply to this session only."""
    loaded = settings or LoadResult(Settings())
    current = loaded.settings
    if model is not None:
        current = current.with_value("local_engine.model_path", model)
    if threads is not None:
        current = current.with_value("local_engine.threads", threads)
    if n_ctx is not None:
        current = current.with_value("local_engine.n_ctx", n_ctx)
    if offline_mode:
        current = current.with_value("offline", True)
    app = QApplication.instance()
    if isinstance(app, QApplication):
        apply_theme(app, current.theme)  # before the widgets exist: styled widgets keep the palette they got
    engine = LocalEngine()
    window = MainWindow(
        LocalEngineBridge(engine),
        EngineBridge(None),
        settings=current,
        settings_path=settings_path() if persist else None,
        session_endpoint=endpoint,
    )
    window.settings.apply(current, first=True)
    window.start_sampling()
    if loaded.notice:
        window.statusBar().showMessage(loaded.notice, 30_000)
    return window, engine


def run_app(
    model: str | None = None,
    threads: int | None = None,
    n_ctx: int | None = None,
    base_url: str | None = None,
    remote_model: str | None = None,
    theme: str | None = None,
    offline_mode: bool = False,
) -> int:
    log_file = setup_logging()
    if offline_mode:
        offline.enable()  # before anything else runs
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setApplicationName("LM Scales")
    app.setApplicationDisplayName("LM Scales")
    loaded = load_settings()
    if theme is not None:
        loaded = LoadResult(loaded.settings.with_value("theme", theme), loaded.notice, loaded.backup)
    endpoint = None
    if base_url and remote_model:
        key = os.environ.get("LMSCALES_API_KEY") or os.environ.get("OPENAI_API_KEY") or None
        endpoint = Endpoint(base_url=base_url, model=remote_model, api_key=key)
    window, engine = build_window(model, threads, n_ctx, endpoint, loaded, persist=True, offline_mode=offline_mode)
    crashes = CrashReporter(window)
    crashes.install()
    log.info("LM Scales started; log file %s", log_file)
    window.show()
    try:
        return app.exec()
    finally:
        window.controller.stop()
        for bridge in (window.local_bridge, window.remote_bridge):
            bridge.wait()
        engine.close()
