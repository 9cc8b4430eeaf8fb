"""Start the GUI: a QApplication, the local engine in its child process, the window."""

from __future__ import annotations

import sys

from PySide6.QtWidgets import QApplication

from lmscales.core.engines.local import LocalEngine
from lmscales.core.model_files import ModelFileError, load_manifest, verify
from lmscales.ui.bridge import LocalEngineBridge
from lmscales.ui.main_window import MainWindow


def run_app(model: str | None = None, threads: int | None = None, n_ctx: int = 4096) -> int:
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("LM Scales")
    engine = LocalEngine(n_ctx=n_ctx, n_threads=threads)
    bridge = LocalEngineBridge(engine)
    window = MainWindow(bridge)
    window.show()
    try:
        path = model or str(verify(load_manifest()))
    except ModelFileError as error:
        window.status_line.setText(str(error))
        window.model_card.setText("No small model loaded.")
    else:
        bridge.load(path)
    try:
        return app.exec()
    finally:
        bridge.cancel()
        bridge.wait()
        engine.close()
