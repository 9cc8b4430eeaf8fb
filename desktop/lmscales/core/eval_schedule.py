"""Which runs of an evaluation may overlap, and running them so.

The order: items in a fresh seeded order on every repeat, the side that goes first alternating from item to item
(`schedule`): the same list however often the evaluation is stopped and resumed, so a resumed run takes what is
missing in the order an uninterrupted one would have.

The overlap, chosen so no figure is distorted without saying so:
- the small side runs one request at a time, always: it computes on this CPU, and a second request beside it
  would halve its speed;
- the large side takes up to `concurrency` requests at once. By default that is 4 for an API beyond this
  computer (a provider serves many requests at once; one at a time would wait on the network for nothing) and
  1 for a server on this computer or a GGUF (it shares this CPU). A value given explicitly applies to any
  endpoint, and the report says it was chosen. Its time to first token then includes any wait in the
  server's queue, and the report says that too;
- the two sides of an item run at the same time when the large side is not on this computer (its client only
  waits on the network), or when asked to explicitly (`parallel_sides`); otherwise one after the other.

The session runs one comparison at a time and an engine one generation at a time, so the extra requests go
through sessions of their own ("lanes"), each with its own engine for the large side's endpoint (built by the
caller through the engine factory, sharing the parameter memory). Each lane's run is an ordinary session run of
one side, with the session's measurement of it; `LaneRunner` pairs the two halves of an item into one trial.

Rate limits: the engine retries a 429 as it always does (never more often); the runner, seeing a side that
was rate-limited, halves the requests it lets run at once and starts none until the server's `retry-after`
has passed, then raises the limit again by one after as many clean answers as the limit (AIMD, as TCP does).
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field

from lmscales.core.engines.base import Engine
from lmscales.core.events import EngineInfo
from lmscales.core.generation import GenerationParams
from lmscales.core.quality.sets import EvalItem
from lmscales.core.session import SLOTS, Session
from lmscales.core.trial import EvalRef, SideResult, TaskInput, Trial, new_trial_id, now_iso, sides_in_order

REMOTE_CONCURRENCY = 4


@dataclass(frozen=True)
class Job:
    """One measured run of an evaluation: an item on a repeat, its sides in the order they go."""

    position: int  # in the whole schedule, from 0
    item: EvalItem
    repeat: int  # from 1
    sides: tuple[str, ...]


def schedule(items: Sequence[EvalItem], repeats: int, seed: int, sides: tuple[str, ...]) -> list[Job]:
    """Every measured run, in order: items shuffled afresh on each repeat by one seeded generator, the first
    side alternating (so neither always runs on a machine the other just warmed)."""
    order = random.Random(seed)
    jobs: list[Job] = []
    for repeat in range(1, repeats + 1):
        shuffled = list(items)
        order.shuffle(shuffled)
        for item in shuffled:
            position = len(jobs)
            jobs.append(Job(position, item, repeat, sides if position % 2 == 0 else tuple(reversed(sides))))
    return jobs


# -- how much may overlap -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Overlap:
    """How an evaluation's runs overlap, resolved for its sides, and whether each choice was the user's."""

    concurrency: int  # the large side's requests at once
    parallel_sides: bool  # the two sides of an item at the same time
    concurrency_chosen: bool = False  # given explicitly (else from where the large side runs)
    parallel_chosen: bool = False

    @property
    def lanes(self) -> bool:
        """Runs go through `LaneRunner` (else one comparison at a time, sides one after the other)."""
        return self.concurrency > 1 or self.parallel_sides

    def describe(self, large: EngineInfo | None, sides: int) -> str:
        """For the method card: how many requests ran at once, and why."""
        if sides < 2 and not self.concurrency > 1:
            return "1: one request at a time"
        where = "" if large is None else {"remote": " beyond this computer", "this_computer": " on this computer",
                                          "this_cpu": " on this CPU"}[large.model_runs]
        parts = []
        if self.concurrency > 1:
            how = "chosen with --concurrency" if self.concurrency_chosen else "the default for an API"
            parts.append(f"the large side{where}: up to {self.concurrency} requests at once ({how}); its time to "
                         "first token includes any wait in the server's queue")
        if sides > 1:
            parts.append("the small side: one at a time on this CPU")
            if self.parallel_sides:
                why = "--parallel-sides" if self.parallel_chosen else "the large side is not on this computer"
                parts.append(f"both sides of an item at the same time ({why})")
            else:
                parts.append("the two sides one after the other")
        return "; ".join(parts)


def resolve_overlap(large: EngineInfo | None, sides: tuple[str, ...], concurrency: int | None,
                    parallel_sides: bool | None) -> Overlap:
    """The overlap for these sides: an explicit value wins; by default an API beyond this computer gets
    `REMOTE_CONCURRENCY` requests at once and both sides at once, anything on this computer neither.
    `ValueError` (a message for the user) for overlap a GGUF large side cannot take: it shares this CPU."""
    remote = large is not None and "large" in sides and large.model_runs == "remote"
    if large is not None and large.model_runs == "this_cpu" and "large" in sides and (
            (concurrency or 1) > 1 or (parallel_sides and "small" in sides)):
        raise ValueError("The large side is a GGUF file on this CPU: it runs one request at a time, and never "
                         "beside the small side (they would share the same cores). Leave out --concurrency and "
                         "--parallel-sides.")
    if concurrency is not None and concurrency < 1:
        raise ValueError("--concurrency must be 1 or more.")
    chosen = concurrency is not None
    count = concurrency if concurrency is not None else (REMOTE_CONCURRENCY if remote else 1)
    if "large" not in sides:
        count = 1  # the small side runs one request at a time on this CPU, always
    both = set(sides) >= {"small", "large"}
    parallel = both and (parallel_sides if parallel_sides is not None else remote)
    return Overlap(count, parallel, chosen and "large" in sides, bool(parallel_sides) and both)


# -- adaptive slowing ---------------------------------------------------------------------------------------
@dataclass
class AdaptiveLimit:
    """How many large-side requests may run now: halved when the server rate-limits, resumed after its
    retry-after, raised by one after `limit` clean answers in a row, never above `most`."""

    most: int
    limit: int = 0
    in_flight: int = 0
    lowest: int = 0
    rate_limited: int = 0  # answers that met a 429
    _clean: int = 0
    _resume_at: float = 0.0
    _condition: threading.Condition = field(default_factory=threading.Condition)

    def __post_init__(self) -> None:
        self.limit = self.lowest = self.most

    def acquire(self, stopped: threading.Event) -> bool:
        """Wait for a free place (False: stopped while waiting)."""
        with self._condition:
            while not stopped.is_set():
                pause = self._resume_at - time.monotonic()
                if self.in_flight < self.limit and pause <= 0:
                    self.in_flight += 1
                    return True
                self._condition.wait(min(0.1, pause) if pause > 0 else 0.1)
            return False

    def release(self, result: SideResult | None) -> None:
        waits = [notice.retry_after or 0.0 for notice in (result.notices if result is not None else ())
                 if notice.kind == "rate_limited"]
        limited = bool(waits) or (result is not None and result.error is not None
                                  and result.error.kind == "rate_limited")
        with self._condition:
            self.in_flight -= 1
            if limited:
                self.rate_limited += 1
                self.limit = max(1, self.limit // 2)
                self.lowest = min(self.lowest, self.limit)
                self._clean = 0
                self._resume_at = max(self._resume_at, time.monotonic() + max(waits, default=0.0))
            elif result is not None and result.ok:
                self._clean += 1
                if self._clean >= self.limit and self.limit < self.most:
                    self.limit += 1
                    self._clean = 0
            self._condition.notify_all()


# -- running with overlap -----------------------------------------------------------------------------------
class LaneRunner:
    """Runs jobs with the small side on `session` (one at a time) and the large side on up to `concurrency`
    lane sessions, pairing the halves of each item into one trial handed to `on_trial` on the calling thread
    (as items complete, not in schedule order). Without `parallel_sides`, a block of `concurrency` items runs
    one side (the large side's requests at once), then the other, alternating which goes first."""

    def __init__(self, session: Session, make_engine: Callable[[], Engine], overlap: Overlap,
                 params: GenerationParams, set_name: str, task_input: Callable[[EvalItem], TaskInput]) -> None:
        self.session = session
        self.overlap = overlap
        self.params = params
        self.set_name = set_name
        self.task_input = task_input
        self.stopped = threading.Event()
        self.limit = AdaptiveLimit(overlap.concurrency)
        large = session.engines.get("large")
        self._lanes: list[Session] = []
        self._free: list[Session] = []
        self._lanes_lock = threading.Lock()
        self._make_engine = make_engine
        self._own_engines: list[Engine] = []
        if large is not None:
            self._add_lane(large)

    def _add_lane(self, engine: Engine) -> Session:
        lane = Session({"large": engine}, prices=self.session.prices, labels=self.session.labels,
                       is_offline=self.session.is_offline)
        lane.electricity_zone = self.session.electricity_zone
        self._lanes.append(lane)
        return lane

    def _lane(self) -> Session:
        with self._lanes_lock:
            if self._free:
                return self._free.pop()
            engine = self._make_engine()
            self._own_engines.append(engine)
            return self._add_lane(engine)

    def cancel(self) -> None:
        self.stopped.set()
        self.session.cancel()
        for lane in tuple(self._lanes):
            lane.cancel()

    def close(self) -> None:
        """Close the engines made for the extra lanes (the session's own are its owner's)."""
        for engine in self._own_engines:
            engine.close()

    # -- one side of one job ---------------------------------------------------------------------------------
    def _ref(self, job: Job) -> EvalRef:
        return EvalRef(self.set_name, job.item.id, job.repeat)

    def _small(self, job: Job) -> SideResult | None:
        if self.stopped.is_set():
            return None
        trial = self.session.run(self.task_input(job.item), self.params, ("small",), mode="sequential",
                                 keep=False, evaluation=self._ref(job))
        return trial.side("small")

    def _large(self, job: Job) -> SideResult | None:
        if not self.limit.acquire(self.stopped):
            return None
        result = None
        lane = self._lane()
        try:
            if not self.stopped.is_set():
                trial = lane.run(self.task_input(job.item), self.params, ("large",), mode="sequential",
                                 keep=False, evaluation=self._ref(job))
                result = trial.side("large")
        finally:
            with self._lanes_lock:
                self._free.append(lane)
            self.limit.release(result)
        return result

    def _pair(self, job: Job, results: dict[str, SideResult]) -> Trial:
        return Trial(id=new_trial_id(), created_at=now_iso(), input=self.task_input(job.item), params=self.params,
                     sides=sides_in_order(list(results.values()), SLOTS),
                     mode="parallel" if self.overlap.parallel_sides else "sequential", evaluation=self._ref(job))

    # -- all jobs ----------------------------------------------------------------------------------------------
    def run(self, jobs: Sequence[Job], on_trial: Callable[[Trial], None]) -> None:
        """Run `jobs`; returns when all are done or `cancel` was called. Ctrl+C on the calling thread stops the
        lanes and is raised again."""
        small = ThreadPoolExecutor(1, thread_name_prefix="eval-small")
        large = ThreadPoolExecutor(self.overlap.concurrency, thread_name_prefix="eval-large")
        try:
            if self.overlap.parallel_sides:
                self._run_parallel(jobs, on_trial, small, large)
            else:
                self._run_blocks(jobs, on_trial, small, large)
        except BaseException:
            self.cancel()
            raise
        finally:
            small.shutdown(wait=False, cancel_futures=True)
            large.shutdown(wait=False, cancel_futures=True)

    def _submit(self, job: Job, small: ThreadPoolExecutor,
                large: ThreadPoolExecutor) -> dict[str, Future[SideResult | None]]:
        futures: dict[str, Future[SideResult | None]] = {}
        for side in job.sides:
            futures[side] = (small if side == "small" else large).submit(
                self._small if side == "small" else self._large, job)
        return futures

    def _run_parallel(self, jobs: Sequence[Job], on_trial: Callable[[Trial], None], small: ThreadPoolExecutor,
                      large: ThreadPoolExecutor) -> None:
        # The large side may run ahead of the small one by a bounded number of items, so the halves waiting
        # for their pair stay few at any size of set.
        window = 2 * self.overlap.concurrency + 2
        pending: dict[Future[SideResult | None], tuple[Job, str]] = {}
        halves: dict[int, dict[str, SideResult]] = {}
        open_jobs: dict[int, int] = {}  # position -> sides still running
        upcoming = iter(jobs)
        exhausted = False
        while True:
            while not exhausted and len(open_jobs) < window and not self.stopped.is_set():
                job = next(upcoming, None)
                if job is None:
                    exhausted = True
                    break
                open_jobs[job.position] = len(job.sides)
                halves[job.position] = {}
                for side, future in self._submit(job, small, large).items():
                    pending[future] = (job, side)
            if not pending:
                return
            done, _ = wait(tuple(pending), timeout=0.1, return_when=FIRST_COMPLETED)  # short: Ctrl+C is noticed
            for future in done:
                job, side = pending.pop(future)
                result = future.result()
                if result is not None:
                    halves[job.position][side] = result
                open_jobs[job.position] -= 1
                if open_jobs[job.position] == 0:
                    del open_jobs[job.position]
                    results = halves.pop(job.position)
                    if len(results) == len(job.sides) and not self.stopped.is_set():
                        on_trial(self._pair(job, results))

    def _run_blocks(self, jobs: Sequence[Job], on_trial: Callable[[Trial], None], small: ThreadPoolExecutor,
                    large: ThreadPoolExecutor) -> None:
        size = self.overlap.concurrency
        for start in range(0, len(jobs), size):
            block = jobs[start:start + size]
            results: dict[int, dict[str, SideResult]] = {job.position: {} for job in block}
            for side in block[0].sides:  # alternates with the block's first job
                if self.stopped.is_set():
                    return
                futures = {(small if side == "small" else large).submit(
                    self._small if side == "small" else self._large, job): job for job in block}
                while futures:
                    done, _ = wait(tuple(futures), timeout=0.1, return_when=FIRST_COMPLETED)
                    for future in done:
                        job = futures.pop(future)
                        result = future.result()
                        if result is not None:
                            results[job.position][side] = result
            for job in block:
                if len(results[job.position]) == len(job.sides) and not self.stopped.is_set():
                    on_trial(self._pair(job, results[job.position]))
