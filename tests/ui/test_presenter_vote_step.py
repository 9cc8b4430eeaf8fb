"""A scenario step of kind "vote" in presenter mode: the bundled model against llama-cpp-python's server on
loopback run blind, A on the left and B on the right in the seeded order, titled alike, with no model name,
scoreboard or graph until the room votes with a key; Space waits for the vote; then the reveal names the sides,
the scoreboard shows with the audience's tally, and the vote is kept in the history."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from lmscales.core import scenario
from lmscales.core.endpoints import Endpoint
from lmscales.core.votes import BlindOrder
from lmscales.ui.main_window import MainWindow
from tests.conftest import SERVER_MODEL

pytestmark = pytest.mark.slow

VOTE_TALK = scenario.parse('''
version = 1
title = "Which is better?"
[[steps]]
title = "Blind"
kind = "vote"
task = "chat"
input = "Write a short poem about the sea, with a title."
[steps.params]
max_tokens = 32
temperature = 0.0
seed = 1
''', "vote.toml")


def test_a_vote_step_runs_blind_waits_for_the_rooms_key_then_reveals(  # type: ignore[no-untyped-def]
        qtbot, window: MainWindow, llama_server: str) -> None:
    window.set_endpoint(Endpoint(llama_server, SERVER_MODEL))
    seed = next(seed for seed in range(100) if BlindOrder.draw(seed).a == "large")  # A is the large side
    window.blind.seeds = iter([seed])
    window.presenter.load_scenario(VOTE_TALK)
    window.presenter_action.trigger()
    presenter = window.presenter
    qtbot.waitUntil(presenter.window.isActiveWindow)
    with qtbot.waitSignal(window.bridge.trialEnded, timeout=120_000) as ended:
        qtbot.keyClick(presenter.window, Qt.Key.Key_Space)
    trial = ended.args[0]
    columns = presenter.window.columns
    assert [columns[slot].title.text() for slot in ("small", "large")] == ["A", "B"]
    assert {columns[slot].title.objectName() for slot in ("small", "large")} == {"answer_title_blind"}
    assert trial.side("large").text.strip() != trial.side("small").text.strip()  # else the next lines prove nothing
    assert columns["small"].view.answer.strip() == trial.side("large").text.strip()  # A, left: the large side
    assert columns["large"].view.answer.strip() == trial.side("small").text.strip()
    assert not presenter.window.board.isVisible() and not presenter.window.graph.isVisible()
    shown = " ".join(label.text() for label in presenter.window.findChildren(type(columns["small"].status)))
    assert SERVER_MODEL not in shown and "SmolLM" not in shown and "Small" not in shown and "Large" not in shown

    qtbot.keyClick(presenter.window, Qt.Key.Key_Space)  # the room has not voted yet
    assert presenter.window.hint.text() == \
        "⚠ Waiting for the room's vote: 1 for A, 2 for B, 3 for a tie, 4 if both are bad."
    qtbot.keyClick(presenter.window, Qt.Key.Key_1)  # A is better: the large side
    voted = window.history_store.list()[-1]
    assert voted.id == trial.id and voted.vote is not None and voted.vote.winner == "large"
    assert voted.blind == BlindOrder.draw(seed)
    assert columns["small"].title.text().startswith("A — Large")
    assert columns["large"].title.text().startswith("B — Small")
    assert presenter.window.board.isVisible() and presenter.window.graph.isVisible()
    assert presenter.window.board.votes is not None
    assert presenter.window.board.votes.text().startswith("The audience preferred the small model 0 of 1 time")
    assert not window.blind.enabled  # the main window's blind mode as it was
