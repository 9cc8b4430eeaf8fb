"""The presenter's scoreboard says how the audience voted in this session, with the Wilson interval, once votes
exist: the bundled model against llama-cpp-python's server on loopback, a vote cast as blind mode casts it."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from lmscales.core import scenario
from lmscales.core.endpoints import Endpoint
from lmscales.core.quality.stats import wilson_interval
from lmscales.core.votes import BlindOrder
from lmscales.ui.main_window import MainWindow
from tests.conftest import SERVER_MODEL

pytestmark = pytest.mark.slow

TWO_STEPS = scenario.parse('''
version = 1
title = "Votes"
[[steps]]
title = "Colours"
task = "chat"
input = "Name a colour."
[steps.params]
max_tokens = 8
temperature = 0.0
seed = 1
[[steps]]
title = "Fruit"
task = "chat"
input = "Name a fruit."
[steps.params]
max_tokens = 8
temperature = 0.0
seed = 1
''', "votes.toml")


def test_the_scoreboard_shows_the_audiences_votes_once_there_are_some(  # type: ignore[no-untyped-def]
        qtbot, window: MainWindow, llama_server: str) -> None:
    window.set_endpoint(Endpoint(llama_server, SERVER_MODEL))
    window.presenter.load_scenario(TWO_STEPS)
    window.presenter_action.trigger()
    presenter = window.presenter
    qtbot.waitUntil(presenter.window.isVisible)
    qtbot.waitUntil(presenter.window.isActiveWindow)  # its keys are its own
    with qtbot.waitSignal(window.bridge.trialEnded, timeout=120_000) as ended:
        qtbot.keyClick(presenter.window, Qt.Key.Key_Space)
    board = presenter.window.board
    assert board.votes is None  # no vote in this session yet: no line

    order = BlindOrder(5, "small", "large")
    window.workspace.blind_votes.cast(ended.args[0], "A", order)  # the room preferred A: the small model
    with qtbot.waitSignal(window.bridge.trialEnded, timeout=120_000):
        qtbot.keyClick(presenter.window, Qt.Key.Key_Space)
    low, high = wilson_interval(1, 1)
    assert board.votes is not None and board.votes.isVisible()
    assert board.votes.text() == (f"The audience preferred the small model 1 of 1 time (100 %, 95 % CI "
                                  f"{low * 100:.0f} %–{high * 100:.0f} %).")
