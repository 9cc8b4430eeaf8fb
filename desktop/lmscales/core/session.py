"""One comparison at a time, with no Qt: the `Session` that the CLI, the window, evaluation and demos drive.

A session holds an engine per side ("small" and "large" are slots with labels the user may change; either
may hold any engine: a GGUF on this CPU or an endpoint), and runs one `TaskInput` on the chosen sides with
the same `GenerationParams`, at once or one after the other. It decides everything a front end should not
decide twice: the messages for each side (each side keeps its own chat transcript), plain generation or a
map-reduce summary when the text is longer than a side's context, refusal of a side beyond this computer in
offline mode, cost, CPU-seconds and the resource summary. Each finished comparison is a frozen `Trial`.

Progress is reported as plain events (`SessionEvent`) to subscribers, on the session's worker threads; a
front end that needs them elsewhere (the window's GUI thread) carries them over itself.

A run has its identity and its stop flags from the moment it is submitted, so a Stop at any instant (before
a side starts, while it waits its turn, between map-reduce parts, during prefill or decode) stops that run;
and once stopped, nothing that still arrives from the engine is shown or kept.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import cast

from lmscales.core import egress as egress_of
from lmscales.core import electricity, notices, offline, tasks
from lmscales.core.api_energy import estimate_for_side
from lmscales.core.assess import assess_answer
from lmscales.core.egress import Egress
from lmscales.core.engines import map_reduce
from lmscales.core.engines.base import Engine
from lmscales.core.events import (
    EngineError,
    EngineInfo,
    Event,
    Finished,
    GenerationRequest,
    Message,
    Notice,
    Sent,
    TextDelta,
)
from lmscales.core.pricing import Cost, PriceTable
from lmscales.core.resource_monitor import ResourceMark, ResourceMonitor, RunResourceSummary
from lmscales.core.resource_monitor import Side as MonitorSide
from lmscales.core.send_guard import remote_refusal
from lmscales.core.session_events import (
    Listener,
    SessionEvent,
    SideEnded,
    SideQueued,
    SideStarted,
    SideStreamed,
    TrialEnded,
    TrialStarted,
)
from lmscales.core.trial import (
    EvalRef,
    GenerationParams,
    RunMode,
    SideResult,
    TaskInput,
    Trial,
    new_trial_id,
    now_iso,
    sides_in_order,
    skipped_side,
)

log = logging.getLogger(__name__)

# The events are defined in session_events and re-exported here, where their readers have always found them.
__all__ = [
    "SLOTS", "Listener", "Session", "SessionBusyError", "SessionEvent", "SideEnded", "SideQueued", "SideStarted",
    "SideStreamed", "TrialEnded", "TrialStarted", "build_messages", "cost_of", "offline_refusal",
]

SLOTS = ("small", "large")
DEFAULT_LABELS = {"small": "Small", "large": "Large"}


class SessionBusyError(RuntimeError):
    """A comparison is already running; the message is for the user."""


# -- what is sent ----------------------------------------------------------------------------------------
def build_messages(task_input: TaskInput, history: Sequence[tasks.ChatTurn] = ()) -> tuple[Message, ...]:
    """The messages one side gets for `task_input`, after `history` (chat only). `TaskInputError` for input
    the task cannot use, with a message for the user."""
    system = task_input.system_prompt
    if task_input.task == "chat":
        if task_input.messages is not None:
            messages = task_input.messages
            if not messages or messages[-1].role != "user":
                raise tasks.TaskInputError("A chat conversation must end with a user message.")
            if messages[0].role != "system":
                messages = (Message("system", system or tasks.DEFAULT_SYSTEM_PROMPTS["chat"]), *messages)
            return messages
        return tasks.chat_messages(history, task_input.text, system)
    if task_input.task == "summarize":
        return tasks.summarize_messages(task_input.text, task_input.summary_length or "paragraph", system)
    return tasks.translate_messages(task_input.text, task_input.target_lang or "fr",
                                    task_input.source_lang or tasks.AUTO, system)


def offline_refusal(info: EngineInfo, label: str) -> str:
    return (f"Offline mode: the {label.lower()} side would contact {info.host or 'a server'}, beyond this computer. "
            "Leave offline mode, or use a server on this computer (Ollama, LM Studio, llama.cpp).")


def cost_of(prices: PriceTable, info: EngineInfo, finished: Finished) -> Cost | None:
    """Money, for a side behind an API, looked up by its host and model; thinking tokens are billed as output.
    A model on this CPU costs none (its CPU-seconds are shown), and a server on this computer costs $0 (its
    energy estimate is shown)."""
    if info.model_runs == "this_cpu":
        return None
    provenances = [finished.prompt_tokens_provenance, finished.output_tokens_provenance]
    if finished.reasoning_tokens:
        provenances.append(finished.reasoning_tokens_provenance)
    return prices.cost(info.model, finished.prompt_tokens, finished.billed_output_tokens,
                       "estimated" if "estimated" in provenances else "measured",
                       host=info.host, loopback=info.model_runs == "this_computer")


@dataclass
class _Run:
    """One submitted comparison: its id and stop flags exist before any side starts."""

    id: str
    input: TaskInput
    params: GenerationParams
    sides: tuple[str, ...]
    mode: RunMode
    tags: tuple[str, ...]
    evaluation: EvalRef | None
    messages: dict[str, tuple[Message, ...]]
    chat_turn: int
    stopped: dict[str, threading.Event]
    keep: bool = True
    results: dict[str, SideResult] = field(default_factory=dict)
    done: threading.Event = field(default_factory=threading.Event)
    trial: Trial | None = None
    threads: list[threading.Thread] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


class Session:
    """Runs comparisons; one at a time. Safe to call from one controlling thread (the GUI's, the CLI's main)
    while its workers run; `cancel` may be called from any thread."""

    def __init__(
        self,
        engines: Mapping[str, Engine | None] | None = None,
        *,
        prices: PriceTable | None = None,
        monitor: ResourceMonitor | None = None,
        labels: Mapping[str, str] | None = None,
        is_offline: Callable[[], bool] = offline.enabled,
        on_trial: Callable[[Trial], object] | None = None,
    ) -> None:
        self.engines: dict[str, Engine | None] = {slot: None for slot in SLOTS}
        self.engines.update(engines or {})
        self.labels = {**DEFAULT_LABELS, **(labels or {})}
        self.prices = prices if prices is not None else PriceTable.load()
        self.monitor = monitor
        self.is_offline = is_offline
        self.on_trial = on_trial  # e.g. append to the history file; called before TrialEnded is reported
        # The electricity mix of an endpoint's energy estimate (the setting: "auto" follows the locale).
        self.electricity_zone = electricity.AUTO
        self.never_remote = False  # fail closed: a side beyond this computer is refused (the setting, --no-remote)
        self.transcripts: dict[str, list[tasks.ChatTurn]] = {slot: [] for slot in SLOTS}
        self._listeners: list[Listener] = []
        self._run: _Run | None = None
        self._sampler_lock = threading.Lock()

    # -- engines and listeners ---------------------------------------------------------------------------
    def set_engine(self, side: str, engine: Engine | None) -> None:
        if self.running:
            raise SessionBusyError("Stop the running comparison before changing a side's model.")
        self.engines[side] = engine
        if self.monitor is not None and side in SLOTS:
            self.monitor.unwatch(cast(MonitorSide, side))  # the old model's process; the new one's from its run

    def info(self, side: str) -> EngineInfo | None:
        engine = self.engines.get(side)
        return engine.info if engine is not None else None

    def available(self, side: str) -> bool:
        return self.info(side) is not None

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        self._listeners.append(listener)

        def unsubscribe() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return unsubscribe

    def _emit(self, event: SessionEvent) -> None:
        for listener in tuple(self._listeners):
            try:
                listener(event)
            except Exception:  # a broken view must not end a run
                log.exception("session listener failed on %s", type(event).__name__)

    # -- running -----------------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        run = self._run
        return run is not None and not run.done.is_set()

    def submit(
        self,
        task_input: TaskInput,
        params: GenerationParams | None = None,
        sides: Iterable[str] | None = None,
        mode: RunMode = "parallel",
        tags: Iterable[str] = (),
        keep: bool = True,
        evaluation: EvalRef | None = None,
    ) -> str:
        """Start a comparison and return its trial id at once. Sides without a ready engine are left out;
        `TaskInputError` for input the task cannot use, `SessionBusyError` while another one runs,
        `ValueError` when no chosen side is ready. `keep=False`: not handed to `on_trial` (a warm-up run).
        `evaluation`: the set, item and repeat the trial belongs to."""
        if self.running:
            raise SessionBusyError("A comparison is already running; stop it first.")
        params = params or GenerationParams()
        chosen = tuple(side for side in (sides or SLOTS) if side in self.engines)
        ready = tuple(side for side in chosen if self.available(side))
        if not ready:
            raise ValueError("Neither model is ready yet." if len(chosen) != 1 else "That model is not ready.")
        messages = {side: build_messages(task_input, self._history(task_input, side)) for side in ready}
        turn = len(self.transcripts[ready[0]]) if task_input.task == "chat" else 0
        run = _Run(
            id=new_trial_id(), input=task_input, params=params, sides=ready, mode=mode, tags=tuple(tags),
            evaluation=evaluation, messages=messages, chat_turn=turn,
            stopped={side: threading.Event() for side in ready}, keep=keep,
        )
        self._run = run
        self._emit(TrialStarted(run.id, task_input, ready, mode))
        if mode == "sequential" and len(ready) > 1:
            for side in ready[1:]:
                self._emit(SideQueued(run.id, side))
            run.threads.append(threading.Thread(target=self._run_sides, args=(run, ready), daemon=True,
                                                name="session-sequential"))
        else:
            for side in ready:
                run.threads.append(threading.Thread(target=self._run_sides, args=(run, (side,)), daemon=True,
                                                    name=f"session-{side}"))
        for thread in run.threads:
            thread.start()
        return run.id

    def run(
        self,
        task_input: TaskInput,
        params: GenerationParams | None = None,
        sides: Iterable[str] | None = None,
        mode: RunMode = "parallel",
        tags: Iterable[str] = (),
        keep: bool = True,
        evaluation: EvalRef | None = None,
    ) -> Trial:
        """Submit and wait for the trial (the CLI, evaluation). Ctrl+C stops the run and is raised again."""
        self.submit(task_input, params, sides, mode, tags, keep, evaluation)
        try:
            trial = self.wait()
        except KeyboardInterrupt:
            self.cancel()
            self.wait(5.0)
            raise
        assert trial is not None
        return trial

    def wait(self, timeout: float | None = None) -> Trial | None:
        """The running (or last) trial once it has ended; None if `timeout` passed first."""
        run = self._run
        if run is None:
            return None
        deadline = None if timeout is None else time.monotonic() + timeout
        while not run.done.wait(0.1):  # short waits, so Ctrl+C is noticed on every platform
            if deadline is not None and time.monotonic() >= deadline:
                return None
        return run.trial

    def cancel(self, side: str | None = None) -> None:
        """Stop the running comparison (or one side of it) at whatever point it is."""
        run = self._run
        if run is None or run.done.is_set():
            return
        for name in run.sides if side is None else (side,):
            flag = run.stopped.get(name)
            if flag is None or flag.is_set():
                continue
            flag.set()
            engine = self.engines.get(name)
            if engine is not None:
                engine.cancel()

    def new_chat(self) -> None:
        self.cancel()
        for history in self.transcripts.values():
            history.clear()

    def _history(self, task_input: TaskInput, side: str) -> list[tasks.ChatTurn]:
        return self.transcripts[side] if task_input.task == "chat" and task_input.messages is None else []

    # -- one side --------------------------------------------------------------------------------------
    def _run_sides(self, run: _Run, sides: tuple[str, ...]) -> None:
        for side in sides:
            try:
                result = self._run_side(run, side)
            except Exception as error:  # a bug of ours: say it, keep the other side's result
                log.exception("side %s failed", side)
                result = SideResult(side=side, label=self.labels.get(side, side), engine=self.info(side), text="",
                                    started_at=now_iso(),
                                    error=EngineError("internal", f"{type(error).__name__}: {error}"))
            with run.lock:
                run.results[side] = result
            self._emit(SideEnded(run.id, side, result))
        with run.lock:
            complete = len(run.results) == len(run.sides) and run.trial is None
            if complete:
                run.trial = Trial(
                    id=run.id, created_at=now_iso(), input=run.input, params=run.params,
                    sides=sides_in_order(list(run.results.values()), SLOTS), mode=run.mode,
                    chat_turn=run.chat_turn, tags=run.tags, evaluation=run.evaluation,
                )
        if complete:
            assert run.trial is not None
            if self.on_trial is not None and run.keep:
                try:
                    self.on_trial(run.trial)
                except Exception:
                    log.exception("keeping the trial failed")
            run.done.set()
            self._emit(TrialEnded(run.trial))

    def _run_side(self, run: _Run, side: str) -> SideResult:
        engine = self.engines.get(side)
        label = self.labels.get(side, side)
        info = engine.info if engine is not None else None
        stopped = run.stopped[side]
        if engine is None or info is None:
            return skipped_side(side, label, info, f"The {label.lower()} model is not ready.")
        if not info.on_this_computer and self.is_offline():
            return skipped_side(side, label, info, offline_refusal(info, label))
        if not info.on_this_computer and self.never_remote:
            return skipped_side(side, label, info, remote_refusal(info, label))
        started_at = now_iso()
        if stopped.is_set():  # stopped before its turn came
            return SideResult(side=side, label=label, engine=info, text="", started_at=started_at,
                              finished=_not_started(), notices=(notices.stopped_before_start(),))
        self._emit(SideStarted(run.id, side, info, time.perf_counter()))
        start_mark = self._mark(side, engine)
        cpu_before = engine.cpu_seconds()
        pid = engine.pid if info.kind == "local" and not info.recorded else None
        connections_before = egress_of.inet_connections(pid) if pid is not None else None
        egress: Egress | None = None
        request = GenerationRequest.from_params(run.messages[side], run.params)
        if info.model_runs == "remote":
            self.prices.refresh_for(info, self.is_offline)
        pieces: list[str] = []
        thoughts = 0  # thinking pieces shown (apart from the answer)
        told: list[Notice] = []
        finished: Finished | None = None
        error: EngineError | None = None
        forwarded = False
        for event in self._events(engine, info, run, side, request):
            if stopped.is_set():
                if not forwarded:  # a Stop that came before the engine took up this run reaches it now
                    engine.cancel()
                    forwarded = True
                if isinstance(event, TextDelta | Notice):
                    continue  # nothing that arrives after Stop is shown
            if isinstance(event, TextDelta):
                if event.kind == "answer":  # thinking is shown apart and is no part of the answer
                    pieces.append(event.text)
                else:
                    thoughts += 1
                # A replayed side's tokens are not this machine's work (and come at ×2 or ×4): the graphs show the
                # recording's own samples instead.
                if self.monitor is not None and side in SLOTS and not info.recorded:
                    self.monitor.record_tokens(cast(MonitorSide, side), 1, event.timestamp)
                self._emit(SideStreamed(run.id, side, event))
            elif isinstance(event, Notice):
                told.append(event)
                self._emit(SideStreamed(run.id, side, event))
            elif isinstance(event, Finished):
                finished = event
            elif isinstance(event, EngineError):
                error = event
            elif isinstance(event, Sent):
                egress = egress_of.add(egress, event.egress)
        if pid is not None:  # the small side's traffic, measured: its process's connections at both ends
            egress = egress_of.local_egress(pid, connections_before, egress_of.inet_connections(pid))
        if finished is not None and stopped.is_set() and (len(finished.deltas) > len(pieces)
                                                          or len(finished.reasoning_deltas) > thoughts):
            # Text arrived after Stop and was not shown: the trial keeps what the user saw, as stopped.
            finished = dataclasses.replace(finished, stop_reason="cancelled", deltas=finished.deltas[: len(pieces)],
                                           reasoning_deltas=finished.reasoning_deltas[:thoughts])
        cpu_after = engine.cpu_seconds()
        cpu_seconds = max(0.0, cpu_after - cpu_before) if cpu_before is not None and cpu_after is not None else None
        resources = self._summarize(start_mark, finished.submitted_at if finished is not None else None,
                                    whole_machine=engine.pid is None)
        cost = cost_of(self.prices, info, finished) if finished is not None else None
        energy_here = resources.energy.value if resources is not None else None
        api_energy = estimate_for_side(info, finished, energy_here, electricity.resolve_zone(self.electricity_zone)) \
            if finished is not None and error is None else None
        recorded = getattr(engine, "recorded", None) if info.recorded else None
        if isinstance(recorded, SideResult):  # a replay: the recorded figures, not this machine's nor today's prices
            cpu_seconds, resources, cost = recorded.cpu_seconds, recorded.resources, recorded.cost
            api_energy = recorded.api_energy
            egress = recorded.egress.as_recorded() if recorded.egress is not None else None
        text = "".join(pieces)
        if (run.input.task == "chat" and run.input.messages is None and finished is not None
                and finished.stop_reason != "cancelled" and error is None):
            self.transcripts[side].append(tasks.ChatTurn(run.input.text.strip(), text))
        shown = text if error is None else error.partial_text or text
        checks, scores = assess_answer(run.input, shown) if finished is not None and error is None else ((), ())
        return SideResult(
            side=side, label=label, engine=info, text=shown,
            started_at=started_at, finished=finished if error is None else None, error=error, cost=cost,
            cpu_seconds=cpu_seconds, resources=resources, notices=tuple(told), checks=checks, scores=scores,
            recorded=info.recorded, api_energy=api_energy, egress=egress,
        )

    def _events(self, engine: Engine, info: EngineInfo, run: _Run, side: str,
                request: GenerationRequest) -> Iterator[Event]:
        task_input = run.input
        if task_input.task == "summarize" and not info.recorded:  # a recording already holds the final summary
            return map_reduce.summarize(engine, task_input.text.strip(), task_input.summary_length or "paragraph",
                                        task_input.system_prompt, request, info.context_tokens,
                                        run.stopped[side].is_set)
        return engine.generate(request)

    # -- resources -----------------------------------------------------------------------------------------
    def _mark(self, side: str, engine: Engine) -> ResourceMark | None:
        """Watch `side`'s engine process (again at each run: a restarted engine is another) and mark its start."""
        monitor, info, pid = self.monitor, engine.info, engine.pid
        if monitor is None or side not in SLOTS:
            return None
        slot = cast(MonitorSide, side)
        with self._sampler_lock:
            monitor.watch(slot, pid)  # None (a server, a recording): its model runs in no process of ours
            if pid is None and not (info is not None and info.where == "this_computer"):
                return None  # nothing this machine spends on it can be told apart
            return monitor.mark(slot)  # a server here is no process of ours, but the energy meter tells its cost

    def _summarize(self, start: ResourceMark | None, submitted_at: float | None,
                   whole_machine: bool = False) -> RunResourceSummary | None:
        monitor = self.monitor
        if monitor is None or start is None:
            return None
        with self._sampler_lock:
            monitor.sample_once()  # the run's last moments are in the summary too
            end = monitor.mark(start.side)  # the side's own process, whatever the other side runs meanwhile
            summary = monitor.summarize_run(submitted_at if submitted_at is not None else start.timestamp,
                                            end.timestamp, start, end, side=start.side)
            if whole_machine:  # a server on this computer: its process is not ours, the machine's use is
                summary = dataclasses.replace(summary, energy=monitor.machine_energy(summary))
            return summary


def _not_started() -> Finished:
    now = time.perf_counter()
    return Finished(prompt_tokens=0, prompt_tokens_provenance="measured", output_tokens=0,
                    output_tokens_provenance="measured", submitted_at=now, deltas=(), stop_reason="cancelled")
