"""Record and replay in the window: a live comparison (the bundled model and llama-cpp-python's server on
loopback) is saved as a recording; later, when the large side fails (the fault server's 500 and 429), the
large pane offers "Play the recorded answer", and the replayed answer is marked recorded in the pane, the
history and every export; File → Replay… plays a whole recording under a REPLAY banner."""

from __future__ import annotations

import json
from html import escape
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt

from lmscales.core import recording
from lmscales.core.endpoints import Endpoint
from lmscales.core.engines.remote import RemoteEngine, RemoteOptions
from lmscales.ui.main_window import MainWindow
from lmscales.ui.replay import PLAY_RECORDED
from tests.conftest import SERVER_MODEL, wait_idle
from tests.support.fault_server import FaultServer

pytestmark = pytest.mark.slow
QUESTION = "Name a colour."


def _record_live_run(qtbot, window: MainWindow, llama_server: str, path: Path) -> recording.Recording:  # type: ignore[no-untyped-def]
    window.set_endpoint(Endpoint(llama_server, SERVER_MODEL))
    qtbot.keyClicks(window.tasks.chat_input, QUESTION)
    window.send(("small", "large"))
    wait_idle(qtbot, window)
    assert window.panes["large"].view.answer.strip()
    saved = window.replay_menu.save(path)
    assert saved is not None
    return recording.load(saved)


@pytest.mark.parametrize("fault", ["500", "429"])
def test_a_failed_large_side_offers_the_recorded_answer_marked_recorded_everywhere(  # type: ignore[no-untyped-def]
    qtbot, window: MainWindow, llama_server: str, tmp_path: Path, fault: str
) -> None:
    recorded = _record_live_run(qtbot, window, llama_server, tmp_path / "rehearsal.lmsrec.json")
    recorded_large = recorded.trials[0].side("large")
    assert recorded_large is not None and recorded_large.ok
    window.replay.use_recording(recorded)
    window.new_chat()  # the demo: same step again, live, and now the service fails

    with FaultServer() as server:
        window.set_endpoint(Endpoint(server.url(fault), "fault-model"),
                            RemoteOptions(read_timeout=5, max_rate_limit_retries=0))
        failing_engine = window.session.engines["large"]
        qtbot.keyClicks(window.tasks.chat_input, QUESTION)
        window.send(("small", "large"))
        wait_idle(qtbot, window)
        pane = window.panes["large"]
        assert pane.status.text().startswith("⚠")
        qtbot.waitUntil(pane.action_button.isVisible)
        assert pane.action_button.text() == PLAY_RECORDED
        small_answer = window.panes["small"].view.answer
        requests_before = len(server.requests)

        with qtbot.waitSignal(window.replay.replayEnded, timeout=30_000):
            qtbot.mouseClick(pane.action_button, Qt.MouseButton.LeftButton)
        assert len(server.requests) == requests_before  # the replay asked the failing server nothing

    # The pane: the recorded text, "RECORDED" in words, and the note.
    assert pane.view.answer == recorded_large.text
    assert pane.recorded_badge.isVisible() and "RECORDED" in pane.recorded_badge.text()
    assert "Replayed from a recording." in pane.status.text()
    assert not pane.action_button.isVisible()
    assert window.panes["small"].view.answer == small_answer  # the live small answer stays
    # The large slot has its real engine back for the next step.
    assert window.session.engines["large"] is failing_engine and isinstance(failing_engine, RemoteEngine)

    # The history and the exports.
    replayed = window.history_store.list()[-1]
    large = replayed.side("large")
    assert large is not None and large.recorded and replayed.side("small") is None
    assert window.history.model.rowCount() >= 1
    cells = [window.history.model.data(window.history.model.index(row, col))
             for row in range(window.history.model.rowCount()) for col in range(window.history.model.columnCount())]
    assert any("recorded" in str(cell) for cell in cells)
    exported = json.loads(window.history.export(tmp_path / "h.json").read_text("utf-8"))
    assert exported["trials"][-1]["sides"]["large"]["recorded"] is True
    assert "recorded" in window.history.export(tmp_path / "h.csv").read_text("utf-8").splitlines()[0]
    assert "(recorded)" in window.history.export(tmp_path / "h.md").read_text("utf-8")
    html = window.history.export(tmp_path / "h.html").read_text("utf-8")
    last = html[html.rindex('<section class="trial"'):]
    assert last.count('<span class="badge">recorded</span>') == 3  # the heading, the figures, the answer
    assert escape(recorded_large.text, quote=True) in last


def test_an_error_of_the_users_own_setup_offers_no_recording(  # type: ignore[no-untyped-def]
    qtbot, window: MainWindow, llama_server: str, tmp_path: Path
) -> None:
    window.replay.use_recording(_record_live_run(qtbot, window, llama_server, tmp_path / "r.lmsrec.json"))
    window.new_chat()
    with FaultServer() as server:
        window.set_endpoint(Endpoint(server.url("401"), "fault-model", "sk-test-000"), RemoteOptions(read_timeout=5))
        qtbot.keyClicks(window.tasks.chat_input, QUESTION)
        window.send(("large",))
        wait_idle(qtbot, window)
    assert "refused the API key" in window.panes["large"].status.text()
    assert not window.panes["large"].action_button.isVisible()  # a bad key must be fixed, not papered over


def test_replay_plays_a_whole_recording_under_a_banner_with_no_model(  # type: ignore[no-untyped-def]
    qtbot, window: MainWindow, llama_server: str, tmp_path: Path
) -> None:
    recorded = _record_live_run(qtbot, window, llama_server, tmp_path / "talk.lmsrec.json")
    window.set_endpoint(None)  # nothing to call: the replay needs no endpoint
    kept = len(window.history_store)
    player = window.replay_menu.replay(recorded, speed=4.0)
    with qtbot.waitSignal(player.finished, timeout=30_000):
        pass
    banner = window.replay_menu.banner
    assert banner.isVisible() and banner.label.text().startswith("▶ REPLAY of ")
    assert recorded.machine in banner.label.text() and "×4" in banner.label.text()
    for side in ("small", "large"):
        original = recorded.trials[0].side(side)
        assert original is not None
        assert window.panes[side].view.answer == original.text
        assert window.panes[side].recorded_badge.isVisible()
    assert len(window.history_store) == kept + 1 and all(s.recorded for s in window.history_store.list()[-1].sides)
    assert window.session.engines["large"] is None  # the slots are as they were


def test_a_replay_draws_its_recorded_samples_in_the_graphs_then_live_again(  # type: ignore[no-untyped-def]
    qtbot, window: MainWindow, llama_server: str, tmp_path: Path
) -> None:
    # The live run is sampled as it streams (a sample per batch of text), so its recording holds samples of it.
    window.monitor.sample_once()
    sample_live = window.bridge.deltasReady.connect(lambda _side, _deltas: window.monitor.sample_once())
    recorded = _record_live_run(qtbot, window, llama_server, tmp_path / "talk.lmsrec.json")
    window.bridge.deltasReady.disconnect(sample_live)
    found = recorded.samples_of(recorded.trials[0])
    assert found is not None and len(found[0]) >= 3, "the recording holds no samples of its trial"
    window.presenter.enter()
    panel, graph = window.resources, window.presenter.window.graph
    seen: list[int] = []

    def check(_count: int) -> None:
        # Whenever recorded samples join, both graphs draw exactly the samples played so far: none of the
        # live monitor's, which keeps sampling this machine meanwhile.
        window.monitor.sample_once()
        playback = window.replay.playback
        assert playback is not None and panel.source is playback and graph.source is playback
        panel.refresh()
        graph.refresh()
        played = playback.played
        for curve, name, scale in (("engine_cpu", "engine_cpu_percent", 1.0),
                                   ("small_tokens", "small_tokens_per_s", 1.0),
                                   ("large_tokens", "large_tokens_per_s", 1.0),
                                   ("net", "net_recv_bytes_per_s", 1e-3), ("engine_rss", "engine_rss_bytes", 1e-6)):
            drawn = panel.curves[curve].yData
            expected = np.array([getattr(sample, name) for sample in played]) * scale
            np.testing.assert_array_equal(drawn, expected, err_msg=curve)
        for side in ("small", "large"):
            expected = np.nan_to_num(np.array([getattr(s, f"{side}_tokens_per_s") for s in played]), nan=0.0)
            np.testing.assert_array_equal(graph.curves[side].yData, expected, err_msg=side)
        seen.append(len(played))

    window.replay.samplesPlayed.connect(check)
    window.set_endpoint(None)
    with qtbot.waitSignal(window.replay.playbackEnded, timeout=30_000):
        window.replay_menu.replay(recorded, speed=2.0)
    window.replay.samplesPlayed.disconnect(check)
    assert seen and seen[-1] == len(found[0])  # every recorded sample of the trial was drawn
    assert panel.source is window.monitor and graph.source is window.monitor  # live again
    window.monitor.sample_once()
    panel.refresh()
    assert len(panel.curves["engine_cpu"].yData) == len(window.monitor.snapshot()["timestamp"])
    window.presenter.leave()


def test_the_speed_question_offers_each_replay_speed_with_as_recorded_first(qtbot) -> None:  # type: ignore[no-untyped-def]
    from lmscales.core.engines.replay import SPEEDS
    from lmscales.ui.replay import SPEED_CHOICES, speed_dialog

    dialog = speed_dialog()
    qtbot.addWidget(dialog)
    assert dialog.comboBoxItems() == SPEED_CHOICES and len(SPEED_CHOICES) == len(SPEEDS)
    assert dialog.textValue() == "×1 (as recorded)" and SPEEDS[0] == 1.0
    assert [float(choice.split()[0].lstrip("×")) for choice in SPEED_CHOICES] == list(SPEEDS)
