"""The local engine's child process: starting and stopping it, the messages of a run over its pipe (with the
watchdog), how it died, and what memory a model needs.

Why a child process: a native crash in llama.cpp (a SIGSEGV in a matmul kernel has been seen) ends the
child, not the app; the child's CPU and memory are measured apart from the GUI's (its `pid`); and a
`Llama` object, which is not thread-safe, has exactly one owner. "spawn" works the same on Linux, macOS,
Windows and in a frozen app.

The child stamps each token's text with `time.perf_counter()` (a system-wide clock on every platform) as
it is made and sends the pieces in small batches (`llama_loop`); the parent keeps those stamps, bounded by
the submit instant and the arrival (`child_stamp`), so the rates do not depend on pipe latency. The arrivals
are kept too, for the benchmark that compares the two.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import signal
import time
from collections.abc import Callable, Iterator
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any

import psutil

from lmscales.core import gguf, offline
from lmscales.core.engines import local_worker
from lmscales.core.engines.local_worker import RunOptions
from lmscales.core.events import EngineError, Event, Finished, GenerationRequest, NativeTimings, TextDelta

log = logging.getLogger(__name__)

POLL_SECONDS = 0.05
LOAD_TIMEOUT_SECONDS = 300.0
# What a loaded model needs beyond its file: the KV cache, compute buffers, the runtime. Errs high.
_LOAD_OVERHEAD = 1.25
_LOAD_MARGIN_BYTES = 256 * 1024 * 1024


class LoadError(Exception):
    """A model could not be loaded; `str(error)` is for the user. The previous model is still loaded."""


class ChildGone(Exception):
    """The engine process ended or its pipe broke; `str(error)` says how (see `describe_exit`)."""


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


def child_stamp(made: float, submitted_at: float, arrived: float) -> float:
    """The engine process's time stamp of a piece of text, in this process's `perf_counter` (a system-wide
    clock on Linux, macOS and Windows alike), kept between the submit and the arrival: a clock that is not
    shared after all can never make a token come before its request or after it was seen."""
    return min(max(made, submitted_at), arrived)


def finished_event(
    info: dict[str, Any], submitted_at: float, deltas: list[tuple[float, str]], arrivals: list[float]
) -> Finished:
    """The child's "finished" message of a run as the event, with the text's stamps and arrivals."""
    return Finished(
        prompt_tokens=info["prompt_tokens"],
        prompt_tokens_provenance="measured",
        output_tokens=info["output_tokens"],
        output_tokens_provenance="measured",
        submitted_at=submitted_at,
        deltas=tuple(deltas),
        stop_reason=info["stop_reason"],
        native=NativeTimings(**info["native"]),
        trimmed_messages=info["trimmed_messages"],
        cached_prompt_tokens=info["cached_prompt_tokens"],
        threads=info["threads"],
        delta_arrivals=tuple(arrivals),
    )


def available_memory() -> int:
    """Bytes the OS can give a new model without swapping."""
    return int(psutil.virtual_memory().available)


def memory_needed(info: gguf.GGUFInfo) -> int:
    """A generous estimate of what loading `info` takes (file mapped in, KV cache and buffers)."""
    return int(info.file_size * _LOAD_OVERHEAD) + _LOAD_MARGIN_BYTES


class EngineProcess:
    """One spawned engine process (`local_worker.main`) and the pipe to it; `pid` and `cancel_upto` are safe
    from any thread. A dead or broken child raises `ChildGone` and is forgotten (`reap`)."""

    def __init__(self) -> None:
        self._mp = multiprocessing.get_context("spawn")
        self.process: BaseProcess | None = None
        self.conn: Connection | None = None
        self.cancel_upto: Any = None  # shared with the child: runs with an id up to this one are cancelled

    @property
    def pid(self) -> int | None:
        process = self.process
        return process.pid if process is not None and process.is_alive() else None

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.is_alive()

    def spawn(self, cancelled_through: int, wait_policy: str | None, low_priority: bool) -> None:
        parent_conn, child_conn = self._mp.Pipe(duplex=True)
        self.cancel_upto = self._mp.RawValue("q", cancelled_through)
        process = self._mp.Process(
            target=local_worker.main,
            args=(child_conn, self.cancel_upto, offline.enabled()),
            # The child watches this process and ends when it is gone.
            kwargs={"parent_pid": os.getpid(), "wait_policy": wait_policy, "low_priority": low_priority},
            name="lmscales-local-engine",
            daemon=True,
        )
        process.start()
        child_conn.close()
        self.process, self.conn = process, parent_conn

    def reap(self) -> str:
        """Forget a dead child and say how it died."""
        process = self.process
        reason = "local engine is not running"
        if process is not None:
            process.join(timeout=1.0)
            reason = describe_exit(process.exitcode)
        if self.conn is not None:
            self.conn.close()
        self.process = self.conn = None
        return reason

    def kill(self) -> str:
        """Kill the child (a hung or half-loaded process cannot be asked to quit) and forget it."""
        if self.process is not None:
            self.process.kill()
        return self.reap()

    def receive(self, deadline: float | None = None) -> tuple[Any, ...]:
        conn, process = self.conn, self.process
        if conn is None or process is None:
            raise ChildGone(self.reap())
        while True:
            try:
                if conn.poll(POLL_SECONDS):
                    message: tuple[Any, ...] = conn.recv()
                    return message
            except (EOFError, OSError):
                raise ChildGone(self.reap()) from None
            if not process.is_alive():
                raise ChildGone(self.reap())
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError

    def send(self, message: tuple[Any, ...]) -> None:
        if self.conn is None:
            raise ChildGone(self.reap())
        try:
            self.conn.send(message)
        except (BrokenPipeError, OSError):
            raise ChildGone(self.reap()) from None

    def stop(self) -> None:
        """Ask the child to quit, kill it if it does not, and forget it."""
        process = self.process
        if process is None:
            return
        if process.is_alive():
            with contextlib.suppress(ChildGone):
                self.send(("shutdown",))
            process.join(timeout=3.0)
            if process.is_alive():
                process.kill()
                process.join(timeout=3.0)
        self.reap()

    def cpu_seconds(self) -> float | None:
        """CPU time (user + system, all threads) the child has used so far."""
        pid = self.pid
        if pid is None:
            return None
        try:
            times = psutil.Process(pid).cpu_times()
        except psutil.Error:
            return None
        return float(times.user + times.system)


def stream_run(
    child: EngineProcess,
    generation_id: int,
    request: GenerationRequest,
    options: RunOptions,
    submitted_at: float,
    watchdog_seconds: Callable[[], float],
) -> Iterator[Event]:
    """One run in the child: its text as it comes, then `Finished`, or an `EngineError` that keeps the text so
    far. Replies of other (given up) runs are skipped. `watchdog_seconds` is read at each wait, so a change
    during the run applies to it."""
    deltas: list[tuple[float, str]] = []
    arrivals: list[float] = []
    try:
        child.send(("generate", generation_id, request, options))
        while True:
            try:
                message = child.receive(deadline=time.monotonic() + watchdog_seconds())
            except TimeoutError:
                yield _hung(child, watchdog_seconds(), deltas)
                return
            kind = message[0]
            if len(message) > 1 and message[1] != generation_id:
                continue  # a late reply of a run we already gave up on
            if kind == "deltas":
                arrived = time.perf_counter()
                for made, text in message[2]:
                    delta = TextDelta(text, child_stamp(made, submitted_at, arrived))
                    deltas.append((delta.timestamp, text))
                    arrivals.append(arrived)
                    yield delta
            elif kind == "finished":
                yield finished_event(message[2], submitted_at, deltas, arrivals)
                return
            elif kind == "error":
                yield EngineError(message[2], message[3], partial_text="".join(t for _, t in deltas))
                return
    except ChildGone as gone:
        yield EngineError(
            "crashed",
            f"{gone}. The partial answer is kept; the next run starts a new engine.",
            partial_text="".join(t for _, t in deltas),
        )


def _hung(child: EngineProcess, watchdog_seconds: float, deltas: list[tuple[float, str]]) -> EngineError:
    """The watchdog: the child said nothing for `watchdog_seconds` during a run. It is killed (a stopped
    or deadlocked process cannot be asked to quit); the next run starts a new one with the same model."""
    child.kill()
    log.warning("local engine gave no answer for %.0f s during a run; killed", watchdog_seconds)
    return EngineError(
        "hung",
        f"The local engine stopped responding (no answer for {watchdog_seconds:.0f} s), so it was "
        "stopped. The partial answer is kept; the next run starts a new engine.",
        partial_text="".join(t for _, t in deltas),
    )
