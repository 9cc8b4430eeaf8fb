"""The local engine: llama.cpp on this CPU, in a spawned child process.

Why a child process: a native crash in llama.cpp (a SIGSEGV in a matmul kernel has been seen) ends the
child, not the app; the child's CPU and memory are measured apart from the GUI's (its `pid`); and a
`Llama` object, which is not thread-safe, has exactly one owner. "spawn" works the same on Linux, macOS,
Windows and in a frozen app.

The child stamps each token's text with `time.perf_counter()` (a system-wide clock on every platform) as
it is made and sends the pieces in small batches (`llama_loop`); the parent keeps those stamps, bounded by
the submit instant and the arrival, so the rates do not depend on pipe latency. The arrivals are kept too,
for the benchmark that compares the two.

Threads: a measured table per model file (`threads.ThreadTable`) gives the decode and prompt thread counts;
at the start of each run they are cut to the cores other processes leave idle (`threads.LoadProbe`). The
child runs below the GUI's priority, with OpenMP's idle threads sleeping rather than spinning.
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import logging
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

import psutil

from lmscales.core import gguf, model_files, offline
from lmscales.core.defaults import DEFAULT_N_CTX, DEFAULT_WATCHDOG_SECONDS
from lmscales.core.engines import local_worker
from lmscales.core.engines.base import EngineInfo, one_at_a_time
from lmscales.core.engines.local_worker import RunOptions
from lmscales.core.events import (
    EngineError,
    Event,
    Finished,
    GenerationRequest,
    NativeTimings,
    TextDelta,
)
from lmscales.core.sampler import RaplMeter
from lmscales.core.threads import (
    LoadProbe,
    Preference,
    ThreadChoice,
    ThreadRow,
    ThreadStore,
    ThreadTable,
    counts_to_measure,
    describe_threads,
    model_key,
    threads_for_run,
    usable_cores,
)

log = logging.getLogger(__name__)

_POLL_SECONDS = 0.05
_LOAD_TIMEOUT_SECONDS = 300.0
# What a loaded model needs beyond its file: the KV cache, compute buffers, the runtime. Errs high.
_LOAD_OVERHEAD = 1.25
_LOAD_MARGIN_BYTES = 256 * 1024 * 1024


def default_threads() -> int:
    """Before anything is measured: the cores this process may use (physical, within its affinity and
    cgroup quota); llama.cpp gains nothing from hyper-threads and loses to their contention."""
    return usable_cores()


def child_stamp(made: float, submitted_at: float, arrived: float) -> float:
    """The engine process's time stamp of a piece of text, in this process's `perf_counter` (a system-wide
    clock on Linux, macOS and Windows alike), kept between the submit and the arrival: a clock that is not
    shared after all can never make a token come before its request or after it was seen."""
    return min(max(made, submitted_at), arrived)


# libgomp spins this many times at a barrier, then sleeps. Measured on the 2-core machine with SmolLM2-135M
# (`bench engine --thread-counts 1,2 --wait-policy ...`): OpenMP's default spinning left our 2-thread decode at
# 0.96 of native (the spinning worker takes the core the sampler and the text thread need); "passive" (sleep
# at once) cut 2-thread decode from ~140 to ~42 tok/s (a wake-up at every one of a token's barriers); a short
# spin kept the speed (131-142 tok/s) at a ratio of 0.98 and the same CPU-seconds. It is also what libgomp
# itself uses when there are more threads than cores.
WAIT_POLICY = "spin:1000"


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
    n_threads_batch: int | None = None
    threads_reason: str = ""  # "1 thread (measured fastest)"; empty: as set


class _ChildGone(Exception):
    pass


def available_memory() -> int:
    """Bytes the OS can give a new model without swapping."""
    return int(psutil.virtual_memory().available)


def memory_needed(info: gguf.GGUFInfo) -> int:
    """A generous estimate of what loading `info` takes (file mapped in, KV cache and buffers)."""
    return int(info.file_size * _LOAD_OVERHEAD) + _LOAD_MARGIN_BYTES


class LocalEngine:
    """Drives one child process. One generation at a time; `cancel` and `pid` are safe from any thread."""

    def __init__(
        self,
        n_ctx: int = DEFAULT_N_CTX,
        n_threads: int | None = None,
        watchdog_seconds: float = DEFAULT_WATCHDOG_SECONDS,
        free_memory: Callable[[], int] = available_memory,
        n_threads_batch: int | None = None,
        reuse_prompt_cache: bool = True,
        adapt_threads: bool = True,
        wait_policy: str | None = WAIT_POLICY,
        low_priority: bool = True,
    ) -> None:
        self.n_ctx = n_ctx
        self.n_threads = n_threads or default_threads()
        self.n_threads_batch = n_threads_batch or self.n_threads
        self.threads_reason = ""  # for the model card: "1 thread (measured fastest)"
        self.thread_table: ThreadTable | None = None
        self.watchdog_seconds = watchdog_seconds
        self.reuse_prompt_cache = reuse_prompt_cache
        self.adapt_threads = adapt_threads
        self.wait_policy, self.low_priority = wait_policy, low_priority
        self.usable_cores = usable_cores()
        self.openmp_runtime = "unknown"  # the child says, once a model is loaded
        self._chat_template = True  # whether the child formats prompts with the file's template (else ChatML)
        self.load_probe = LoadProbe(lambda: self.pid)
        self._free_memory = free_memory  # injectable: tests play a small machine
        self._mp = multiprocessing.get_context("spawn")
        self._process: BaseProcess | None = None
        self._conn: Connection | None = None
        self._cancel_upto: Any = None
        self._ids = itertools.count(1)
        self._issued_id = 0
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
            # The child watches this process and ends when it is gone.
            kwargs={"parent_pid": os.getpid(), "wait_policy": self.wait_policy, "low_priority": self.low_priority},
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
            self.openmp_runtime = str(reply[1].get("openmp", "unknown"))
            self._chat_template = bool(reply[1].get("chat_template", True))
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

    def _unload_in_child(self) -> None:
        self._send(("unload",))
        reply = self._receive(deadline=time.monotonic() + _LOAD_TIMEOUT_SECONDS)
        if reply[0] != "unloaded":
            raise _ChildGone(f"unexpected reply {reply[0]!r} to unload")

    def _must_close_first(self, info: gguf.GGUFInfo) -> bool:
        """True when the new model and the loaded one cannot both fit in memory: the old one goes first."""
        if self.model is None or not self.alive:
            return False
        free, needed = self._free_memory(), memory_needed(info)
        if free >= needed:
            return False
        log.info("%s MB free, about %s MB needed for %s: closing %s before loading it", free >> 20, needed >> 20,
                 Path(info.path).name, Path(self.model.info.path).name)
        return True

    def _recover_after_failed_load(self, closed_first: bool) -> str:
        """After a load failed: the previous model running again if at all possible; says what the user has."""
        previous = self.model
        if previous is None:
            return ""
        name = Path(previous.info.path).name
        if not self.alive:  # the child died or hung during the load: a fresh one with the old model
            if self._process is not None:
                self._process.kill()
            self._reap()
            try:
                self._restart()
            except (_ChildGone, LoadError, TimeoutError):
                self.model = None
                return f" The previous model ({name}) could not be started again; open a model to go on."
            return self._still_loaded()
        if not closed_first:
            return self._still_loaded()
        try:
            self._load_in_child(previous.info.path, previous.n_ctx, previous.n_threads)
        except (_ChildGone, LoadError, TimeoutError):
            if self._process is not None:
                self._process.kill()
            self._reap()
            self.model = None
            return (f" The previous model ({name}) had been closed to make room and could not be loaded again; "
                    "open a model to go on.")
        return (f" There was not enough free memory for both, so the previous model ({name}) was closed first; "
                "it has been loaded again.")

    # -- public API --------------------------------------------------------------------------
    def load(
        self, path: str | os.PathLike[str], n_ctx: int | None = None, n_threads: int | None = None
    ) -> LoadedModel:
        """Load a GGUF (with a new context size or thread count, if given); on any failure raise `LoadError`
        and keep the previous model, context and threads working.

        When free memory cannot hold the new model beside the old one, the old one is closed first (peak
        memory is then one model, not two); if the new one then fails, the old one is loaded again."""
        with self._busy:
            try:
                info = gguf.read_info(path)
            except gguf.GGUFError as error:
                raise LoadError(str(error) + self._still_loaded()) from None
            resolved = str(Path(path).resolve())
            n_ctx = n_ctx or self.n_ctx
            n_threads = n_threads or self.n_threads
            closed_first = False
            try:
                if not self.alive:  # a crashed child: a fresh one, without reloading the old model first
                    self._reap()
                    self._spawn()
                elif self._must_close_first(dataclasses.replace(info, path=resolved)):
                    self._unload_in_child()
                    closed_first = True
                seconds = self._load_in_child(resolved, n_ctx, n_threads)
            except LoadError as error:
                raise LoadError(
                    f"llama.cpp could not load {Path(path).name} (architecture '{info.architecture}'): "
                    f"{error or 'no reason given'}. This llama.cpp build may not support that model, or "
                    "the file is damaged." + self._recover_after_failed_load(closed_first)
                ) from None
            except (_ChildGone, TimeoutError) as error:
                reason = str(error) or f"no answer within {_LOAD_TIMEOUT_SECONDS:.0f} s"
                if self._process is not None:
                    self._process.kill()
                self._reap()
                raise LoadError(
                    f"Loading {Path(path).name} failed: {reason}." + self._recover_after_failed_load(closed_first)
                ) from None
            if n_threads != self.n_threads or (self.model is not None and self.model.info.path != resolved):
                # A new count, or another model: both phases at that count until its own table says more.
                self.n_threads_batch, self.threads_reason, self.thread_table = n_threads, "", None
            self.n_ctx, self.n_threads = n_ctx, n_threads
            if self.adapt_threads:
                self.load_probe.start()  # readings from now on, so the first run already knows the load
            self.model = LoadedModel(
                # The child's word on the template, which is what formats the prompt, over the header's.
                info=dataclasses.replace(info, path=resolved, has_chat_template=self._chat_template),
                load_seconds=seconds,
                n_ctx=n_ctx,
                n_threads=n_threads,
                display_name=model_files.display_name(resolved, info.name),
                n_threads_batch=self.n_threads_batch,
                threads_reason=self.threads_reason,
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
            threads=self.n_threads,
            path=model.info.path,
            quantization=model.info.quantization,
            parameters=model.info.parameters_label,
            file_size_bytes=model.info.file_size,
            license=model.info.license or None,
            has_chat_template=model.info.has_chat_template,
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
        """Stop every run issued so far, started or not."""
        issued = self._issued_id
        self._cancelled_through = issued
        shared = self._cancel_upto
        if shared is not None:
            shared.value = issued

    def generate(self, request: GenerationRequest) -> Iterator[Event]:
        # The run's identity exists from this call on, not from the worker's first step of the generator, so
        # a cancel() in between applies to this run (and not to the one before it).
        generation_id = next(self._ids)
        self._issued_id = generation_id
        return one_at_a_time(self._busy, "local", lambda: self._generate(request, generation_id))

    def _generate(self, request: GenerationRequest, generation_id: int) -> Iterator[Event]:
        submitted_at = time.perf_counter()
        deltas: list[tuple[float, str]] = []
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
        options = self._run_options()
        arrivals: list[float] = []
        try:
            self._send(("generate", generation_id, request, options))
            while True:
                try:
                    message = self._receive(deadline=time.monotonic() + self.watchdog_seconds)
                except TimeoutError:
                    yield self._hung(deltas)
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
                        cached_prompt_tokens=info["cached_prompt_tokens"],
                        threads=info["threads"],
                        delta_arrivals=tuple(arrivals),
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

    def _run_options(self) -> RunOptions:
        """This run's thread counts: the chosen ones, cut to the cores other processes leave idle."""
        threads, batch = self.n_threads, self.n_threads_batch
        if self.adapt_threads:
            self.load_probe.start()
            busy = self.load_probe.busy_elsewhere()
            if busy is None:  # the first run right after a load: one more reading, over the load's span
                self.load_probe.read_once()
                busy = self.load_probe.busy_elsewhere()
            threads = threads_for_run(threads, self.usable_cores, busy)
            batch = threads_for_run(batch, self.usable_cores, busy)
        return RunOptions(reuse_cache=self.reuse_prompt_cache, threads=threads, threads_batch=batch)

    def measure_threads(
        self,
        counts: list[int] | None = None,
        decode_tokens: int = 48,
        repeats: int = 2,
        progress: Callable[[int, int], None] | None = None,
    ) -> ThreadTable:
        """Decode and prompt-evaluation rates, CPU-seconds (and joules where RAPL can be read) per 100 tokens
        for each thread count, on the loaded model: a few seconds. The best of `repeats` rounds per count
        (noise only slows a run down); rounds go through all counts in turn, so a passing disturbance does not
        hit one count only. `progress(done, total)` after each measurement."""
        if self.model is None:
            raise LoadError("No local model is loaded.")
        counts = counts or counts_to_measure(self.usable_cores)
        rapl = RaplMeter()
        best: dict[int, ThreadRow] = {}
        total, done = len(counts) * repeats, 0
        with self._busy:
            try:
                self._restart()
                for warm_up in ((64, 0), (0, 16)):  # page the weights in, start the threads
                    self._send(("measure", counts[-1], *warm_up))
                    self._measure_reply()
                for _round in range(repeats):
                    for n in counts:
                        row = self._measure_one(n, decode_tokens, rapl)
                        best[n] = best[n].better_of(row) if n in best else row
                        done += 1
                        if progress is not None:
                            progress(done, total)
            except (_ChildGone, TimeoutError) as error:
                if self._process is not None:
                    self._process.kill()
                self._reap()
                raise LoadError(f"Measuring the threads failed: {error or 'no answer'}.") from None
        return ThreadTable(rows=tuple(best[n] for n in counts), measured_at=time.strftime("%Y-%m-%dT%H:%M:%S"),
                           model=self.model.display_name, usable_cores=self.usable_cores)

    def choose_threads(
        self,
        store: ThreadStore,
        preference: Preference = "fastest",
        measure: bool = True,
        again: bool = False,
        progress: Callable[[int, int], None] | None = None,
    ) -> ThreadChoice | None:
        """Take the thread counts from the loaded model file's measured table: the stored one, or (when there is
        none and `measure`, or `again`) a new measurement, which is then stored. None: nothing measured, the
        counts stay as they are. Thread counts apply per run, so no reload is needed."""
        if self.model is None:
            return None
        key = self.thread_key()
        table = None if again else store.get(key)
        if table is None and (measure or again):
            table = self.measure_threads(progress=progress)
            try:
                store.put(key, table)
            except OSError as error:  # still used for this session
                log.warning("could not store the thread measurements: %s", error)
        if table is None:
            return None
        choice = table.choose(preference)
        self.thread_table = table
        self.set_threads(choice.threads, choice.threads_batch, choice.reason)
        return choice

    @property
    def wait_policy_applied(self) -> str:
        """The wait policy that took effect: "spin:N" only means something to libgomp, "passive"/"active" to an
        OpenMP runtime; with ggml's own thread pool (Apple builds) there is none to set."""
        policy = self.wait_policy
        if not policy or (policy.startswith("spin:") and self.openmp_runtime != "libgomp") or (
                self.openmp_runtime == "none"):
            return "default"
        return policy

    def thread_key(self) -> str:
        """Where the loaded model's thread table is kept in a `ThreadStore`."""
        assert self.model is not None
        return model_key(self.model.info.path, self.usable_cores, self.wait_policy_applied)

    def set_threads(self, threads: int, threads_batch: int | None = None, reason: str = "") -> None:
        """The decode and prompt-evaluation thread counts from the next run on (the model stays loaded)."""
        self.n_threads = threads
        self.n_threads_batch = threads_batch or threads
        self.threads_reason = reason or describe_threads(threads)
        if self.model is not None:
            self.model = dataclasses.replace(self.model, n_threads=self.n_threads, n_threads_batch=self.n_threads_batch,
                                             threads_reason=self.threads_reason)

    def _measure_reply(self) -> dict[str, float]:
        reply = self._receive(deadline=time.monotonic() + _LOAD_TIMEOUT_SECONDS)
        while reply[0] not in ("measured", "measure_error"):  # a late reply of a run given up on
            reply = self._receive(deadline=time.monotonic() + _LOAD_TIMEOUT_SECONDS)
        if reply[0] != "measured":
            raise LoadError(str(reply[1]))
        figures: dict[str, float] = reply[1]
        return figures

    def _measure_one(self, n: int, decode_tokens: int, rapl: RaplMeter) -> ThreadRow:
        """Prompt evaluation and decode are sent as two commands, so the package energy of each is read
        around it alone."""
        energy: list[float | None] = []
        figures: dict[str, float] = {}
        for prompt, decode in ((128, 0), (0, decode_tokens)):
            before = rapl.read() if rapl.available else None
            self._send(("measure", n, prompt, decode))
            figures.update(self._measure_reply())
            after = rapl.read() if rapl.available else None
            energy.append(rapl.joules_between(before, after) if before and after else None)
        return ThreadRow.from_figures(figures, decode_joules=energy[1], prefill_joules=energy[0])

    def _hung(self, deltas: list[tuple[float, str]]) -> EngineError:
        """The watchdog: the child said nothing for `watchdog_seconds` during a run. It is killed (a stopped
        or deadlocked process cannot be asked to quit); the next run starts a new one with the same model."""
        if self._process is not None:
            self._process.kill()
        self._reap()
        log.warning("local engine gave no answer for %.0f s during a run; killed", self.watchdog_seconds)
        return EngineError(
            "hung",
            f"The local engine stopped responding (no answer for {self.watchdog_seconds:.0f} s), so it was "
            "stopped. The partial answer is kept; the next run starts a new engine.",
            partial_text="".join(t for _, t in deltas),
        )

    def close(self) -> None:
        self.load_probe.stop()
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
