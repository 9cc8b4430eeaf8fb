"""The screenshot of the result card's energy row with both sides, for docs/window-card-energy.png: the real
window after a real comparison of the bundled model on this CPU against the same model behind llama-cpp-python's
server on loopback, answering to the name gpt-4o-mini (a model EcoLogits knows).

A server reached as 127.0.0.1 is on this computer, so its energy is this machine's and EcoLogits is not asked.
`--host NAME` reaches the same loopback server by a host name that resolves to this computer (e.g. the machine's
own name from /etc/hosts) which the app cannot tell from a host beyond it: that side is then treated as an API,
as a proxy or gateway would be, and its energy is EcoLogits' estimate for gpt-4o-mini. The name must resolve to
127.0.0.1 (checked) so nothing leaves this computer. docs/window-card-energy.png was made with `--host vm` (this
machine's name in /etc/hosts).

Run on an X server without a window manager (tests/support/xvfb.py starts one), with QT_QPA_PLATFORM=xcb:
`python -m tests.support.card_energy_screens OUT.png [--host NAME] [--model gpt-4o-mini]`. The picture is taken
with `xwd -id` once the trial has ended and the card is painted, never after a sleep, then cut to the card.
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
from pathlib import Path

from PySide6.QtWidgets import QApplication

from lmscales.bench.servers import LlamaServer
from lmscales.core.bundled_model import load_manifest, verify
from lmscales.core.endpoints import Endpoint
from lmscales.core.engines.factory import GgufSpec
from lmscales.core.engines.remote import RemoteOptions
from lmscales.core.resource_monitor import ResourceMonitor
from lmscales.core.settings import Settings
from lmscales.core.workspace import Workspace
from lmscales.ui.main_window import MainWindow
from lmscales.ui.theme import apply_theme
from tests.support.egress_screens import INPUT, painted, wait_for


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("out", type=Path)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--model", default="gpt-4o-mini")
    parser.add_argument("--theme", choices=("light", "dark"), default="light")
    args = parser.parse_args()
    addresses = {info[4][0] for info in socket.getaddrinfo(args.host, None, socket.AF_INET)}
    if addresses != {"127.0.0.1"}:
        raise SystemExit(f"{args.host} resolves to {sorted(addresses)}, not only 127.0.0.1")
    app = QApplication(sys.argv[:1])
    apply_theme(app, args.theme)
    model = verify(load_manifest())
    with LlamaServer(model, threads=1, alias=args.model) as server:
        workspace = Workspace(monitor=ResourceMonitor())
        workspace.set_slot("small", GgufSpec(str(model), n_ctx=2048, threads=1))
        settings = Settings().with_value("theme", args.theme).with_value("show_welcome", False)
        window = MainWindow(workspace, settings=settings)
        window.resize(1400, 980)
        window.move(0, 0)
        window.show()
        window.start_sampling()  # as the app does: the graphs' samples, and a server here's machine energy
        window.load_model(str(model))
        wait_for(window.loaders["small"].loaded, app)
        base_url = server.base_url.replace("127.0.0.1", args.host)
        window.set_endpoint(Endpoint(base_url, args.model), RemoteOptions())
        window.generation.max_tokens.setValue(48)
        window.generation.temperature.setValue(0.0)
        window.tasks.set_task("translate")
        window.tasks.translate_input.setPlainText(INPUT)
        window.send(("small", "large"))
        wait_for(window.bridge.trialEnded, app)
        card = window.card
        window.bottom.setCurrentWidget(card)
        painted(window, app)
        print({row.key: (tuple((v.text, v.note) for v in row.values), row.verdict) for row in card.rows}, flush=True)
        corner = card.mapTo(window, card.rect().topLeft())
        xwd = subprocess.run(["xwd", "-id", str(int(window.winId())), "-silent"], capture_output=True, check=True,
                             timeout=60)
        crop = f"{card.width()}x{card.height()}+{corner.x()}+{corner.y()}"
        args.out.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(["convert", "xwd:-", "-crop", crop, "+repage", "-strip", "-define", "png:compression-level=9",
                        str(args.out)], input=xwd.stdout, check=True, timeout=60)
        print(args.out, flush=True)
        window.shutdown()
        window.close()
        workspace.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
