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

from lmscales.ui.main_window import MainWindow
from tests.support.egress_screens import compared, painted, photograph

INPUT = "Give one tip for a first visit to Lisbon."


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("outdir", type=Path)
    parser.add_argument("--theme", choices=("light", "dark"), default="light")
    args = parser.parse_args()

    def send(window: MainWindow) -> None:
        window.generation.max_tokens.setValue(40)
        window.blind.set_enabled(True)
        window.blind.seeds = iter([1])
        window.tasks.chat_input.setPlainText(INPUT)
        window.send(("small", "large"))

    with compared(args.theme, send) as (app, window):
        args.outdir.mkdir(parents=True, exist_ok=True)
        photograph(window, args.outdir / f"blind-before-{args.theme}.png")
        window.blind.vote("B")
        painted(window, app)
        photograph(window, args.outdir / f"blind-after-{args.theme}.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
