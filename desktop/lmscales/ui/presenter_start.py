"""How the command line opens a demo: `lmscales --present`, `demo run FILE|NAME`, `demo replay FILE`.

The files are read before the window opens (by `__main__`), so a bad scenario or recording is a message on the
terminal, not a window that opens and says nothing; this module only puts the read files into the window.
"""

from __future__ import annotations

from dataclasses import dataclass

from lmscales.core.recording import Recording
from lmscales.core.scenario import Scenario
from lmscales.ui.main_window import MainWindow


@dataclass(frozen=True)
class DemoOptions:
    present: bool = True
    scenario: Scenario | None = None
    replay: Recording | None = None  # play this recording (no model, no network)
    fallback: Recording | None = None  # live, with this recording to fall back to
    speed: float = 1.0
    step: bool = False  # replay: one recorded comparison per Space instead of all in turn


def start_demo(window: MainWindow, options: DemoOptions) -> None:
    """Put the read files into `window`: the presenter follows the window's replay by itself (Space steps
    through a recording that plays, under its title), so nothing here reaches into it."""
    presenter = window.presenter
    if options.fallback is not None:
        window.replay.use_recording(options.fallback)
    if options.scenario is not None:
        presenter.load_scenario(options.scenario)
    if options.replay is not None:
        window.replay_menu.replay(options.replay, options.speed, auto=not options.step)
    if options.present:
        presenter.enter()
