"""`lmscales serve`: a GGUF file (the bundled model by default) as an OpenAI-compatible server on this
computer, so the large side can be tried end to end with no account anywhere.

It is llama-cpp-python's own server (`llama_cpp.server`), started the way this project's llama.cpp build
needs: the CPU backend for this processor is loaded first (`core.engines.cpu_backends`; a build with CPU
variants has none until asked, and `python -m llama_cpp.server` never asks, so it cannot load any model).
It listens on loopback only (127.0.0.1, never a LAN address: the server has no key), prints the base URL
and model name to paste into the app once it answers, and ends cleanly on Ctrl+C (or SIGTERM).

The web stack it needs (uvicorn, FastAPI, sse-starlette, pydantic-settings: llama-cpp-python's `server`
extra) comes with the developer tools; the frozen app leaves it out, and the command then says what is
missing and how to get it. `available()` lets the window say so too, without importing any of it.
"""

from __future__ import annotations

import argparse
import errno
import importlib.util
import os
import signal
import socket
import sys
from pathlib import Path
from typing import Any

LOOPBACK = "127.0.0.1"
# llama.cpp's own server listens here: the window's "A server on this computer" looks on this port too.
DEFAULT_PORT = 8080
EXIT_FAILED = 1
EXIT_USAGE = 2
# What `llama_cpp.server` imports, as (module, distribution): llama-cpp-python's `server` extra.
SERVER_PACKAGES = (
    ("uvicorn", "uvicorn"),
    ("fastapi", "fastapi"),
    ("sse_starlette", "sse-starlette"),
    ("starlette_context", "starlette-context"),
    ("pydantic_settings", "pydantic-settings"),
)


class ServeError(Exception):
    """A failure to report in one sentence, and the exit status to end with."""

    def __init__(self, message: str, code: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.code = code


def missing_packages() -> list[str]:
    """The distributions of llama-cpp-python's server that cannot be imported here (none in a dev setup)."""
    missing = []
    for module, distribution in SERVER_PACKAGES:
        try:
            found = importlib.util.find_spec(module) is not None
        except (ImportError, ValueError):  # a broken install, or a module set aside in sys.modules
            found = False
        if not found:
            missing.append(distribution)
    return missing


def available() -> bool:
    return not missing_packages()


def missing_message(missing: list[str]) -> str:
    names = ", ".join(missing)
    if getattr(sys, "frozen", False):
        return (f"lmscales serve needs llama-cpp-python's server, which this installed app leaves out ({names}). "
                "Run it from a source checkout (python3 dev.py setup, then .venv/bin/lmscales serve; Windows: "
                "py dev.py setup, then .venv\\Scripts\\lmscales serve), or start Ollama, LM Studio or llama.cpp's "
                "llama-server on this computer.")
    try:
        from importlib.metadata import version

        requirement = f"llama-cpp-python[server]=={version('llama-cpp-python')}"
    except Exception:  # no metadata: ask for the extra of whatever is installed
        requirement = "llama-cpp-python[server]"
    return (f"lmscales serve needs llama-cpp-python's server, and these packages are missing: {names}. Install "
            f'them into this Python with: "{sys.executable}" -m pip install "{requirement}" '
            "(python3 dev.py setup installs them with the developer tools).")


# -- arguments ----------------------------------------------------------------------------------------------
def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a port number (0 to 65535; 0 picks a free one)")
    return port


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not a positive whole number")
    return value


def add_command(commands: Any) -> None:
    """Register `serve` on the command line's subparsers (called by the composition root, `__main__`)."""
    from lmscales.core.defaults import DEFAULT_N_CTX

    serve = commands.add_parser(
        "serve", help="a GGUF model as an OpenAI-compatible server on this computer (a large side with no account)",
        description="Serve a GGUF model (default: the bundled one) as an OpenAI-compatible API on 127.0.0.1 only, "
                    "for the app's large side. Ctrl+C stops it.")
    serve.add_argument("--model", metavar="PATH", help="the GGUF file (default: the bundled model)")
    serve.add_argument("--port", type=_port, default=DEFAULT_PORT, metavar="N",
                       help=f"port on 127.0.0.1 (default {DEFAULT_PORT}, llama.cpp's; 0 picks a free one)")
    serve.add_argument("--threads", type=_positive, metavar="N",
                       help="llama.cpp threads (default: the cores this process may use)")
    serve.add_argument("--n-ctx", type=_positive, default=DEFAULT_N_CTX, metavar="N", help="context size in tokens")
    serve.add_argument("--alias", metavar="NAME",
                       help="the model name the server lists and the app sends (default: the file's name)")
    serve.set_defaults(handler=run)


# -- serving ------------------------------------------------------------------------------------------------
def run(args: argparse.Namespace) -> int:
    try:
        return serve(model=args.model, port=args.port, threads=args.threads, n_ctx=args.n_ctx, alias=args.alias)
    except ServeError as error:
        print(f"lmscales: {error}", file=sys.stderr)
        return error.code


def _model_path(model: str | None) -> Path:
    if model is None:
        from lmscales.core.bundled_model import ModelFileError, load_manifest, verify

        try:
            return verify(load_manifest())
        except ModelFileError as error:
            raise ServeError(str(error)) from None
    path = Path(model).expanduser()
    if not path.is_file():
        raise ServeError(f"Model file not found: {path}", EXIT_USAGE)
    return path


def _bind(port: int) -> socket.socket:
    """The listening socket, bound before the model loads so that a busy port is said at once."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if sys.platform != "win32":  # on Windows SO_REUSEADDR would let two servers share the port
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((LOOPBACK, port))
    except OSError as error:
        sock.close()
        if error.errno in (errno.EADDRINUSE, getattr(errno, "WSAEADDRINUSE", -1), errno.EACCES):
            raise ServeError(f"Port {port} on this computer is in use or not allowed (another server?). Choose "
                             "another with --port N, or --port 0 for a free one.") from None
        raise ServeError(f"Cannot listen on {LOOPBACK}:{port}: {error.strerror or error}.") from None
    sock.listen(128)
    return sock


def _load_app(path: Path, alias: str, threads: int, n_ctx: int, port: int) -> Any:
    """llama-cpp-python's FastAPI app with the model loaded."""
    from lmscales.core.engines.cpu_backends import CpuBackendError, ensure_loaded

    try:
        ensure_loaded()
    except CpuBackendError as error:
        raise ServeError(str(error)) from None
    from llama_cpp.server.app import create_app
    from llama_cpp.server.settings import ModelSettings, ServerSettings

    # A CONFIG_FILE in the environment would replace every setting below, the model included.
    os.environ.pop("CONFIG_FILE", None)
    # pydantic-settings also reads the environment: API_KEY would make the server ask for a key the banner
    # says is not needed, so it is set here, as are the few settings this command decides.
    server_settings = ServerSettings(host=LOOPBACK, port=port, api_key=None)
    model_settings = ModelSettings(model=str(path), model_alias=alias, n_ctx=n_ctx, n_threads=threads,
                                   n_threads_batch=threads, n_gpu_layers=0, verbose=False)
    try:
        return create_app(server_settings=server_settings, model_settings=[model_settings])
    except (ValueError, RuntimeError, OSError) as error:
        raise ServeError(f"Could not load {path.name}: it may not be a GGUF model file, or it is damaged "
                         f"({error}).") from None


def banner(path: Path, alias: str, port: int, threads: int, n_ctx: int) -> str:
    base_url = f"http://{LOOPBACK}:{port}/v1"
    preset = ('the preset "llama.cpp server"' if port == DEFAULT_PORT else 'the preset "Custom"')
    return "\n".join([
        f"Serving {path.name} on this computer only ({LOOPBACK}), {threads} thread{'s' if threads != 1 else ''}, "
        f"context {n_ctx} tokens.",
        "",
        f"  Base URL:  {base_url}",
        f"  Model:     {alias}",
        "  API key:   none needed",
        "",
        f"In LM Scales: Settings › Large model endpoint… (Ctrl+Shift+E), {preset}, that base URL and model name.",
        "Or start the window with it:",
        f"  lmscales --base-url {base_url} --remote-model {alias}",
        "",
        "Press Ctrl+C to stop the server.",
    ])


def serve(model: str | None = None, port: int = DEFAULT_PORT, threads: int | None = None, n_ctx: int = 4096,
          alias: str | None = None) -> int:
    missing = missing_packages()
    if missing:
        raise ServeError(missing_message(missing), EXIT_USAGE)
    path = _model_path(model)
    if threads is None:
        from lmscales.core.thread_counts import usable_cores

        threads = usable_cores()
    alias = alias or path.stem
    sock = _bind(port)
    port = int(sock.getsockname()[1])
    try:
        print(f"Loading {path.name}…", flush=True)
        app = _load_app(path, alias, threads, n_ctx, port)
        _run_until_stopped(app, sock, banner(path, alias, port, threads, n_ctx))
    finally:
        sock.close()
    print("The server has stopped.", flush=True)
    return 0


def _run_until_stopped(app: Any, sock: socket.socket, ready_text: str) -> None:
    import uvicorn

    class Server(uvicorn.Server):
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets=sockets)
            if self.started:  # answering now: the moment to say where
                print(ready_text, flush=True)

    # Quiet: the banner says what matters; requests are not logged. A stream still running at Ctrl+C gets a
    # few seconds to finish.
    config = uvicorn.Config(app, log_level="warning", access_log=False, timeout_graceful_shutdown=5)
    server = Server(config)
    # uvicorn handles SIGINT and SIGTERM itself: it shuts down, then sends the signal again to the handler that
    # was there before it. Python's own would raise KeyboardInterrupt inside the event loop (a traceback), and
    # SIGTERM's default would end the process before it says it has stopped: a handler that does nothing
    # stands in while the server runs.
    previous = {number: signal.signal(number, _already_handled) for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        server.run(sockets=[sock])
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def _already_handled(_signum: int, _frame: Any) -> None:
    """uvicorn has shut the server down for this signal; nothing is left to do."""
