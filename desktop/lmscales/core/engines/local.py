"""The local engine: llama.cpp on this CPU, in a spawned child process.

This module holds the engine itself: loading (and swapping) models, runs, cancelling, the watchdog. The
child process, its pipe, how it died and the memory a model needs are in `local_process` (why a child
process, and how the token stamps are kept, are said there); measuring and choosing thread counts in
`local_threads`. The child runs below the GUI's priority, with OpenMP's idle threads sleeping rather than
spinning. The names of those two modules that callers use are importable from here too.
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lmscales.core import bundled_model, gguf
from lmscales.core.defaults import DEFAULT_N_CTX, DEFAULT_WATCHDOG_SECONDS
from lmscales.core.engines.base import EngineInfo, one_at_a_time
from lmscales.core.engines.llama_loop import MIN_P, TOP_K
from lmscales.core.engines.local_process import (
    LOAD_TIMEOUT_SECONDS,
    WINDOWS_CRASH_CODES,
    ChildGone,
    EngineProcess,
    LoadError,
    available_memory,
    child_stamp,
    describe_exit,
    memory_needed,
    stream_run,
)
from lmscales.core.engines.local_threads import (
    WAIT_POLICY,
    default_threads,
    measure_rows,
    run_threads,
    wait_policy_applied,
)
from lmscales.core.engines.local_worker import RunOptions
from lmscales.core.events import EngineError, Event, Finished, GenerationRequest
from lmscales.core.thread_counts import (
    LoadProbe,
    Preference,
    ThreadChoice,
    ThreadStore,
    ThreadTable,
    counts_to_measure,
    describe_threads,
    model_key,
    usable_cores,
)

# Callers import these from here, as they did before the engine was split.
__all__ = [
    "WAIT_POLICY", "WINDOWS_CRASH_CODES", "LoadError", "LoadedModel", "LocalEngine", "available_memory",
    "child_stamp", "default_threads", "describe_exit", "memory_needed",
]

log = logging.getLogger(__name__)

# What the method card says of this side's sampling (`llama_loop`'s chain), beside the shared parameters.
LOCAL_SAMPLER = (f"llama.cpp's sampler chain: top-k {TOP_K}, top-p, min-p {MIN_P:g}, temperature, seeded draw "
                 "(greedy at temperature 0); no repeat penalty")


@dataclass(frozen=True)
class LoadedModel:
    info: gguf.GGUFInfo
    load_seconds: float
    n_ctx: int
    n_threads: int
    display_name: str
    n_threads_batch: int | None = None
    threads_reason: str = ""  # "1 thread (measured fastest)"; empty: as set


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
        # the child says these too, for the method card: the CPU variant's instruction sets, llama.cpp's build
        self.cpu_code = "unknown: no model loaded yet"
        self.llama_build = "unknown: no model loaded yet"
        self._chat_template = True  # whether the child formats prompts with the file's template (else ChatML)
        self.load_probe = LoadProbe(lambda: self.pid)
        self._free_memory = free_memory  # injectable: tests play a small machine
        self._child = EngineProcess()
        self._ids = itertools.count(1)
        self._issued_id = 0
        self._cancelled_through = 0  # survives a child restart, unlike the shared value
        self._busy = threading.Lock()
        self.model: LoadedModel | None = None

    # -- process lifecycle -------------------------------------------------------------------
    @property
    def pid(self) -> int | None:
        return self._child.pid

    @property
    def alive(self) -> bool:
        return self._child.alive

    def _spawn(self) -> None:
        self._child.spawn(self._cancelled_through, self.wait_policy, self.low_priority)

    def _reap(self) -> str:
        return self._child.reap()

    def _receive(self, deadline: float | None = None) -> tuple[Any, ...]:
        return self._child.receive(deadline)

    def _send(self, message: tuple[Any, ...]) -> None:
        self._child.send(message)

    def _load_in_child(self, path: str, n_ctx: int | None = None, n_threads: int | None = None) -> float:
        self._send(("load", path, n_ctx or self.n_ctx, n_threads or self.n_threads))
        reply = self._receive(deadline=time.monotonic() + LOAD_TIMEOUT_SECONDS)
        if reply[0] == "loaded":
            self.openmp_runtime = str(reply[1].get("openmp", "unknown"))
            self._chat_template = bool(reply[1].get("chat_template", True))
            self.cpu_code = str(reply[1].get("cpu_code", self.cpu_code))
            self.llama_build = str(reply[1].get("llama_build", self.llama_build))
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
        reply = self._receive(deadline=time.monotonic() + LOAD_TIMEOUT_SECONDS)
        if reply[0] != "unloaded":
            raise ChildGone(f"unexpected reply {reply[0]!r} to unload")

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
            self._child.kill()
            try:
                self._restart()
            except (ChildGone, LoadError, TimeoutError):
                self.model = None
                return f" The previous model ({name}) could not be started again; open a model to go on."
            return self._still_loaded()
        if not closed_first:
            return self._still_loaded()
        try:
            self._load_in_child(previous.info.path, previous.n_ctx, previous.n_threads)
        except (ChildGone, LoadError, TimeoutError):
            self._child.kill()
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
            except (ChildGone, TimeoutError) as error:
                reason = str(error) or f"no answer within {LOAD_TIMEOUT_SECONDS:.0f} s"
                self._child.kill()
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
                display_name=bundled_model.display_name(resolved, info.name),
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
            cpu_code=self.cpu_code,
            llama_build=self.llama_build,
            sampler=LOCAL_SAMPLER,
        )

    def _still_loaded(self) -> str:
        if self.model is None:
            return ""
        return f" The previous model ({Path(self.model.info.path).name}) is still loaded."

    def cpu_seconds(self) -> float | None:
        """CPU time (user + system, all threads) the engine process has used so far."""
        return self._child.cpu_seconds()

    def cancel(self) -> None:
        """Stop every run issued so far, started or not."""
        issued = self._issued_id
        self._cancelled_through = issued
        shared = self._child.cancel_upto
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
        try:
            self._restart()
        except LoadError as error:
            yield EngineError("model", str(error))
            return
        except ChildGone as error:
            yield EngineError("crashed", f"{error}; the local engine could not be restarted.")
            return
        if self.model is None:
            yield EngineError("not_loaded", "No local model is loaded. Pick a GGUF model file first.")
            return
        if self._cancelled_through >= generation_id:  # stopped while the engine was restarting
            yield Finished(0, "measured", 0, "measured", submitted_at, (), "cancelled")
            return
        options = self._run_options()
        yield from stream_run(self._child, generation_id, request, options, submitted_at,
                              lambda: self.watchdog_seconds)

    def _run_options(self) -> RunOptions:
        """This run's thread counts: the chosen ones, cut to the cores other processes leave idle."""
        threads, batch = self.n_threads, self.n_threads_batch
        if self.adapt_threads:
            threads, batch = run_threads(threads, batch, self.usable_cores, self.load_probe)
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
        with self._busy:
            try:
                self._restart()
                best = measure_rows(self._child, counts, decode_tokens, repeats, progress)
            except (ChildGone, TimeoutError) as error:
                self._child.kill()
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
        """The wait policy that took effect (see `local_threads.wait_policy_applied`)."""
        return wait_policy_applied(self.wait_policy, self.openmp_runtime)

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

    def close(self) -> None:
        self.load_probe.stop()
        if self._child.alive:
            self.cancel()  # the run under way stops before the child is asked to quit
        self._child.stop()

    def __enter__(self) -> LocalEngine:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()
