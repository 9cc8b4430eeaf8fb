"""The local engine's thread counts: measuring each count on the loaded model in the engine process, the
OpenMP wait policy that took effect, and each run's counts cut to the idle cores.

A measured table per model file (`thread_counts.ThreadTable`) gives the decode and prompt thread counts; at the
start of each run they are cut to the cores other processes leave idle (`thread_counts.LoadProbe`).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from lmscales.core.engines.local_process import LOAD_TIMEOUT_SECONDS, EngineProcess, LoadError
from lmscales.core.rapl import RaplMeter
from lmscales.core.thread_counts import LoadProbe, ThreadRow, threads_for_run, usable_cores

# libgomp spins this many times at a barrier, then sleeps. Measured on the 2-core machine with SmolLM2-135M
# (`bench engine --thread-counts 1,2 --wait-policy ...`): OpenMP's default spinning left our 2-thread decode at
# 0.96 of native (the spinning worker takes the core the sampler and the text thread need); "passive" (sleep
# at once) cut 2-thread decode from ~140 to ~42 tok/s (a wake-up at every one of a token's barriers); a short
# spin kept the speed (131-142 tok/s) at a ratio of 0.98 and the same CPU-seconds. It is also what libgomp
# itself uses when there are more threads than cores.
WAIT_POLICY = "spin:1000"


def default_threads() -> int:
    """Before anything is measured: the cores this process may use (physical, within its affinity and
    cgroup quota); llama.cpp gains nothing from hyper-threads and loses to their contention."""
    return usable_cores()


def wait_policy_applied(policy: str | None, openmp_runtime: str) -> str:
    """The wait policy that took effect: "spin:N" only means something to libgomp, "passive"/"active" to an
    OpenMP runtime; with ggml's own thread pool (Apple builds) there is none to set."""
    if not policy or (policy.startswith("spin:") and openmp_runtime != "libgomp") or openmp_runtime == "none":
        return "default"
    return policy


def run_threads(threads: int, threads_batch: int, cores: int, probe: LoadProbe) -> tuple[int, int]:
    """This run's decode and prompt thread counts: the chosen ones, cut to the cores other processes leave
    idle."""
    probe.start()
    busy = probe.busy_elsewhere()
    if busy is None:  # the first run right after a load: one more reading, over the load's span
        probe.read_once()
        busy = probe.busy_elsewhere()
    return threads_for_run(threads, cores, busy), threads_for_run(threads_batch, cores, busy)


def measure_rows(
    child: EngineProcess,
    counts: list[int],
    decode_tokens: int,
    repeats: int,
    progress: Callable[[int, int], None] | None,
) -> dict[int, ThreadRow]:
    """Each count's best of `repeats` rounds, measured by the engine process with its model loaded (see
    `LocalEngine.measure_threads`). `ChildGone` or `TimeoutError` when the child dies or stops answering."""
    rapl = RaplMeter()
    best: dict[int, ThreadRow] = {}
    total, done = len(counts) * repeats, 0
    for warm_up in ((64, 0), (0, 16)):  # page the weights in, start the threads
        child.send(("measure", counts[-1], *warm_up))
        measure_reply(child)
    for _round in range(repeats):
        for n in counts:
            row = measure_one(child, n, decode_tokens, rapl)
            best[n] = best[n].better_of(row) if n in best else row
            done += 1
            if progress is not None:
                progress(done, total)
    return best


def measure_reply(child: EngineProcess) -> dict[str, float]:
    reply = child.receive(deadline=time.monotonic() + LOAD_TIMEOUT_SECONDS)
    while reply[0] not in ("measured", "measure_error"):  # a late reply of a run given up on
        reply = child.receive(deadline=time.monotonic() + LOAD_TIMEOUT_SECONDS)
    if reply[0] != "measured":
        raise LoadError(str(reply[1]))
    figures: dict[str, float] = reply[1]
    return figures


def measure_one(child: EngineProcess, n: int, decode_tokens: int, rapl: RaplMeter) -> ThreadRow:
    """Prompt evaluation and decode are sent as two commands, so the package energy of each is read
    around it alone."""
    energy: list[float | None] = []
    figures: dict[str, float] = {}
    for prompt, decode in ((128, 0), (0, decode_tokens)):
        before = rapl.read() if rapl.available else None
        child.send(("measure", n, prompt, decode))
        figures.update(measure_reply(child))
        after = rapl.read() if rapl.available else None
        energy.append(rapl.joules_between(before, after) if before and after else None)
    return ThreadRow.from_figures(figures, decode_joules=energy[1], prefill_joules=energy[0])
