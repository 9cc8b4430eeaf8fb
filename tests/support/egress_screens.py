"""The screenshots of "what left this computer" for docs/: the real window after a real comparison (the bundled
model on this CPU against the same model behind llama-cpp-python's server on this computer), its status bar
saying what the session sent, and the large pane's "What was sent" dialog; in a light and a dark theme.

Run on an X server without a window manager (tests/support/xvfb.py starts one), with QT_QPA_PLATFORM=xcb:
`python -m tests.support.egress_screens OUTDIR --theme light|dark`. Each picture is taken with `xwd -id` once
the window has shown what it waits for (the trial's end, the dialog), never after a sleep.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from PySide6.QtCore import QEventLoop, QTimer
from PySide6.QtWidgets import QApplication, QWidget

from lmscales.bench.servers import SERVER_MODEL, LlamaServer
from lmscales.core.bundled_model import load_manifest, verify
from lmscales.core.endpoints import Endpoint
from lmscales.core.engines.factory import GgufSpec
from lmscales.core.engines.remote import RemoteOptions
from lmscales.core.resource_monitor import ResourceMonitor
from lmscales.core.settings import Settings
from lmscales.core.workspace import Workspace
from lmscales.ui.main_window import MainWindow
from lmscales.ui.theme import apply_theme

INPUT = "The train to the airport leaves every twenty minutes from platform 4."


def wait_for(signal: object, app: QApplication, timeout_ms: int = 180_000) -> list[object]:
    loop = QEventLoop()
    got: list[object] = []

    def done(*args: object) -> None:
        got.extend(args)
        loop.quit()

    signal.connect(done)  # type: ignore[attr-defined]
    QTimer.singleShot(timeout_ms, loop.quit)  # a safety net only: the signal ends the wait
    loop.exec()
    signal.disconnect(done)  # type: ignore[attr-defined]
    if not got:
        raise SystemExit("timed out waiting for the window")
    return got


def painted(widget: QWidget, app: QApplication) -> None:
    """Until `widget` has been laid out and painted: two turns of the event loop after it is exposed."""
    widget.repaint()
    for _ in range(3):
        app.processEvents()
        loop = QEventLoop()
        QTimer.singleShot(0, loop.quit)
        loop.exec()


def photograph(widget: QWidget, path: Path) -> None:
    xwd = subprocess.run(["xwd", "-id", str(int(widget.winId())), "-silent"], capture_output=True, check=True,
                         timeout=60)
    subprocess.run(["convert", "xwd:-", "-strip", "-define", "png:compression-level=9", str(path)],
                   input=xwd.stdout, check=True, timeout=60)
    print(path, flush=True)


@contextmanager
def compared(theme: str, send: Callable[[MainWindow], None], *, alias: str = SERVER_MODEL, host: str = "127.0.0.1",
             size: tuple[int, int] = (1400, 880), sampling: bool = False) -> Iterator[tuple[QApplication, MainWindow]]:
    """The real window in `theme`, its small side the bundled model on this CPU, its large side the same model
    behind llama-cpp-python's server (named `alias`, reached as `host`), after `send` started a comparison and it
    ended (greedy, short answers); closed after."""
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    apply_theme(app, theme)
    model = verify(load_manifest())
    with LlamaServer(model, threads=1, alias=alias) as server:
        workspace = Workspace(monitor=ResourceMonitor())
        workspace.set_slot("small", GgufSpec(str(model), n_ctx=2048, threads=1))
        settings = Settings().with_value("theme", theme).with_value("show_welcome", False)
        window = MainWindow(workspace, settings=settings)
        window.resize(*size)
        window.move(0, 0)
        window.show()
        if sampling:
            window.start_sampling()  # as the app does: the graphs' samples, and a server here's machine energy
        window.load_model(str(model))
        wait_for(window.loaders["small"].loaded, app)
        window.set_endpoint(Endpoint(server.base_url.replace("127.0.0.1", host), alias), RemoteOptions())
        window.generation.temperature.setValue(0.0)
        send(window)
        wait_for(window.bridge.trialEnded, app)
        painted(window, app)
        try:
            yield app, window
        finally:
            window.shutdown()
            window.close()
            workspace.close()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("outdir", type=Path)
    parser.add_argument("--theme", choices=("light", "dark"), default="light")
    args = parser.parse_args()

    def send(window: MainWindow) -> None:
        window.generation.max_tokens.setValue(48)
        window.tasks.set_task("translate")
        window.tasks.translate_input.setPlainText(INPUT)
        window.send(("small", "large"))

    with compared(args.theme, send) as (app, window):
        args.outdir.mkdir(parents=True, exist_ok=True)
        photograph(window, args.outdir / f"egress-window-{args.theme}.png")
        dialog = window.panes["large"].show_what_was_sent()
        assert dialog is not None
        dialog.move(40, 40)
        painted(dialog, app)
        photograph(dialog, args.outdir / f"egress-request-{args.theme}.png")
        dialog.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
