"""Shared fixtures: the real bundled model, a real local engine, llama-cpp-python's real server, the fault
server, and a guard that fails any connection beyond loopback."""

from __future__ import annotations

import ipaddress
import os
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from lmscales.core.engines.local import LocalEngine
from lmscales.core.model_files import load_manifest, verify
from tests.fault_server import FaultServer

TEST_THREADS = 2
SERVER_MODEL = "smollm2-server"


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
        raise OSError(f"test guard: a connection to {host} (not loopback) was attempted")


def _guarded_connect(self: socket.socket, address: object) -> None:
    _check_loopback(self, address)
    _real_connect(self, address)  # type: ignore[arg-type]


def _guarded_connect_ex(self: socket.socket, address: object) -> int:
    _check_loopback(self, address)
    return _real_connect_ex(self, address)  # type: ignore[arg-type]


socket.socket.connect = _guarded_connect  # type: ignore[method-assign]
socket.socket.connect_ex = _guarded_connect_ex  # type: ignore[method-assign]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="session")
def llama_server(bundled_model: Path) -> Iterator[str]:
    """llama-cpp-python's own OpenAI-compatible server on loopback, serving the bundled model."""
    port = free_port()
    log = tempfile.NamedTemporaryFile(prefix="llama-server-", suffix=".log", delete=False)  # noqa: SIM115
    process = subprocess.Popen(
        [sys.executable, "-m", "llama_cpp.server", "--model", str(bundled_model), "--host", "127.0.0.1",
         "--port", str(port), "--n_ctx", "2048", "--n_threads", "1", "--model_alias", SERVER_MODEL],
        stdout=log, stderr=subprocess.STDOUT,
    )
    base_url = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + 90
    try:
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"llama_cpp.server exited early: {Path(log.name).read_text()[-2000:]}")
            try:
                with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(
                    base_url + "/models", timeout=1
                ) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("llama_cpp.server did not come up within 90 s")
            time.sleep(0.2)
        yield base_url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


@pytest.fixture(scope="module")
def fault_server() -> Iterator[FaultServer]:
    with FaultServer() as server:
        server.retry_after = "0.2"
        server.stall_seconds = 2.0
        yield server
