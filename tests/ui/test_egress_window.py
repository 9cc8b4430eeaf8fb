"""What left this computer, in the window: a send with an e-mail address is held before any connection for an
endpoint beyond this computer (a name that cannot resolve, under the network guard: the guard is never tripped
because nothing connects) and is not held for a server on this computer; "Small only" runs only the small side;
"Never send to a remote side" refuses with a message; after a run the status bar has the session's total, and
the pane's and the history's "What was sent" show the request as the server received it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from lmscales.core.egress import format_bytes
from lmscales.core.endpoints import Endpoint
from lmscales.core.engines.remote import RemoteOptions
from lmscales.ui.egress_view import SentDialog
from lmscales.ui.main_window import MainWindow
from tests.conftest import SERVER_MODEL, wait_idle
from tests.support.recording_proxy import RecordingProxy

pytestmark = pytest.mark.slow

UNREACHABLE = Endpoint("https://api.example.invalid/v1", "m")
EMAIL = "Please write to jane.doe@example.com about Tuesday."


def held_send(qtbot, win: MainWindow, sides: tuple[str, ...]):  # type: ignore[no-untyped-def]
    win.tasks.chat_input.setPlainText(EMAIL)
    win.send(sides)
    dialog = win.hold_dialog
    assert dialog is not None
    qtbot.waitUntil(dialog.isVisible)
    return dialog


def test_an_email_for_a_remote_side_is_held_with_a_clear_choice_and_cancel_sends_nothing(
        qtbot, unloaded_window: MainWindow) -> None:  # type: ignore[no-untyped-def]
    win = unloaded_window
    win.set_endpoint(UNREACHABLE, RemoteOptions())
    dialog = held_send(qtbot, win, ("large",))
    text = dialog.message.text()
    assert "The input holds an e-mail address (j•••@e•••.com)." in text
    assert "api.example.invalid, beyond this computer" in text and "Nothing has been sent yet." in text
    assert "jane.doe" not in text
    assert dialog.send_button.text() == "Send to api.example.invalid anyway"
    assert not dialog.local_button.isVisible()  # only the remote side was chosen
    assert dialog.remember.text() == "Remember for this session"
    qtbot.mouseClick(dialog.cancel_button, Qt.MouseButton.LeftButton)
    assert not win.running and not win.bridge.session.running
    assert win.hint.text() == "Not sent."


def test_never_send_to_a_remote_side_refuses_with_a_message(qtbot, unloaded_window: MainWindow) -> None:  # type: ignore[no-untyped-def]
    win = unloaded_window
    win.set_endpoint(UNREACHABLE, RemoteOptions())
    win.settings.store.replace(win.settings.settings.with_value("never_remote", True))
    assert win.workspace.never_remote
    win.tasks.chat_input.setPlainText("Hello there.")
    win.send(("large",))
    assert not win.bridge.session.running
    assert win.hint.text().startswith("Not sent: the large side would send the input to api.example.invalid, "
                                      "beyond this computer, and \"Never send to a remote side\" is on")
    win.evaluate()  # an evaluation is refused the same way, before its dialog opens
    assert win.hint.text().startswith("Not sent: the large side would send the input to api.example.invalid")


def test_small_only_runs_the_small_side_which_sends_nothing(qtbot, window: MainWindow) -> None:  # type: ignore[no-untyped-def]
    window.set_endpoint(UNREACHABLE, RemoteOptions())
    dialog = held_send(qtbot, window, ("small", "large"))
    assert dialog.local_button.text() == "Small only"
    with qtbot.waitSignal(window.bridge.trialEnded, timeout=120_000) as ended:
        qtbot.mouseClick(dialog.local_button, Qt.MouseButton.LeftButton)
    trial = ended.args[0]
    assert [side.side for side in trial.sides] == ["small"]
    wait_idle(qtbot, window)
    assert window.egress_status.text() == ("This session sent nothing to a large side; the small side sent nothing "
                                           "(measured).")


def test_a_loopback_server_is_not_held_and_what_was_sent_is_what_it_received(
        qtbot, unloaded_window: MainWindow, llama_server: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    win = unloaded_window
    with RecordingProxy(llama_server) as proxy:
        win.set_endpoint(Endpoint(proxy.base_url, SERVER_MODEL), RemoteOptions())
        win.generation.max_tokens.setValue(8)
        win.tasks.chat_input.setPlainText(EMAIL)
        with qtbot.waitSignal(win.bridge.trialEnded, timeout=120_000) as ended:
            win.send(("large",))
        assert getattr(win, "hold_dialog", None) is None  # this computer: nothing to ask
        proxy.wait_idle()
        received = proxy.received()
    wait_idle(qtbot, win)
    trial = ended.args[0]
    large = trial.side("large")
    assert large.egress.bytes_sent == len(received)
    host = large.egress.host
    assert win.egress_status.text() == f"This session sent {format_bytes(len(received))} to {host} (this computer)."
    pane = win.panes["large"]
    assert pane.sent_button.isVisible()
    shown = pane.show_what_was_sent()
    body = received.partition(b"\r\n\r\n")[2]
    assert shown.request.toPlainText() == json.dumps(json.loads(body), indent=2, ensure_ascii=False)
    assert f"Sent to {host} (this computer): {format_bytes(len(received))} in 1 request; " in shown.summary.text()
    shown.close()
    dialog = win.history.open_row(0)
    assert dialog is not None
    button = dialog.findChild(type(pane.sent_button), "sent_large")
    assert button is not None
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    opened = dialog.findChildren(SentDialog)
    assert opened and opened[0].request.toPlainText() == shown.request.toPlainText()
    dialog.close()
