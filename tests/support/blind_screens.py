"""The screenshots of a blind comparison for docs/: the real window in Run › Blind comparison after a real
comparison (the bundled model on this CPU against the same model behind llama-cpp-python's server on this
computer), before the vote (A and B alike) and after it (the reveal and the result card); light and dark.

Run on an X server (tests/support/xvfb.py starts one), with QT_QPA_PLATFORM=xcb:
`python -m tests.support.blind_screens OUTDIR --theme light|dark`. Pictures are taken once the window has shown
what it waits for (the trial's end, the vote), never after a sleep.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from PySide6.QtWidgets import QApplication

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
from tests.support.egress_screens import painted, photograph, wait_for

INPUT = "Give one tip for a first visit to Lisbon."


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("outdir", type=Path)
    parser.add_argument("--theme", choices=("light", "dark"), default="light")
    args = parser.parse_args()
    app = QApplication(sys.argv[:1])
    apply_theme(app, args.theme)
    model = verify(load_manifest())
    with LlamaServer(model, threads=1) as server:
        workspace = Workspace(monitor=ResourceMonitor())
        workspace.set_slot("small", GgufSpec(str(model), n_ctx=2048, threads=1))
        settings = Settings().with_value("theme", args.theme).with_value("show_welcome", False)
        window = MainWindow(workspace, settings=settings)
        window.resize(1400, 880)
        window.move(0, 0)
        window.show()
        window.load_model(str(model))
        wait_for(window.loaders["small"].loaded, app)
        window.set_endpoint(Endpoint(server.base_url, SERVER_MODEL), RemoteOptions())
        window.generation.max_tokens.setValue(40)
        window.generation.temperature.setValue(0.0)
        window.blind.set_enabled(True)
        window.blind.seeds = iter([1])
        window.tasks.chat_input.setPlainText(INPUT)
        window.send(("small", "large"))
        wait_for(window.bridge.trialEnded, app)
        painted(window, app)
        args.outdir.mkdir(parents=True, exist_ok=True)
        photograph(window, args.outdir / f"blind-before-{args.theme}.png")
        window.blind.vote("B")
        painted(window, app)
        photograph(window, args.outdir / f"blind-after-{args.theme}.png")
        window.shutdown()
        window.close()
        workspace.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
