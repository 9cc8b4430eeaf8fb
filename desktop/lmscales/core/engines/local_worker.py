"""The local engine's child process: llama.cpp lives here and nowhere else.

The parent (`local.py`) spawns this with one duplex pipe and one shared cancel counter. Commands
arrive as tuples; replies go back as tuples of plain values. A native crash in llama.cpp ends this
process only; the parent notices and can start another.

Cancel is a shared integer: the parent writes the id of the generation to stop, and the child compares
it (a) in a llama.cpp abort callback while the prompt is evaluated, and (b) before each new token.
The abort callback runs in Python once per graph node, so it is installed only for the prompt and
removed at the first token, where the per-token check takes over at no cost.

A child whose parent dies must not live on (it holds hundreds of MB and a CPU core or more): a watcher
thread checks on the parent a few times a second, in every phase, including a model load or a prompt
evaluation busy in native code (ctypes releases the GIL there), and ends the process quietly.
"""

from __future__ import annotations

import collections
import contextlib
import ctypes
import os
import random
import signal
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from lmscales.core import offline
from lmscales.core.context import ContextOverflowError, fit_messages
from lmscales.core.engines import cpu_backends
from lmscales.core.engines.llama_loop import Aborted, DecodeError, LlamaLoop, Sampling
from lmscales.core.events import GenerationRequest, Message


def llama_options(path: str, n_ctx: int, n_threads: int) -> dict[str, Any]:
    """What `Llama(...)` gets. The small side is "on this CPU", so nothing goes to a GPU: no layers, and no
    op offload (on macOS llama-cpp-python builds Metal in, and with op_offload on, prompt batches of 32
    tokens or more run on the GPU even with n_gpu_layers=0, so TTFT and CPU-seconds would measure the GPU)."""
    return {
        "model_path": path,
        "n_ctx": n_ctx,
        "n_threads": n_threads,
        "n_threads_batch": n_threads,
        "n_gpu_layers": 0,
        "op_offload": False,
        "offload_kqv": False,
        "verbose": False,
    }


# A model file without a chat template is prompted as ChatML, the commonest convention. A model that does not know
# its markers (a base model, another family's) writes them out as text and runs on, a turn of its own after
# another: its answer ends where it writes either marker.
CHATML_STOPS = ("<|im_end|>", "<|im_start|>")
# Said wherever such a model is shown (model card, pane, command line); the fact itself travels as
# `has_chat_template` (`GGUFInfo`, `EngineInfo`, and so each trial's side).
NO_CHAT_TEMPLATE_NOTE = ("No chat template in this model file: prompted as ChatML, and the answer ends at a ChatML "
                         "marker; a base model continues text rather than answering.")


def chatml_prompt(messages: Sequence[Message]) -> str:
    return "".join(f"<|im_start|>{m.role}\n{m.content}<|im_end|>\n" for m in messages) + "<|im_start|>assistant\n"


MEASURE_TEXT = (
    "The lighthouse keeper climbed the stairs at dusk, checked the lamp, wiped the salt from the glass and wrote "
    "the weather in the log: wind from the west, a heavy swell, two ships passing to the north before dark."
)


class _Model:
    """One loaded Llama plus what is needed to format, count and stream."""

    def __init__(self, path: str, n_ctx: int, n_threads: int) -> None:
        from llama_cpp import Llama
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        variant = cpu_backends.ensure_loaded()  # once per process: the best CPU code this processor can run
        # what the method card says of the code that ran: the variant's instruction sets, and llama.cpp's build
        self.cpu_code = cpu_backends.describe_cpu_code(variant, built_in=cpu_backends.backend_folder() is None)
        self.llama_build = cpu_backends.llama_build()
        self.llama = Llama(**llama_options(path, n_ctx, n_threads))
        self.loop = LlamaLoop(self.llama)
        self.path = path
        self.n_ctx = n_ctx
        self.n_threads = n_threads
        template = self.llama.metadata.get("tokenizer.chat_template")
        vocab = self.llama._model
        eos = vocab.token_get_text(vocab.token_eos()) if vocab.token_eos() >= 0 else ""
        bos = vocab.token_get_text(vocab.token_bos()) if vocab.token_bos() >= 0 else ""
        self.formatter: Any = None
        if template:
            self.formatter = Jinja2ChatFormatter(template=template, eos_token=eos, bos_token=bos)
        self.has_chat_template = self.formatter is not None
        self.stops: tuple[str, ...] = () if self.has_chat_template else CHATML_STOPS

    def prompt_tokens(self, messages: Sequence[Message]) -> list[int]:
        as_dicts = [{"role": m.role, "content": m.content} for m in messages]
        if self.formatter is not None:
            formatted = self.formatter(messages=as_dicts)
            prompt = formatted.prompt
            add_bos = not getattr(formatted, "added_special", False)
        else:
            prompt = chatml_prompt(messages)
            add_bos = True
        tokens: list[int] = self.llama.tokenize(prompt.encode("utf-8"), add_bos=add_bos, special=True)
        return tokens

    def measure_prompt(self, tokens: int = 128) -> list[int]:
        """A fixed prompt of about `tokens` tokens for measuring prompt evaluation (ordinary English prose)."""
        text = (MEASURE_TEXT + " ") * (1 + tokens // 60)
        return list(self.llama.tokenize(text.encode("utf-8"), add_bos=True, special=False)[:tokens])

    def close(self) -> None:
        self.llama.close()


class _LogTail:
    """Keeps llama.cpp's last log lines so a failed load can say why."""

    def __init__(self) -> None:
        import llama_cpp

        self.lines: collections.deque[str] = collections.deque(maxlen=40)

        def record(level: int, text: bytes, _user: ctypes.c_void_p) -> None:
            self.lines.append(text.decode("utf-8", errors="replace"))

        self._callback = llama_cpp.llama_log_callback(record)
        llama_cpp.llama_log_set(self._callback, ctypes.c_void_p(0))

    def reason(self) -> str:
        text = "".join(self.lines)
        wanted = [line.strip() for line in text.splitlines() if "error" in line.lower() or "unknown" in line]
        return "; ".join(dict.fromkeys(wanted))[-400:]


_NO_TIMINGS = {"prompt_eval_ms": 0.0, "prompt_tokens": 0, "eval_ms": 0.0, "eval_tokens": 0}


def _native_timings(llama: Any) -> dict[str, float]:
    import llama_cpp

    perf = llama_cpp.llama_perf_context(llama._ctx.ctx)
    return {
        "prompt_eval_ms": float(perf.t_p_eval_ms),
        "prompt_tokens": int(perf.n_p_eval),
        "eval_ms": float(perf.t_eval_ms),
        "eval_tokens": int(perf.n_eval),
    }


@dataclass(frozen=True)
class RunOptions:
    """How the parent wants this run done, beside the request: whether the KV cache of the previous run's
    shared prefix may be reused, and the thread counts for this run (they adapt to the machine's load)."""

    reuse_cache: bool = True
    threads: int = 1
    threads_batch: int = 1


def _generate(
    model: _Model,
    generation_id: int,
    request: GenerationRequest,
    options: RunOptions,
    cancel_upto: Any,
    send: Callable[[tuple[Any, ...]], None],
) -> None:
    import llama_cpp

    llama = model.llama

    def cancelled() -> bool:
        return bool(cancel_upto.value >= generation_id)

    def finished(**figures: Any) -> None:
        send(("finished", generation_id, {"prompt_tokens": 0, "output_tokens": 0, "native": _NO_TIMINGS,
                                          "trimmed_messages": 0, "cached_prompt_tokens": 0,
                                          "threads": options.threads, **figures}))

    if cancelled():  # stopped before this process took the run up: no prefill at all
        finished(stop_reason="cancelled")
        return

    try:
        fitted = fit_messages(
            request.messages, lambda ms: len(model.prompt_tokens(ms)), model.n_ctx, request.max_tokens
        )
    except ContextOverflowError as error:
        send(("error", generation_id, "input_too_long", str(error), ""))
        return
    prompt = model.prompt_tokens(fitted.messages)

    def abort(_data: ctypes.c_void_p) -> bool:
        return cancelled()

    abort_callback = llama_cpp.ggml_abort_callback(abort)
    no_callback = llama_cpp.ggml_abort_callback()
    ctx = llama._ctx.ctx
    llama_cpp.llama_set_n_threads(ctx, options.threads, options.threads_batch)
    llama_cpp.llama_set_abort_callback(ctx, abort_callback, None)
    llama_cpp.llama_perf_context_reset(ctx)
    # No seed asked for: a fresh one each run.
    sampling = Sampling(request.temperature, request.top_p,
                        request.seed if request.seed is not None else random.randrange(2**31))
    try:
        outcome = model.loop.run(
            prompt, sampling, request.max_tokens, request.stop + model.stops, options.reuse_cache, cancelled,
            emit=lambda pieces: send(("deltas", generation_id, pieces)),
            # The abort callback runs in Python once per graph node: only while the prompt is evaluated.
            on_first_token=lambda: llama_cpp.llama_set_abort_callback(ctx, no_callback, None),
        )
    except Aborted:
        finished(prompt_tokens=len(prompt), stop_reason="cancelled", native=_native_timings(llama),
                 trimmed_messages=fitted.dropped_messages)
        return
    except DecodeError as error:
        send(("error", generation_id, "internal", f"llama.cpp failed: {error}", ""))
        return
    finally:
        llama_cpp.llama_set_abort_callback(ctx, no_callback, None)
    finished(prompt_tokens=len(prompt), output_tokens=outcome.output_tokens, stop_reason=outcome.stop_reason,
             native=_native_timings(llama), trimmed_messages=fitted.dropped_messages,
             cached_prompt_tokens=outcome.cached_prompt_tokens)


PARENT_CHECK_SECONDS = 0.25


def parent_alive_check(parent_pid: int) -> Callable[[], bool]:
    """A cheap test of whether the process that started this one still runs.

    On POSIX an orphan is adopted by another process, so `os.getppid()` changes the moment the parent dies;
    elsewhere (Windows keeps the original id) psutil asks whether that pid still runs the same process
    (it compares creation times, so a reused pid does not fool it)."""
    import psutil

    try:
        parent: psutil.Process | None = psutil.Process(parent_pid)
    except psutil.Error:
        parent = None

    def alive() -> bool:
        if os.name == "posix" and os.getppid() != parent_pid:
            return False
        if parent is None:
            return True  # cannot tell; the pipe's EOF still ends an idle child
        try:
            return bool(parent.is_running())
        except psutil.Error:
            return False

    return alive


def watch_parent(alive: Callable[[], bool], interval: float = PARENT_CHECK_SECONDS) -> threading.Thread:
    """End this process, quietly and at once, when `alive()` turns false."""

    def watch() -> None:
        while alive():
            time.sleep(interval)
        os._exit(0)  # no cleanup to do for anyone: the parent is gone, and native code may be mid-call

    thread = threading.Thread(target=watch, name="parent-watch", daemon=True)
    thread.start()
    return thread


OPENMP_LIBRARIES = (("libgomp", "libgomp"), ("vcomp", "vcomp"), ("libiomp", "libomp"), ("libomp", "libomp"))


def openmp_runtime() -> str:
    """Which OpenMP runtime llama.cpp runs on in this process: "libgomp" (GCC: Linux wheels), "vcomp" (MSVC),
    "libomp" (LLVM/Intel), or "none" (ggml's own thread pool, e.g. Apple builds). The wait policy set before
    the load only means something to the runtime that reads it."""
    import psutil

    try:
        paths = [m.path.lower() for m in psutil.Process().memory_maps(grouped=True)]
    except (psutil.Error, OSError, NotImplementedError):
        return "unknown"
    for marker, name in OPENMP_LIBRARIES:
        if any(marker in Path(path).name for path in paths):
            return name
    return "none"


def lower_priority(process: Any = None, windows: bool | None = None) -> None:
    """Run below the GUI: the window must never wait for the model. POSIX: nice +5 (the scheduler then gives the
    GUI about three times the engine's share of a contended core); Windows: the below-normal priority class.
    `process` and `windows` are for tests (this process, and this platform, by default)."""
    import psutil

    windows = os.name == "nt" if windows is None else windows
    with contextlib.suppress(psutil.Error, OSError):
        me = process if process is not None else psutil.Process()
        if windows:
            me.nice(getattr(psutil, "BELOW_NORMAL_PRIORITY_CLASS", 0x4000))  # the constant exists on Windows only
        else:
            me.nice(min(19, me.nice() + ENGINE_NICE))


ENGINE_NICE = 5


def main(conn: Connection, cancel_upto: Any, offline_mode: bool = False, parent_pid: int | None = None,
         wait_policy: str | None = None, low_priority: bool = False) -> None:
    """Child entry point: serve commands until told to stop, the pipe closes or the parent dies. `offline_mode`:
    the parent was offline when it started this process, so the same guard goes on here (a spawned child
    starts with an unpatched socket module). `wait_policy`: OpenMP's ("passive", "active"), or "spin:N"
    for libgomp's spin count before a waiting thread sleeps, set before llama.cpp (and its OpenMP runtime)
    loads. `low_priority`: only in a process of its own (on Linux a nice
    value belongs to the calling thread and is inherited by the threads it starts, llama.cpp's among them)."""
    if parent_pid is not None:  # always, as a spawned child; not when a test calls this in a thread
        watch_parent(parent_alive_check(parent_pid))
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C reaches the whole group: the parent stops runs
    if wait_policy and wait_policy.startswith("spin:"):  # libgomp: spin this many times, then sleep
        os.environ["GOMP_SPINCOUNT"] = wait_policy.removeprefix("spin:")
    elif wait_policy:
        os.environ["OMP_WAIT_POLICY"] = wait_policy
    if low_priority:
        lower_priority()
    if offline_mode:
        offline.enable()
    # The parent may go away mid-reply: nothing to tell anyone then, and no traceback.
    with contextlib.suppress(BrokenPipeError, EOFError, ConnectionResetError):
        _serve(conn, cancel_upto)


def _serve(conn: Connection, cancel_upto: Any) -> None:
    log = _LogTail()
    model: _Model | None = None
    while True:
        try:
            command = conn.recv()
        except (EOFError, OSError):
            break
        kind = command[0]
        if kind == "shutdown":
            break
        if kind == "unload":  # the parent needs the memory for a model that cannot fit beside this one
            if model is not None:
                model.close()
                model = None
            conn.send(("unloaded",))
            continue
        if kind == "load":
            _, path, n_ctx, n_threads = command
            log.lines.clear()
            started = time.perf_counter()
            try:
                new_model = _Model(path, n_ctx, n_threads)
            except Exception as error:  # llama-cpp-python raises ValueError with no detail
                conn.send(("load_error", log.reason() or str(error)))
                continue
            if model is not None:
                model.close()
            model = new_model
            conn.send(("loaded", {"load_seconds": time.perf_counter() - started, "openmp": openmp_runtime(),
                                  "chat_template": model.has_chat_template, "cpu_code": model.cpu_code,
                                  "llama_build": model.llama_build}))
        elif kind == "generate":
            _, generation_id, request, options = command
            if model is None:
                conn.send(("error", generation_id, "not_loaded", "No model is loaded.", ""))
                continue
            _generate(model, generation_id, request, options, cancel_upto, conn.send)
        elif kind == "measure":  # one thread count's prefill and decode rates (the parent reads energy around it)
            _, threads, prompt_tokens, decode_tokens = command
            if model is None:
                conn.send(("measure_error", "No model is loaded."))
                continue
            try:
                prompt = model.measure_prompt(prompt_tokens or 16)
                figures = model.loop.measure(threads, prompt, decode_tokens)
            except DecodeError as error:
                conn.send(("measure_error", f"llama.cpp failed: {error}"))
                continue
            conn.send(("measured", figures))
    if model is not None:
        model.close()
    conn.close()
