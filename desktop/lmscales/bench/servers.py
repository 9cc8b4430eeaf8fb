"""Start llama-cpp-python's own OpenAI-compatible server on loopback, through `lmscales serve` (the command a
user runs for a large side with no account): the real large-side server for the tests and the benchmarks."""

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

def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class LlamaServer:
    """`with LlamaServer(model_path) as server: server.base_url` — started on a free loopback port."""

    def __init__(self, model: Path, threads: int = 1, n_ctx: int = 2048, startup_timeout: float = 90.0,
                 alias: str = SERVER_MODEL) -> None:
        self.model = model
        self.alias = alias  # the model name the server answers to
        self.threads = threads
        self.n_ctx = n_ctx
        self.startup_timeout = startup_timeout
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        self._log = tempfile.NamedTemporaryFile(prefix="llama-server-", suffix=".log", delete=False)  # noqa: SIM115
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> LlamaServer:
        self._process = subprocess.Popen(
            [sys.executable, "-m", "lmscales", "serve", "--model", str(self.model), "--port", str(self.port),
             "--n-ctx", str(self.n_ctx), "--threads", str(self.threads), "--alias", self.alias],
            stdout=self._log, stderr=subprocess.STDOUT,
        )
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        deadline = time.monotonic() + self.startup_timeout
        while True:
            if self._process.poll() is not None:
                raise RuntimeError(f"lmscales serve exited early: {Path(self._log.name).read_text()[-2000:]}")
            try:
                with opener.open(self.base_url + "/models", timeout=1) as response:
                    if response.status == 200:
                        return self
            except OSError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"lmscales serve did not come up within {self.startup_timeout:.0f} s")
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
