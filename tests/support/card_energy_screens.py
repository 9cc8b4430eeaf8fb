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

from lmscales.ui.main_window import MainWindow
from tests.support.egress_screens import INPUT, compared, painted


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

    def send(window: MainWindow) -> None:
        window.generation.max_tokens.setValue(48)
        window.tasks.set_task("translate")
        window.tasks.translate_input.setPlainText(INPUT)
        window.send(("small", "large"))

    with compared(args.theme, send, alias=args.model, host=args.host, size=(1400, 980), sampling=True) as (
            app, window):
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
    return 0


if __name__ == "__main__":
    sys.exit(main())
