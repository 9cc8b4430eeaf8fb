"""Start llama-cpp-python's own OpenAI-compatible server on loopback: the real large-side server for the
tests and the benchmarks (and a quick way to try the app with no account anywhere)."""

from __future__ import annotations

import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from types import TracebackType

SERVER_MODEL = "smollm2-server"
# `python -m llama_cpp.server`, after loading llama.cpp's CPU backend for this processor: a build with CPU
# variants (dev.py on x86-64) has none until asked, and llama-cpp-python's server never asks.
SERVER_BOOT = (
    "import runpy, sys; from lmscales.core.engines.cpu_backends import ensure_loaded; ensure_loaded(); "
    "sys.argv[0] = 'llama_cpp.server'; runpy.run_module('llama_cpp.server', run_name='__main__', alter_sys=True)"
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class LlamaServer:
    """`with LlamaServer(model_path) as server: server.base_url` — started on a free loopback port."""

    def __init__(self, model: Path, threads: int = 1, n_ctx: int = 2048, startup_timeout: float = 90.0) -> None:
        self.model = model
        self.threads = threads
        self.n_ctx = n_ctx
        self.startup_timeout = startup_timeout
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        self._log = tempfile.NamedTemporaryFile(prefix="llama-server-", suffix=".log", delete=False)  # noqa: SIM115
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> LlamaServer:
        self._process = subprocess.Popen(
            [sys.executable, "-c", SERVER_BOOT, "--model", str(self.model), "--host", "127.0.0.1",
             "--port", str(self.port), "--n_ctx", str(self.n_ctx), "--n_threads", str(self.threads),
             "--model_alias", SERVER_MODEL],
            stdout=self._log, stderr=subprocess.STDOUT,
        )
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        deadline = time.monotonic() + self.startup_timeout
        while True:
            if self._process.poll() is not None:
                raise RuntimeError(f"llama_cpp.server exited early: {Path(self._log.name).read_text()[-2000:]}")
            try:
                with opener.open(self.base_url + "/models", timeout=1) as response:
                    if response.status == 200:
                        return self
            except OSError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"llama_cpp.server did not come up within {self.startup_timeout:.0f} s")
            time.sleep(0.2)

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        self._log.close()
        Path(self._log.name).unlink(missing_ok=True)

    def __enter__(self) -> LlamaServer:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()
