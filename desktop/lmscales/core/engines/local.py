"""The local engine: llama.cpp on this CPU, in a spawned child process.

Why a child process: a native crash in llama.cpp (a SIGSEGV in a matmul kernel has been seen) ends the
child, not the app; the child's CPU and memory are measured apart from the GUI's (its `pid`); and a
`Llama` object, which is not thread-safe, has exactly one owner. "spawn" works the same on Linux, macOS,
Windows and in a frozen app.

The parent stamps each delta with `time.perf_counter()` as it arrives, so every metric includes the cost
of the process boundary: what the user sees is what is measured.
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

import psutil

from lmscales.core import gguf, model_files, offline
from lmscales.core.defaults import DEFAULT_N_CTX
from lmscales.core.engines import local_worker
from lmscales.core.engines.base import EngineInfo, one_at_a_time
from lmscales.core.events import (
    EngineError,
    Event,
    Finished,
    GenerationRequest,
    NativeTimings,
    TextDelta,
)

_POLL_SECONDS = 0.05
_LOAD_TIMEOUT_SECONDS = 300.0


def default_threads() -> int:
    """Physical cores: llama.cpp gains nothing from hyper-threads and loses to their contention."""
    return psutil.cpu_count(logical=False) or os.cpu_count() or 1


class LoadError(Exception):
    """A model could not be loaded; `str(error)` is for the user. The previous model is still loaded."""


# Windows reports a native crash as the exception's NTSTATUS code (unsigned; some runtimes give it signed).
WINDOWS_CRASH_CODES = {
    0xC0000005: "access violation",
    0xC000001D: "illegal instruction: this processor lacks an instruction set llama.cpp was built for",
    0xC0000096: "privileged instruction",
    0xC00000FD: "stack overflow",
    0xC0000409: "stack buffer overrun",
    0xC0000374: "heap corruption",
    0xC0000094: "integer division by zero",
}


def describe_exit(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0 and -exitcode < 256:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = "unknown"
        if name == "SIGILL":
            name += ", illegal instruction: this processor lacks an instruction set llama.cpp was built for"
        return f"local engine crashed (signal {-exitcode}, {name})"
    if exitcode is None:
        return "local engine stopped unexpectedly"
    crash = WINDOWS_CRASH_CODES.get(exitcode & 0xFFFFFFFF)
    if crash is not None:
        return f"local engine crashed ({crash}, exception code 0x{exitcode & 0xFFFFFFFF:08X})"
    return f"local engine exited unexpectedly (exit code {exitcode})"


@dataclass(frozen=True)
class LoadedModel:
    info: gguf.GGUFInfo
    load_seconds: float
    n_ctx: int
    n_threads: int
    display_name: str


class _ChildGone(Exception):
    pass


class LocalEngine:
    """Drives one child process. One generation at a time; `cancel` and `pid` are safe from any thread."""

    def __init__(self, n_ctx: int = DEFAULT_N_CTX, n_threads: int | None = None) -> None:
        self.n_ctx = n_ctx
        self.n_threads = n_threads or default_threads()
        self._mp = multiprocessing.get_context("spawn")
        self._process: BaseProcess | None = None
        self._conn: Connection | None = None
        self._cancel_upto: Any = None
        self._ids = itertools.count(1)
        self._current_id = 0
        self._cancelled_through = 0  # survives a child restart, unlike the shared value
        self._busy = threading.Lock()
        self.model: LoadedModel | None = None

    # -- process lifecycle -------------------------------------------------------------------
    @property
    def pid(self) -> int | None:
        process = self._process
        return process.pid if process is not None and process.is_alive() else None

    @property
    def alive(self) -> bool:
        return self._process is not None and self._process.is_alive()

    def _spawn(self) -> None:
        parent_conn, child_conn = self._mp.Pipe(duplex=True)
        self._cancel_upto = self._mp.RawValue("q", self._cancelled_through)
        process = self._mp.Process(
            target=local_worker.main,
            args=(child_conn, self._cancel_upto, offline.enabled()),
            name="lmscales-local-engine",
            daemon=True,
        )
        process.start()
        child_conn.close()
        self._process, self._conn = process, parent_conn

    def _reap(self) -> str:
        """Forget a dead child and say how it died."""
        process = self._process
        reason = "local engine is not running"
        if process is not None:
            process.join(timeout=1.0)
            reason = describe_exit(process.exitcode)
        if self._conn is not None:
            self._conn.close()
        self._process = self._conn = None
        return reason

    def _receive(self, deadline: float | None = None) -> tuple[Any, ...]:
        conn, process = self._conn, self._process
        if conn is None or process is None:
            raise _ChildGone(self._reap())
        while True:
            try:
                if conn.poll(_POLL_SECONDS):
                    message: tuple[Any, ...] = conn.recv()
                    return message
            except (EOFError, OSError):
                raise _ChildGone(self._reap()) from None
            if not process.is_alive():
                raise _ChildGone(self._reap())
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError

    def _send(self, message: tuple[Any, ...]) -> None:
        if self._conn is None:
            raise _ChildGone(self._reap())
        try:
            self._conn.send(message)
        except (BrokenPipeError, OSError):
            raise _ChildGone(self._reap()) from None

    def _load_in_child(self, path: str, n_ctx: int | None = None, n_threads: int | None = None) -> float:
        self._send(("load", path, n_ctx or self.n_ctx, n_threads or self.n_threads))
        reply = self._receive(deadline=time.monotonic() + _LOAD_TIMEOUT_SECONDS)
        if reply[0] == "loaded":
            return float(reply[1]["load_seconds"])
        raise LoadError(str(reply[1]))

    def _restart(self) -> None:
        """Start a fresh child with the last good model (after a crash)."""
        if self.alive:
            return
        self._reap()
        self._spawn()
        if self.model is not None:
            path = self.model.info.path
            if not Path(path).exists():
                self.model = None
                raise LoadError(
                    f"The model file {path} was not found (deleted or moved), so the local engine cannot start "
                    "again. Open a model with the Model… button."
                )
            self._load_in_child(path)

    # -- public API --------------------------------------------------------------------------
    def load(
        self, path: str | os.PathLike[str], n_ctx: int | None = None, n_threads: int | None = None
    ) -> LoadedModel:
        """Load a GGUF (with a new context size or thread count, if given); on any failure raise `LoadError`
        and keep the previous model, context and threads working."""
        with self._busy:
            try:
                info = gguf.read_info(path)
            except gguf.GGUFError as error:
                raise LoadError(str(error) + self._still_loaded()) from None
            resolved = str(Path(path).resolve())
            n_ctx = n_ctx or self.n_ctx
            n_threads = n_threads or self.n_threads
            try:
                if not self.alive:  # a crashed child: a fresh one, without reloading the old model first
                    self._reap()
                    self._spawn()
                seconds = self._load_in_child(resolved, n_ctx, n_threads)
            except LoadError as error:
                raise LoadError(
                    f"llama.cpp could not load {Path(path).name} (architecture '{info.architecture}'): "
                    f"{error or 'no reason given'}. This llama.cpp build may not support that model, or "
                    "the file is damaged." + self._still_loaded()
                ) from None
            except (_ChildGone, TimeoutError) as error:
                reason = str(error) or f"no answer within {_LOAD_TIMEOUT_SECONDS:.0f} s"
                if self._process is not None:
                    self._process.kill()
                self._reap()
                try:
                    self._restart()
                except (_ChildGone, LoadError):
                    self.model = None
                raise LoadError(
                    f"Loading {Path(path).name} failed: {reason}." + self._still_loaded()
                ) from None
            self.n_ctx, self.n_threads = n_ctx, n_threads
            self.model = LoadedModel(
                info=dataclasses.replace(info, path=resolved),
                load_seconds=seconds,
                n_ctx=n_ctx,
                n_threads=n_threads,
                display_name=model_files.display_name(resolved, info.name),
            )
            return self.model

    @property
    def info(self) -> EngineInfo | None:
        model = self.model
        if model is None:
            return None
        return EngineInfo(
            kind="local",
            model=model.display_name,
            context_tokens=model.n_ctx,
            threads=model.n_threads,
            path=model.info.path,
            quantization=model.info.quantization,
            parameters=model.info.parameters_label,
            file_size_bytes=model.info.file_size,
            license=model.info.license or None,
        )

    def _still_loaded(self) -> str:
        if self.model is None:
            return ""
        return f" The previous model ({Path(self.model.info.path).name}) is still loaded."

    def cpu_seconds(self) -> float | None:
        """CPU time (user + system, all threads) the engine process has used so far."""
        pid = self.pid
        if pid is None:
            return None
        try:
            times = psutil.Process(pid).cpu_times()
        except psutil.Error:
            return None
        return float(times.user + times.system)

    def cancel(self) -> None:
        self._cancelled_through = self._current_id
        shared = self._cancel_upto
        if shared is not None:
            shared.value = self._current_id

    def generate(self, request: GenerationRequest) -> Iterator[Event]:
        return one_at_a_time(self._busy, "local", lambda: self._generate(request))

    def _generate(self, request: GenerationRequest) -> Iterator[Event]:
        submitted_at = time.perf_counter()
        deltas: list[tuple[float, str]] = []
        generation_id = next(self._ids)
        self._current_id = generation_id  # from here on, cancel() applies to this run, even during a restart
        try:
            self._restart()
        except LoadError as error:
            yield EngineError("model", str(error))
            return
        except _ChildGone as error:
            yield EngineError("crashed", f"{error}; the local engine could not be restarted.")
            return
        if self.model is None:
            yield EngineError("not_loaded", "No local model is loaded. Pick a GGUF model file first.")
            return
        if self._cancelled_through >= generation_id:  # stopped while the engine was restarting
            yield Finished(0, "measured", 0, "measured", submitted_at, (), "cancelled")
            return
        try:
            self._send(("generate", generation_id, request))
            while True:
                message = self._receive()
                kind = message[0]
                if len(message) > 1 and message[1] != generation_id:
                    continue  # a late reply of a run we already gave up on
                if kind == "delta":
                    delta = TextDelta(message[2], time.perf_counter())
                    deltas.append((delta.timestamp, delta.text))
                    yield delta
                elif kind == "finished":
                    info = message[2]
                    yield Finished(
                        prompt_tokens=info["prompt_tokens"],
                        prompt_tokens_provenance="measured",
                        output_tokens=info["output_tokens"],
                        output_tokens_provenance="measured",
                        submitted_at=submitted_at,
                        deltas=tuple(deltas),
                        stop_reason=info["stop_reason"],
                        native=NativeTimings(**info["native"]),
                        trimmed_messages=info["trimmed_messages"],
                    )
                    return
                elif kind == "error":
                    yield EngineError(message[2], message[3], partial_text="".join(t for _, t in deltas))
                    return
        except _ChildGone as gone:
            yield EngineError(
                "crashed",
                f"{gone}. The partial answer is kept; the next run starts a new engine.",
                partial_text="".join(t for _, t in deltas),
            )

    def close(self) -> None:
        process = self._process
        if process is None:
            return
        if process.is_alive():
            self.cancel()
            with contextlib.suppress(_ChildGone):
                self._send(("shutdown",))
            process.join(timeout=3.0)
            if process.is_alive():
                process.kill()
                process.join(timeout=3.0)
        self._reap()

    def __enter__(self) -> LocalEngine:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()
