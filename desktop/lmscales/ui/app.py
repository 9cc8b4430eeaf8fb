"""Start the GUI: a QApplication, the local engine in its child process, the remote engine if set up."""

from __future__ import annotations

import os
import sys

from PySide6.QtWidgets import QApplication

from lmscales.core.endpoints import Endpoint
from lmscales.core.engines.local import LocalEngine
from lmscales.core.model_files import ModelFileError, load_manifest, verify
from lmscales.ui.bridge import EngineBridge, LocalEngineBridge
from lmscales.ui.main_window import MainWindow
from lmscales.ui.theme import apply_theme


def build_window(
    model: str | None = None,
    threads: int | None = None,
    n_ctx: int = 4096,
    endpoint: Endpoint | None = None,
) -> tuple[MainWindow, LocalEngine]:
    """The window with its engines, the model loading in the background (used by the app and the bench)."""
    engine = LocalEngine(n_ctx=n_ctx, n_threads=threads)
    window = MainWindow(LocalEngineBridge(engine), EngineBridge(None))
    window.set_endpoint(endpoint)
    window.start_sampling()
    try:
        path = model or str(verify(load_manifest()))
    except ModelFileError as error:
        window.panes["local"].status.setText(f"⚠ {error}")
        window.panes["local"].model_card.setText("<i>no model loaded</i>")
    else:
        window.load_model(path)
    return window, engine


def run_app(
    model: str | None = None,
    threads: int | None = None,
    n_ctx: int = 4096,
    base_url: str | None = None,
    remote_model: str | None = None,
    theme: str = "system",
) -> int:
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setApplicationName("LM Scales")
    app.setApplicationDisplayName("LM Scales")
    apply_theme(app, theme)
    endpoint = None
    if base_url and remote_model:
        key = os.environ.get("LMSCALES_API_KEY") or os.environ.get("OPENAI_API_KEY") or None
        endpoint = Endpoint(base_url=base_url, model=remote_model, api_key=key)
    window, engine = build_window(model, threads, n_ctx, endpoint)
    window.show()
    try:
        return app.exec()
    finally:
        window.controller.stop()
        for bridge in (window.local_bridge, window.remote_bridge):
            bridge.wait()
        engine.close()
