"""The endpoint dialog and the welcome ask a server off the GUI thread and hear the answer on it (through
`ui/background.py`, the one way back), and a dialog closed before its model listing ends does not crash."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future

import pytest

from lmscales.core.endpoints import Endpoint, Preset, detect_local_servers
from lmscales.core.engines.remote import RemoteEngine
from lmscales.ui import endpoint_dialog
from lmscales.ui.endpoint_dialog import EndpointDialog
from lmscales.ui.welcome import Welcome

Threads = dict[str, list[threading.Thread]]


def recording(threads: Threads, name: str, function: Callable[..., object]) -> Callable[..., object]:
    """`function`, noting the thread each call runs on under `name`."""
    def wrapper(*args: object) -> object:
        threads.setdefault(name, []).append(threading.current_thread())
        return function(*args)
    return wrapper


@pytest.fixture
def threads(monkeypatch: pytest.MonkeyPatch) -> Threads:
    """The threads the dialog's and the welcome's work and handlers ran on."""
    seen: Threads = {}
    monkeypatch.setattr(RemoteEngine, "list_models", recording(seen, "list", RemoteEngine.list_models))
    for name in ("_on_models", "_on_detected"):
        monkeypatch.setattr(EndpointDialog, name, recording(seen, name, getattr(EndpointDialog, name)))
    monkeypatch.setattr(Welcome, "_on_found", recording(seen, "_on_found", Welcome._on_found))
    return seen


def test_the_endpoint_dialog_asks_off_the_gui_thread_and_answers_on_it(qtbot, fault_server, threads: Threads,  # type: ignore[no-untyped-def]
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    local = (Preset("Ollama", fault_server.url("ok"), False),)
    monkeypatch.setattr(endpoint_dialog, "detect_local_servers",
                        recording(threads, "detect", lambda: detect_local_servers(local)))
    dialog = EndpointDialog(None)  # nothing set up yet: it looks for a local server at once
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: dialog.message.text() == "Found: Ollama (2 models).", timeout=5_000)
    assert dialog.detect_button.isEnabled()
    dialog.fetch_models()
    qtbot.waitUntil(lambda: "offers 2 models" in dialog.message.text(), timeout=5_000)
    assert dialog.fetch_button.isEnabled()
    gui = threading.main_thread()
    assert threads["detect"][0] is not gui and threads["list"][0] is not gui  # the GUI thread stayed free
    assert threads["_on_detected"] == [gui] and threads["_on_models"] == [gui]


def test_the_welcome_looks_off_the_gui_thread_and_answers_on_it(qtbot, fault_server, threads: Threads) -> None:  # type: ignore[no-untyped-def]
    welcome = Welcome(recording(threads, "detect", lambda: detect_local_servers(
        (Preset("Ollama", fault_server.url("ok"), False),))))
    qtbot.addWidget(welcome)
    welcome.look_for_servers()
    qtbot.waitUntil(lambda: welcome.server_note.text() == "Found Ollama (2 models).", timeout=5_000)
    assert threads["detect"][0] is not threading.main_thread()
    assert threads["_on_found"] == [threading.main_thread()]


def test_a_failed_search_in_the_welcome_finds_nothing(qtbot) -> None:  # type: ignore[no-untyped-def]
    def broken() -> list[object]:
        raise OSError("no loopback interface")

    welcome = Welcome(broken)  # type: ignore[arg-type]
    qtbot.addWidget(welcome)
    welcome.look_for_servers()
    qtbot.waitUntil(lambda: welcome.buttons["server"].isEnabled(), timeout=5_000)
    assert "No server answers on this computer's usual ports" in welcome.server_note.text()


@pytest.fixture
def silent_server() -> Iterator[socket.socket]:
    """A loopback port that takes connections and never answers: a server too slow to list its models."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    listener.setblocking(False)
    yield listener
    listener.close()


def test_a_dialog_closed_before_its_model_listing_ends_does_not_crash(qtbot, threads: Threads,  # type: ignore[no-untyped-def]
                                                                      silent_server: socket.socket) -> None:
    port = silent_server.getsockname()[1]
    dialog = EndpointDialog(Endpoint(f"http://127.0.0.1:{port}/v1", "some-model"))  # a model: no search at start
    listing = dialog.fetch_models()
    assert isinstance(listing, Future)
    accepted: list[socket.socket] = []

    def client_connected() -> bool:
        try:
            accepted.append(silent_server.accept()[0])
        except BlockingIOError:
            return False
        return True

    qtbot.waitUntil(client_connected, timeout=5_000)  # the listing is under way, waiting for an answer
    with qtbot.captureExceptions() as exceptions:
        with qtbot.waitSignal(dialog.destroyed, timeout=5_000):
            dialog.reject()  # as the settings do after exec(): closed, then deleted
            dialog.deleteLater()
        accepted[0].close()  # the server hangs up: the listing ends in an error for a dialog that is gone
        qtbot.waitUntil(lambda: "_on_models" in threads, timeout=15_000)
    assert listing.done() and listing.exception() is not None
    assert threads["_on_models"] == [threading.main_thread()]
    assert exceptions == []
