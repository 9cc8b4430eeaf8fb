"""Shared fixtures: the real bundled model, a real local engine, llama-cpp-python's real server, the fault
server, and a guard that fails any connection beyond loopback.

Fake API keys in the tests are written as "sk" "-..." so that secret scanners do not mistake them for real ones."""

from __future__ import annotations

import ipaddress
import os
import socket
import struct
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from lmscales.bench.servers import SERVER_MODEL, LlamaServer, free_port
from lmscales.core.bundled_model import load_manifest, verify
from lmscales.core.engines.factory import GgufSpec
from lmscales.core.engines.local import LocalEngine
from lmscales.core.history import TrialHistory
from lmscales.core.resource_monitor import ResourceMonitor
from lmscales.core.workspace import Workspace
from tests.support.fault_server import FaultServer

if TYPE_CHECKING:
    from lmscales.ui.main_window import MainWindow

TEST_THREADS = 2
__all__ = ["SERVER_MODEL", "TEST_THREADS", "free_port", "load_small", "open_window", "wait_idle", "window_workspace",
           "write_gguf"]


@pytest.fixture(scope="session")
def bundled_model() -> Path:
    """The verified bundled GGUF; `python dev.py test` fetched it, so its absence is a failure."""
    return verify(load_manifest())


@pytest.fixture(scope="module")
def engine(bundled_model: Path) -> Iterator[LocalEngine]:
    local = LocalEngine(n_ctx=4096, n_threads=TEST_THREADS)
    local.load(bundled_model)
    yield local
    local.close()


def write_gguf(path: Path, architecture: str, extra: dict[str, str] | None = None) -> Path:
    """A tiny, well-formed GGUF v3 file with one F32 tensor, for architectures llama.cpp lacks."""

    def string(text: str) -> bytes:
        data = text.encode()
        return struct.pack("<Q", len(data)) + data

    metadata = {"general.architecture": architecture, "general.name": "tiny test model", **(extra or {})}
    header = b"GGUF" + struct.pack("<IQQ", 3, 1, len(metadata))
    for key, value in metadata.items():
        header += string(key) + struct.pack("<I", 8) + string(value)
    header += string("weight") + struct.pack("<I", 1) + struct.pack("<Q", 4) + struct.pack("<IQ", 0, 0)
    header += b"\0" * (-len(header) % 32)
    path.write_bytes(header + struct.pack("<4f", 1.0, 2.0, 3.0, 4.0))
    return path


# -- nothing in the tests reaches beyond loopback --------------------------------------------------------
BEYOND_LOOPBACK: list[str] = []  # every refused attempt; a test that made one fails (see `_no_outside`)
_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _check_loopback(sock: socket.socket, address: object) -> None:
    if sock.family not in (socket.AF_INET, socket.AF_INET6) or not isinstance(address, tuple):
        return
    host = str(address[0])
    try:
        loopback = ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        loopback = host == "localhost"
    if not loopback:
        BEYOND_LOOPBACK.append(host)
        raise OSError(f"test guard: a connection to {host} (not loopback) was attempted")


def _guarded_connect(self: socket.socket, address: object) -> None:
    _check_loopback(self, address)
    _real_connect(self, address)  # type: ignore[arg-type]


def _guarded_connect_ex(self: socket.socket, address: object) -> int:
    _check_loopback(self, address)
    return _real_connect_ex(self, address)  # type: ignore[arg-type]


def _is_name_lookup(host: object) -> bool:
    """A host the resolver would be asked about: a name other than `localhost` (numeric addresses are not
    looked up)."""
    if host is None:
        return False
    text = host.decode(errors="replace") if isinstance(host, (bytes, bytearray)) else str(host)
    try:
        ipaddress.ip_address(text.strip("[]").split("%")[0])
    except ValueError:
        return text.lower() != "localhost"
    return False


def _is_reverse_lookup(host: object) -> bool:
    """An address (or name) whose reverse lookup would ask the resolver: anything but loopback."""
    text = host.decode(errors="replace") if isinstance(host, (bytes, bytearray)) else str(host)
    try:
        return not ipaddress.ip_address(text.strip("[]").split("%")[0]).is_loopback
    except ValueError:
        return text.lower() != "localhost"


def _guarded_lookup(real: Callable[..., Any], what: str, refused: Callable[[object], bool]) -> Callable[..., Any]:
    def lookup(host: object, *args: Any, **kwargs: Any) -> Any:
        if refused(host):
            BEYOND_LOOPBACK.append(f"{what} {host!r}")
            # What the code under test sees when there is no network: a failed lookup.
            raise socket.gaierror(socket.EAI_NONAME, f"test guard: a DNS lookup of {host!r} was attempted")
        return real(host, *args, **kwargs)

    return lookup


def _guarded_getnameinfo(sockaddr: Any, flags: int) -> Any:
    if isinstance(sockaddr, tuple) and sockaddr and _is_name_lookup(sockaddr[0]):  # NI_NUMERICHOST below
        BEYOND_LOOPBACK.append(f"getnameinfo {sockaddr[0]!r}")
        raise socket.gaierror(socket.EAI_NONAME, f"test guard: a DNS lookup of {sockaddr[0]!r} was attempted")
    return _real_getnameinfo(sockaddr, flags | socket.NI_NUMERICHOST)  # never a reverse lookup


_real_getnameinfo = socket.getnameinfo
socket.socket.connect = _guarded_connect  # type: ignore[method-assign]
socket.socket.connect_ex = _guarded_connect_ex  # type: ignore[method-assign]
# ... and no test reaches a resolver: names other than `localhost` are refused before any DNS query.
for _name in ("getaddrinfo", "gethostbyname", "gethostbyname_ex"):
    setattr(socket, _name, _guarded_lookup(getattr(socket, _name), _name, _is_name_lookup))
socket.gethostbyaddr = _guarded_lookup(socket.gethostbyaddr, "gethostbyaddr", _is_reverse_lookup)
socket.getnameinfo = _guarded_getnameinfo


@pytest.fixture(autouse=True)
def _no_outside() -> Iterator[None]:
    """Fail loudly if a test tried to connect beyond loopback, even when the code under test swallowed it."""
    BEYOND_LOOPBACK.clear()
    yield
    assert not BEYOND_LOOPBACK, f"a connection beyond loopback was attempted: {BEYOND_LOOPBACK}"


@pytest.fixture(autouse=True, scope="session")
def _private_data_folder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The app's data folder (the history file), settings folder and log folder are the test run's own, for this
    process and its children: no test reads or writes the user's history, settings or logs (`lmscales eval`
    reads the settings for its decision's defaults)."""
    folders = {"LMSCALES_DATA_DIR": "data", "LMSCALES_CONFIG_DIR": "config", "LMSCALES_LOG_DIR": "logs"}
    previous = {name: os.environ.get(name) for name in folders}
    for name, folder in folders.items():
        os.environ[name] = str(tmp_path_factory.mktemp(folder))
    yield
    for name, value in previous.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.fixture(autouse=True, scope="session")
def _no_real_keyring() -> Iterator[None]:
    """No test touches the user's keyring: the fail backend makes keys session-only."""
    import keyring
    import keyring.backends.fail

    previous = keyring.get_keyring()
    keyring.set_keyring(keyring.backends.fail.Keyring())
    yield
    keyring.set_keyring(previous)


@pytest.fixture(scope="session")
def llama_server(bundled_model: Path) -> Iterator[str]:
    """llama-cpp-python's own OpenAI-compatible server on loopback, serving the bundled model."""
    with LlamaServer(bundled_model) as server:
        yield server.base_url


@pytest.fixture(scope="module")
def fault_server() -> Iterator[FaultServer]:
    with FaultServer() as server:
        server.retry_after = "0.2"
        server.stall_seconds = 2.0
        yield server


# -- the comparison window ---------------------------------------------------------------------------------
def window_workspace(model: Path | None = None, history: TrialHistory | None = None, n_ctx: int = 2048) -> Workspace:
    """A workspace as the app makes it, its small slot holding `model` (one thread, `n_ctx` tokens of context) but
    not loaded: no engine process runs until a test loads it."""
    workspace = Workspace(history=history, monitor=ResourceMonitor())
    if model is not None:
        workspace.set_slot("small", GgufSpec(str(model), n_ctx=n_ctx, threads=1))
    return workspace


def open_window(qtbot, workspace: Workspace, **kwargs: Any) -> MainWindow:  # type: ignore[no-untyped-def]
    from lmscales.ui.main_window import MainWindow

    win = MainWindow(workspace, **kwargs)
    qtbot.addWidget(win)
    win.show()
    win.activateWindow()
    qtbot.waitActive(win)  # window shortcuts (Ctrl+Enter, Esc) need an active window
    return win


def load_small(qtbot, win: MainWindow, path: Path | str) -> None:  # type: ignore[no-untyped-def]
    """Load `path` into the small slot, as the settings do at start-up, and wait until it is ready."""
    with qtbot.waitSignal(win.loaders["small"].loaded, timeout=60_000):
        assert win.load_model(str(path))
    qtbot.waitUntil(lambda: not win.loaders["small"].busy)


@pytest.fixture
def unloaded_window(qtbot, bundled_model: Path) -> Iterator[MainWindow]:  # type: ignore[no-untyped-def]
    """The real window for tests that never generate: the small slot holds the bundled model, not loaded (no
    engine process starts), no endpoint, nothing saved."""
    workspace = window_workspace(bundled_model)
    win = open_window(qtbot, workspace)
    yield win
    win.stop()
    win.shutdown()
    workspace.close()


@pytest.fixture
def window(qtbot, bundled_model: Path) -> Iterator[MainWindow]:  # type: ignore[no-untyped-def]
    """The real window on the real engine (one thread, 2048 tokens of context), loaded, for tests that generate;
    no endpoint, nothing saved."""
    workspace = window_workspace(bundled_model)
    win = open_window(qtbot, workspace)
    load_small(qtbot, win, bundled_model)
    win.generation.max_tokens.setValue(24)
    win.generation.temperature.setValue(0.0)
    yield win
    win.stop()
    win.shutdown()
    workspace.close()


def wait_idle(qtbot, win: MainWindow, timeout: int = 60_000) -> None:  # type: ignore[no-untyped-def]
    qtbot.waitUntil(lambda: not win.running and not win.bridge.session.running, timeout=timeout)




# -- tests that must run where they can ------------------------------------------------------------------
# On Linux CI, dev.py installs Xvfb and the desktop tools, and the bundle tests build the bundle: a skip of
# these there means a broken machine or a broken skip condition, and a green run without them proves nothing.
MUST_RUN_ON_LINUX_CI = (
    "tests/ui/test_real_window.py", "tests/ui/test_presenter_real_window.py", "tests/cli/test_packaging.py",
    "tests/core/test_comparison_report.py::test_headless_chromium",  # dev.py installs Chromium there too
    "tests/core/quality/test_eval_report.py::test_the_report_renders_in_headless_chromium",
    "tests/core/quality/test_report_decision.py::test_the_decision_renders_in_headless_chromium",
)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if (report.skipped and os.environ.get("CI") and sys.platform.startswith("linux")
            and item.nodeid.startswith(MUST_RUN_ON_LINUX_CI)):
        reason = report.longrepr[-1] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"skipped on Linux CI, where this test must run: {reason}"
