"""The offline promise: in offline mode the app opens no connection beyond this computer, and everything
offline still works. Checked in-process (the guard in lmscales.core.offline) and in real app processes run
under an outside guard (tests/support/outside_guard/sitecustomize.py) that logs and refuses any such attempt."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import types
from collections.abc import Iterator
from pathlib import Path

import pytest

from lmscales.core import offline
from lmscales.core.endpoints import Endpoint
from lmscales.core.settings import Settings

GUARD = Path(__file__).resolve().parents[1] / "support" / "outside_guard"


@pytest.fixture
def guard() -> Iterator[None]:
    offline.attempts.clear()
    offline.enable()
    yield
    offline.disable()
    offline.attempts.clear()


def test_guard_refuses_anything_beyond_loopback(guard: None) -> None:
    with socket.socket() as sock, pytest.raises(offline.OfflineError, match=r"203\.0\.113\.7 was blocked"):
        sock.connect(("203.0.113.7", 443))
    with pytest.raises(offline.OfflineError, match=r"api\.openai\.com"):
        socket.getaddrinfo("api.openai.com", 443)
    with pytest.raises(offline.OfflineError):
        socket.gethostbyname("api.openai.com")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp, pytest.raises(offline.OfflineError):
        udp.sendto(b"x", ("198.51.100.1", 53))
    assert offline.attempts == ["203.0.113.7", "api.openai.com", "api.openai.com", "198.51.100.1"]
    # loopback stays open: a local server is part of this computer
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        with socket.socket() as client:
            client.connect(listener.getsockname())
    assert socket.getaddrinfo("localhost", 80)


def test_guard_comes_off_again() -> None:
    names = ("getaddrinfo", "gethostbyname", "gethostbyname_ex", "gethostbyaddr", "getnameinfo")
    before = (socket.socket.connect, socket.socket.connect_ex, socket.socket.sendto, *map(vars(socket).get, names))
    offline.enable()
    assert socket.socket.connect is not before[0] and socket.getnameinfo is not before[-1]
    offline.disable()
    offline.disable()  # twice is harmless
    assert not offline.enabled()
    assert (socket.socket.connect, socket.socket.connect_ex, socket.socket.sendto,
            *map(vars(socket).get, names)) == before


class _Resolver:
    """Stands in for the system resolver under the guard: records every host it is asked about."""

    def __init__(self) -> None:
        self.asked: list[str] = []
        self.real = socket.getaddrinfo

    def getaddrinfo(self, host: object, *args: object, **kwargs: object) -> object:
        self.asked.append(str(host))
        return self.real(host, *args, **kwargs)  # type: ignore[arg-type]

    def gethostbyaddr(self, host: str) -> object:
        self.asked.append(host)
        raise AssertionError("a reverse lookup reached the resolver")

    def getnameinfo(self, sockaddr: tuple[str, int], flags: int) -> tuple[str, str]:
        self.asked.append(sockaddr[0])
        assert flags & socket.NI_NUMERICHOST, "a reverse lookup reached the resolver"
        return sockaddr[0], str(sockaddr[1])


def test_only_numeric_loopback_and_localhost_pass_and_no_resolver_is_asked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    resolver = _Resolver()
    for name in ("getaddrinfo", "gethostbyaddr", "getnameinfo"):
        monkeypatch.setattr(socket, name, getattr(resolver, name))
    offline.attempts.clear()
    offline.enable()
    try:
        # names that usually mean loopback are still names: refused, never looked up
        for name in ("localhost.localdomain", "ip6-localhost", "localhost.", "api.openai.com"):
            with pytest.raises(offline.OfflineError, match=re.escape(name)):
                socket.getaddrinfo(name, 80)
            with pytest.raises(offline.OfflineError):
                socket.gethostbyname(name)
        with pytest.raises(offline.OfflineError, match=r"203\.0\.113\.9"):
            socket.getnameinfo(("203.0.113.9", 443), 0)
        with pytest.raises(offline.OfflineError):
            socket.gethostbyaddr("203.0.113.9")
        assert resolver.asked == []
        # `localhost` is answered with loopback addresses: the resolver only ever sees numbers
        addresses = {info[4][0] for info in socket.getaddrinfo("localhost", 80, type=socket.SOCK_STREAM)}
        assert "127.0.0.1" in addresses and addresses <= {"127.0.0.1", "::1"}
        assert socket.getaddrinfo("LOCALHOST", 80, socket.AF_INET)[0][4][0] == "127.0.0.1"
        assert socket.gethostbyname("localhost") == "127.0.0.1"
        assert socket.gethostbyaddr("127.0.0.1") == ("localhost", [], ["127.0.0.1"])
        assert socket.getnameinfo(("127.0.0.1", 8080), 0) == ("127.0.0.1", "8080")
        assert socket.getaddrinfo("::1", 80, socket.AF_INET6)[0][4][0] == "::1"
        assert set(resolver.asked) <= {"127.0.0.1", "::1"}
        assert offline.attempts == ["localhost.localdomain"] * 2 + ["ip6-localhost"] * 2 + ["localhost."] * 2 + [
            "api.openai.com"] * 2 + ["203.0.113.9"] * 2
    finally:
        offline.disable()
        offline.attempts.clear()


def _windows_like_socket_module() -> types.ModuleType:
    """The `socket` module as CPython has it on Windows: socket objects have no `sendmsg`."""
    fake = types.ModuleType("socket")
    fake.__dict__.update({name: value for name, value in vars(socket).items() if not name.startswith("__")})

    class WindowsSocket:
        family = socket.AF_INET
        connect, connect_ex, sendto = socket.socket.connect, socket.socket.connect_ex, socket.socket.sendto

    fake.socket = WindowsSocket  # type: ignore[attr-defined]
    return fake


def test_guard_works_where_sockets_have_no_sendmsg(monkeypatch: pytest.MonkeyPatch) -> None:
    """Windows: no socket.socket.sendmsg. Before the fix enable() crashed half-way, after which enabled()
    said True with nothing guarded, and disable() raised KeyError."""
    fake = _windows_like_socket_module()
    assert not hasattr(fake.socket, "sendmsg")
    original_connect = fake.socket.connect
    monkeypatch.setattr(offline, "socket", fake)
    offline.enable()
    try:
        assert offline.enabled()
        assert fake.socket.connect is not original_connect and not hasattr(fake.socket, "sendmsg")
        with pytest.raises(offline.OfflineError):
            fake.socket().connect(("203.0.113.7", 443))
        with pytest.raises(offline.OfflineError):
            fake.getaddrinfo("api.openai.com", 443)
    finally:
        offline.disable()
        offline.attempts.clear()
    assert not offline.enabled()
    assert fake.socket.connect is original_connect and fake.getaddrinfo is socket.getaddrinfo


def test_a_failure_half_way_leaves_nothing_patched(monkeypatch: pytest.MonkeyPatch) -> None:
    class Stubborn(types.ModuleType):
        """A module that refuses one of the patches (as a platform might)."""

        def __setattr__(self, name: str, value: object) -> None:
            if name == "gethostbyaddr" and value is not socket.gethostbyaddr:
                raise TypeError("read-only attribute")
            super().__setattr__(name, value)

    fake = Stubborn("socket")
    fake.__dict__.update({name: value for name, value in vars(_windows_like_socket_module()).items()})
    original_connect, original_lookup = fake.socket.connect, fake.getaddrinfo
    monkeypatch.setattr(offline, "socket", fake)
    with pytest.raises(TypeError):
        offline.enable()
    assert not offline.enabled()
    assert fake.socket.connect is original_connect and fake.getaddrinfo is original_lookup
    offline.disable()  # nothing to undo, no KeyError


def _guarded_run(args: list[str], tmp: Path, stdin: str = "") -> tuple[subprocess.CompletedProcess[str], str]:
    log = tmp / "outside.log"
    env = {**os.environ, "PYTHONPATH": str(GUARD), "LMSCALES_GUARD_LOG": str(log),
           "LMSCALES_CONFIG_DIR": str(tmp / "config"), "LMSCALES_LOG_DIR": str(tmp / "logs")}
    result = subprocess.run([sys.executable, "-m", "lmscales", *args], input=stdin, capture_output=True, text=True,
                            env=env, timeout=240, check=False)
    return result, log.read_text() if log.exists() else ""


@pytest.mark.slow
def test_headless_offline_run_opens_no_outside_connection(tmp_path: Path) -> None:
    result, attempts = _guarded_run(
        ["--offline", "run", "--task", "chat", "--side", "both", "--base-url", "https://api.openai.com/v1",
         "--model", "gpt-4o-mini", "--input", "-", "--json", "--max-tokens", "12", "--threads", "2"],
        tmp_path, stdin="Hello!",
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)["sides"]
    assert data["small"]["status"] in ("done", "length") and data["small"]["text"].strip()
    assert data["large"]["status"] == "skipped"
    assert "Offline mode" in data["large"]["skipped"] and "api.openai.com" in data["large"]["skipped"]
    assert attempts == ""


@pytest.mark.slow
def test_the_guard_would_have_caught_an_online_run(tmp_path: Path) -> None:
    """The outside guard works: the same run online tries to reach the API, and the guard says so."""
    result, attempts = _guarded_run(
        ["run", "--task", "chat", "--side", "remote", "--base-url", "https://api.openai.com/v1", "--model",
         "gpt-4o-mini", "--input", "-", "--connect-timeout", "2"], tmp_path, stdin="Hello!",
    )
    assert result.returncode == 1
    assert "api.openai.com" in attempts


@pytest.mark.slow
def test_offline_self_test(tmp_path: Path) -> None:
    result, attempts = _guarded_run(["--offline", "self-test", "--threads", "2"], tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads(result.stdout)["ok"] is True
    assert attempts == ""


@pytest.mark.slow
def test_offline_window(qtbot, bundled_model: Path) -> None:  # type: ignore[no-untyped-def]
    from lmscales.ui.main_window import MainWindow
    from tests.conftest import load_small, window_workspace

    workspace = window_workspace(bundled_model, n_ctx=1024)
    endpoint = Endpoint("https://api.openai.com/v1", "gpt-4o-mini", "sk" "-offline-SECRET-1234567890")
    window = MainWindow(workspace, settings=Settings().with_value("offline", True), session_endpoint=endpoint)
    qtbot.addWidget(window)
    try:
        window.settings.set_offline(True, remember=False)
        assert offline.enabled()
        remote = window.panes["large"]
        assert remote.placeholder_shown and "Offline mode" in remote.placeholder_text.text()
        assert "api.openai.com" in remote.placeholder_text.text()
        assert window.offline_action.isChecked() and "offline" in window.windowTitle()
        load_small(qtbot, window, bundled_model)
        window.generation.max_tokens.setValue(12)
        qtbot.keyClicks(window.tasks.chat_input, "Hi there")
        window.send(("small", "large"))
        qtbot.waitUntil(lambda: not window.running, timeout=60_000)
        assert window.panes["small"].view.answer.strip()
        assert window.history.row_count() == 1  # the small side only
        assert offline.attempts == []
        # leaving offline mode brings the large side back (and connects to nothing until a send)
        window.offline_action.trigger()
        assert not offline.enabled() and not remote.placeholder_shown
    finally:
        offline.disable()
        window.shutdown()
        workspace.close()


def test_unreachable_network_falls_back_to_offline(qtbot, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    """A real remote run whose DNS lookup fails (no network here, and no resolver is asked)."""
    from lmscales.core.workspace import Workspace
    from lmscales.ui.main_window import MainWindow

    def no_dns(*args: object, **kwargs: object) -> object:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_dns)
    window = MainWindow(Workspace(), session_endpoint=Endpoint("https://api.example.invalid/v1", "big"))
    qtbot.addWidget(window)
    try:
        window.settings.apply_endpoint()
        assert not window.panes["large"].placeholder_shown
        qtbot.keyClicks(window.tasks.chat_input, "Hello")
        # Wait for the trial's end as the window hears it: the session may be idle before its events arrive.
        with qtbot.waitSignal(window.bridge.trialEnded, timeout=20_000):
            window.send(("large",))
        remote = window.panes["large"]
        assert window.settings.offline and remote.placeholder_shown
        text = remote.placeholder_text.text()
        assert "unreachable" in text and "offline mode for this session" in text and "Work offline" in text
        assert window.settings.settings.offline is False  # a fallback, not a saved choice
    finally:
        offline.disable()
