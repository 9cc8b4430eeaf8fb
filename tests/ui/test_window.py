"""The comparison window, driven with pytest-qt (offscreen) on the real local engine and, for the large
side, llama-cpp-python's real server on loopback (the fault server for errors)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from lmscales.core.endpoints import Endpoint
from lmscales.core.engines.remote import RemoteOptions
from lmscales.core.history import TrialHistory
from lmscales.ui.main_window import MainWindow
from lmscales.ui.streaming_view import APPEND_INTERVAL_MS
from tests.conftest import SERVER_MODEL, free_port, open_window, wait_idle, window_workspace
from tests.support.fault_server import FaultServer

pytestmark = pytest.mark.slow


def test_starts_with_the_small_side_ready_and_a_placeholder_for_the_large(qtbot, window: MainWindow) -> None:  # type: ignore[no-untyped-def]
    assert "135M" in window.panes["small"].model_card.text()
    assert window.panes["large"].placeholder_shown
    assert "No large model is set up" in window.panes["large"].placeholder_text.text()
    assert not window.send_button.isEnabled()
    assert "empty input cannot be sent" in window.hint.text()
    qtbot.keyClicks(window.tasks.chat_input, "   ")
    assert not window.send_button.isEnabled()
    qtbot.keyClicks(window.tasks.chat_input, "Hello")
    assert window.send_button.isEnabled() and window.send_button.text() == "Send"
    assert not window.remote_only_button.isEnabled()


def test_chat_on_both_sides_keeps_each_sides_history(qtbot, window: MainWindow, llama_server: str) -> None:  # type: ignore[no-untyped-def]
    window.set_endpoint(Endpoint(llama_server, SERVER_MODEL))
    assert not window.panes["large"].placeholder_shown
    assert window.send_button.text() == "Send to both"
    qtbot.keyClicks(window.tasks.chat_input, "My name is Ada.")
    qtbot.keyClick(window.tasks.chat_input, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    wait_idle(qtbot, window)
    assert window.tasks.chat_input.toPlainText() == ""  # the turn was sent
    for side in ("small", "large"):
        pane = window.panes[side]
        assert pane.view.answer.strip(), side
        assert "My name is Ada." in pane.view.toPlainText()
        assert "TTFT" in pane.metrics.text() and "s</b>" in pane.metrics.text()
        assert len(window.session.transcripts[side]) == 1
    assert "~" in window.panes["large"].metrics.labels["tokens"].text()  # the server sent no usage
    # the server runs on this computer: no money, and the machine's energy instead
    assert "$0 · " in window.panes["large"].metrics.labels["cost"].text()
    assert window.history.row_count() == 2
    trial = window.history_store.list()[-1]
    assert trial.input.text == "My name is Ada." and {r.side for r in trial.sides} == {"small", "large"}
    qtbot.keyClicks(window.tasks.chat_input, "What is my name?")
    window.send(("small", "large"))
    wait_idle(qtbot, window)
    assert len(window.session.transcripts["small"]) == 2
    assert "My name is Ada." in window.panes["small"].view.toPlainText()  # the transcript shows turn one
    qtbot.keyClick(window, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    assert window.session.transcripts == {"small": [], "large": []}


def test_escape_stops_both_sides(qtbot, window: MainWindow, llama_server: str) -> None:  # type: ignore[no-untyped-def]
    window.set_endpoint(Endpoint(llama_server, SERVER_MODEL))
    window.generation.max_tokens.setValue(400)
    qtbot.keyClicks(window.tasks.chat_input, "Write a very long story about a cat.")
    window.send(("small", "large"))
    qtbot.waitUntil(lambda: bool(window.panes["small"].view.answer), timeout=30_000)
    qtbot.keyClick(window, Qt.Key.Key_Escape)
    wait_idle(qtbot, window, timeout=5_000)
    assert window.panes["small"].status.text().startswith("Stopped.")
    assert window.history.row_count() == 2
    assert {result.status for result in window.history_store.list()[-1].sides} == {"stopped"}  # both sides


def test_sequential_mode_runs_the_large_side_after_the_small(qtbot, window: MainWindow, llama_server: str) -> None:  # type: ignore[no-untyped-def]
    window.set_endpoint(Endpoint(llama_server, SERVER_MODEL))
    window.generation.run_mode.setCurrentIndex(window.generation.run_mode.findData("sequential"))
    qtbot.keyClicks(window.tasks.chat_input, "Name a fruit.")
    with qtbot.waitSignal(window.bridge.sideQueued, timeout=10_000):
        window.send(("small", "large"))
    assert "Waits for the other side" in window.panes["large"].status.text()
    wait_idle(qtbot, window)
    trial = window.history_store.list()[-1]
    assert trial.mode == "sequential"
    small, large = trial.side("small"), trial.side("large")
    assert small is not None and large is not None and small.finished is not None and large.finished is not None
    assert small.started_at <= large.started_at


def test_each_task_and_its_options(qtbot, window: MainWindow, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    text_file = tmp_path / "article.md"
    text_file.write_text("# Rivers\n\nRivers carry water from hills to the sea. Towns grow along them.\n")
    window.tasks.load_file(str(text_file))
    assert window.tasks.current_task == "summarize"
    assert "Rivers carry water" in window.tasks.summary_input.toPlainText()
    assert "characters" in window.tasks.summary_size.text()
    window.tasks.summary_length.setCurrentIndex(0)
    window.send(("small",))
    wait_idle(qtbot, window)
    assert window.panes["small"].view.answer.strip()

    qtbot.keyClick(window, Qt.Key.Key_3, Qt.KeyboardModifier.ControlModifier)
    assert window.tasks.current_task == "translate"
    window.tasks.swap_languages()  # source is "detect": nothing to swap
    assert "Pick a source language" in window.hint.text()
    window.tasks.source_language.setCurrentIndex(window.tasks.source_language.findData("en"))
    window.tasks.swap_languages()
    assert (window.tasks.source_language.currentData(), window.tasks.target_language.currentData()) == ("fr", "en")
    window.tasks.target_language.setCurrentIndex(window.tasks.target_language.findData("fr"))
    qtbot.keyClicks(window.tasks.translate_input, "Bonjour")
    window.send(("small",))
    assert "Source and target are both French" in window.hint.text()


def test_unreadable_file_is_explained(unloaded_window: MainWindow, tmp_path: Path) -> None:
    window = unloaded_window  # this test never generates: no model loads
    binary = tmp_path / "image.txt"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\0\0\0")
    window.tasks.load_file(str(binary))
    assert "binary file" in window.hint.text()
    latin = tmp_path / "latin.txt"
    latin.write_bytes("caf\xe9".encode("latin-1"))
    window.tasks.load_file(str(latin))
    assert "not UTF-8 text" in window.hint.text()
    assert window.tasks.summary_input.toPlainText() == ""  # nothing half-loaded


def test_bad_model_is_shown_in_the_pane_and_the_old_one_kept(qtbot, window: MainWindow, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "bad.gguf"
    bad.write_text("nope")
    card = window.panes["small"].model_card.text()
    with qtbot.waitSignal(window.loaders["small"].loadFailed, timeout=30_000):
        window.load_model(str(bad))
    status = window.panes["small"].status.text()
    assert "not a GGUF model file" in status and "still loaded" in status
    assert window.panes["small"].model_card.text() == card


def test_remote_errors_stay_in_their_pane(qtbot, window: MainWindow, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    with FaultServer() as server:
        window.set_endpoint(Endpoint(server.url("401"), "fault-model", "sk" "-window-SECRET-123456"),
                            RemoteOptions(read_timeout=2))
        qtbot.keyClicks(window.tasks.chat_input, "Hi")
        window.send(("small", "large"))
        wait_idle(qtbot, window)
    assert "refused the API key" in window.panes["large"].status.text()
    assert window.panes["small"].view.answer.strip()  # the small side was unaffected
    exported = window.history.export(tmp_path / "h.json").read_text("utf-8")
    assert "refused the API key" in exported and "sk-window-SECRET" not in exported


def test_history_exports(qtbot, window: MainWindow, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    qtbot.keyClicks(window.tasks.chat_input, "Hi")
    window.send(("small",))
    wait_idle(qtbot, window)
    for suffix in ("json", "csv", "md"):
        path = tmp_path / f"runs.{suffix}"
        window.history.export(path)
        assert path.read_text().strip()
    trials = json.loads((tmp_path / "runs.json").read_text())["trials"]
    assert trials[0]["task"] == "chat" and trials[0]["input"]["text"] == "Hi"
    assert trials[0]["sides"]["small"]["text"].strip()


def test_tokens_are_coalesced_not_appended_one_by_one(qtbot, window: MainWindow) -> None:  # type: ignore[no-untyped-def]
    window.generation.max_tokens.setValue(120)
    qtbot.keyClicks(window.tasks.chat_input, "Tell me a long story.")
    window.send(("small",))
    wait_idle(qtbot, window)
    finished = window.history_store.list()[-1].sides[0].finished
    assert finished is not None
    assert finished.output_tokens > 40
    streaming_seconds = finished.deltas[-1][0] - finished.submitted_at  # the timer runs from submit
    # one append per timer tick at most (~30 a second), not one per token
    assert window.panes["small"].view.appends <= streaming_seconds * 1000 / APPEND_INTERVAL_MS + 3
    assert window.panes["small"].view.appends < finished.output_tokens


def test_long_summary_is_map_reduced_and_the_pane_says_so(qtbot, window: MainWindow) -> None:  # type: ignore[no-untyped-def]
    text = "\n\n".join(f"Part {i}: the harbour town built boats, sold fish and held a festival each summer."
                       for i in range(90))
    window.tasks.set_task("summarize")
    window.tasks.summary_input.setPlainText(text)
    window.tasks.summary_length.setCurrentIndex(0)
    window.generation.max_tokens.setValue(48)  # short part summaries: the split, not their length, is tested
    notices = []
    window.bridge.noticed.connect(lambda side, n: notices.append(n.message))
    window.send(("small",))
    wait_idle(qtbot, window, timeout=120_000)
    status = window.panes["small"].status.text()
    assert "summarized in" in status and "chunks (map-reduce)" in status, status
    assert any("part 1 of" in n for n in notices)
    finished = window.history_store.list()[-1].sides[0].finished
    assert finished is not None and finished.chunks > 1


def test_local_runs_get_resource_summaries_and_graph_markers(qtbot, window: MainWindow) -> None:  # type: ignore[no-untyped-def]
    window.generation.max_tokens.setValue(48)
    qtbot.keyClicks(window.tasks.chat_input, "Tell me about the moon.")
    window.send(("small",))
    wait_idle(qtbot, window)
    result = window.history_store.list()[-1].sides[0]
    assert result.resources is not None
    peak = result.resources.engine_peak_rss.value
    assert peak is not None and peak > 50e6
    assert result.energy_j is not None and result.energy_j > 0
    assert result.cpu_seconds is not None and result.cpu_seconds > 0
    assert window.resources.marker_count == 3  # sent, first token, finished
    assert window.bottom.tabText(1) == "History (1)"


def _buttons(window: MainWindow) -> dict[tuple[str, ...], object]:
    return {("small", "large"): window.send_button, ("small",): window.local_only_button,
            ("large",): window.remote_only_button}


def test_the_send_buttons_follow_the_workspaces_readiness_and_say_why(  # type: ignore[no-untyped-def]
    qtbot, unloaded_window: MainWindow
) -> None:
    window = unloaded_window
    qtbot.keyClicks(window.tasks.chat_input, "Hello")

    def follows_workspace() -> None:
        for sides, button in _buttons(window).items():
            assert button.isEnabled() == window.workspace.can_send(sides).ok, sides  # type: ignore[attr-defined]

    # The small slot holds the bundled model, not loaded; the large one holds nothing.
    follows_workspace()
    assert not window.send_button.isEnabled() and window.hint.text() == "Neither model is ready yet."
    assert window.local_only_button.toolTip().endswith("\nThe small side has no model loaded.")
    assert window.remote_only_button.toolTip().endswith("\nThe large side is not set up.")
    # An endpoint is ready at once (nothing is asked of it before a send): the large side alone can run.
    window.set_endpoint(Endpoint(f"http://127.0.0.1:{free_port()}/v1", "m"))
    follows_workspace()
    assert window.send_button.isEnabled() and window.send_button.text() == "Send"
    assert window.remote_only_button.isEnabled() and "\n" not in window.remote_only_button.toolTip()
    assert not window.local_only_button.isEnabled()
    assert window.local_only_button.toolTip().endswith("\nThe small side has no model loaded.")
    assert window.hint.text().endswith("sends. The small side has no model loaded. Only the large side runs.")
    # What the buttons say is what a send does: the small side alone is refused with the same reason.
    window.send(("small",))
    assert window.hint.text() == "The small side has no model loaded." and not window.running


def test_an_endpoint_set_during_a_run_is_put_in_when_the_run_ends(  # type: ignore[no-untyped-def]
    qtbot, unloaded_window: MainWindow, llama_server: str
) -> None:
    window = unloaded_window
    first = Endpoint(llama_server, SERVER_MODEL)
    window.set_endpoint(first)
    running = window.workspace.engine("large")
    window.generation.max_tokens.setValue(400)
    qtbot.keyClicks(window.tasks.chat_input, "Tell me a long story about a lighthouse keeper.")
    with qtbot.waitSignal(window.bridge.deltasReady, timeout=60_000):  # the large side is streaming
        window.send(("large",))
    second = Endpoint(llama_server, "swapped-model", name="Second")
    window.set_endpoint(second)
    # Not during the run: that side is stopped, and keeps its engine until the run has ended.
    assert window.workspace.engine("large") is running and window.workspace.pending("large")
    wait_idle(qtbot, window)
    qtbot.waitUntil(lambda: window.endpoint == second)
    assert window.workspace.engine("large") is not running and not window.workspace.pending("large")
    assert "swapped-model" in window.panes["large"].model_card.text()
    assert window.history_store.list()[-1].sides[0].status == "stopped"
    qtbot.keyClicks(window.tasks.chat_input, "Again")  # the chat box was emptied by the send
    assert window.remote_only_button.isEnabled()  # on the new endpoint


def test_a_comparison_the_history_cannot_keep_is_said_and_stays_in_sight(  # type: ignore[no-untyped-def]
    qtbot, llama_server: str, tmp_path: Path
) -> None:
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the history's folder should be")
    workspace = window_workspace(history=TrialHistory(blocked / "history.jsonl"))
    window = open_window(qtbot, workspace)
    try:
        window.set_endpoint(Endpoint(llama_server, SERVER_MODEL))
        window.generation.max_tokens.setValue(4)
        qtbot.keyClicks(window.tasks.chat_input, "Hi")
        window.send(("large",))
        wait_idle(qtbot, window)
        qtbot.waitUntil(window.history_notice.isVisible)  # the workspace's TrialNotKept, on the GUI thread
        (lost,) = window.history_store.not_kept
        assert "1 comparison not kept in the history file" in window.history_notice.text()
        assert lost.trial_id in window.history_notice.details()
        assert f"Could not keep the comparison {lost.trial_id}" in window.statusBar().currentMessage()
        assert window.history.row_count() == 1  # shown for this session
    finally:
        window.shutdown()
        workspace.close()
