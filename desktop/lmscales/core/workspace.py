"""The application model, with no Qt (napari's `ViewerModel` is the pattern): everything the window, the
presenter, the dialogs, replay and the command line share, decided once.

A `Workspace` owns the two slots and what each holds (an `EngineSpec`: a GGUF file on this CPU, an endpoint,
a recording), builds their engines through the one factory, and keeps the `Session` that runs comparisons on
them, the offline state, the price table, the parameter memory of remote models, the history, the recorder
of this session's comparisons, the resource monitor, and the rules of what can be sent (`can_send`, with the
reason when not). Front ends subscribe to its typed events and show them; none of them builds an engine or
decides whether a side is ready.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from lmscales.core import offline
from lmscales.core.blind_votes import BlindVotes
from lmscales.core.decision.from_history import SourcedDecision, decision_for
from lmscales.core.decision.settings import DecisionSettings
from lmscales.core.electricity import DEFAULT_PRICE_USD_PER_KWH
from lmscales.core.endpoints import Endpoint
from lmscales.core.engines.base import Engine
from lmscales.core.engines.factory import EndpointSpec, EngineSpec, GgufSpec, ReplaySpec, create_engine
from lmscales.core.events import EngineInfo
from lmscales.core.gguf_threads import GgufThreads, as_local
from lmscales.core.history import TrialHistory
from lmscales.core.pricing import PriceTable
from lmscales.core.recording import Collector
from lmscales.core.send_guard import Hold, SendGuard, remote_refusal
from lmscales.core.session import SLOTS, Session, SessionBusyError
from lmscales.core.trial import Trial
from lmscales.core.workspace_events import (
    EvaluationEnded,
    Listener,
    OfflineChanged,
    Readiness,
    SlotChanged,
    TrialKept,
    TrialNotKept,
    WorkspaceEvent,
)

if TYPE_CHECKING:
    from lmscales.core.engines.local import LoadedModel, LocalEngine
    from lmscales.core.engines.remote import ParameterMemory
    from lmscales.core.judge_choice import JudgeKind
    from lmscales.core.quality.judge import Judge
    from lmscales.core.quality.results import EvalResult
    from lmscales.core.resource_monitor import ResourceMonitor
    from lmscales.core.settings import LocalEngineSettings
    from lmscales.core.thread_counts import ThreadPolicy, ThreadStore, ThreadTable

log = logging.getLogger(__name__)

__all__ = [
    "EndpointSpec", "EngineSpec", "EvaluationEnded", "GgufSpec", "OfflineChanged", "Readiness", "ReplaySpec",
    "SlotChanged", "TrialKept", "TrialNotKept", "Workspace", "WorkspaceEvent",
]


class Workspace:
    """The slots, their engines and everything around a comparison. Call it from one controlling thread (the
    GUI's, the CLI's main); `load` blocks for seconds and is meant for a worker thread; events are reported on
    the thread that caused them (the session's worker for a kept trial)."""

    def __init__(
        self,
        *,
        prices: PriceTable | None = None,
        history: TrialHistory | None = None,
        monitor: ResourceMonitor | None = None,
        labels: Mapping[str, str] | None = None,
        is_offline: Callable[[], bool] = offline.enabled,
        parameter_memory: ParameterMemory | None = None,
        factory: Callable[..., Engine] = create_engine,
        thread_store: ThreadStore | None = None,
    ) -> None:
        self.history = history if history is not None else TrialHistory()
        self.recorder = Collector()  # what File › Save recording… writes
        self.blind_votes = BlindVotes(self.history, self.recorder)  # blind comparisons' orders and votes
        self.records_trials = True  # False: trials are not collected for a recording (a long headless evaluation)
        self.monitor = monitor
        if monitor is not None:
            monitor.subscribe(self.recorder.add_sample)
        self._parameter_memory = parameter_memory
        self.threads = GgufThreads(thread_store)  # how GGUF engines run and choose their threads
        self._factory = factory
        self.session = Session(dict.fromkeys(SLOTS), prices=prices, monitor=monitor, labels=labels,
                               is_offline=is_offline, on_trial=self._keep)
        self.specs: dict[str, EngineSpec | None] = dict.fromkeys(SLOTS)
        self._listeners: list[Listener] = []
        self._loading: set[str] = set()
        self._lock = threading.Lock()
        # What a slot gets once the running comparison has ended (a new endpoint, or none when going offline).
        self._pending: dict[str, EngineSpec | None] = {}
        self._judge_engine: Engine | None = None  # a judge endpoint's, closed with the workspace
        self.electricity_price = DEFAULT_PRICE_USD_PER_KWH  # USD per kWh on this computer (`set_electricity`)
        self.send_guard = SendGuard()  # "send anyway", remembered for this session
        self.decision_settings = DecisionSettings(electricity_price_per_kwh=self.electricity_price)  # the user's
        self.last_evaluation: EvalResult | None = None  # the latest evaluation a front end ran

    @property
    def parameter_memory(self) -> ParameterMemory:
        """What remote models refused, remembered for this session (made when a remote side first needs it:
        the window starts without the HTTP engine's modules)."""
        if self._parameter_memory is None:
            from lmscales.core.engines.remote import ParameterMemory

            self._parameter_memory = ParameterMemory()
        return self._parameter_memory

    @parameter_memory.setter
    def parameter_memory(self, memory: ParameterMemory) -> None:
        """One kept with the settings (the window's), so what a model refused is remembered across sessions."""
        self._parameter_memory = memory

    def attach_monitor(self, monitor: ResourceMonitor) -> None:
        """A resource monitor for a workspace made without one (the window always shows resources)."""
        self.monitor = self.session.monitor = monitor
        monitor.subscribe(self.recorder.add_sample)

    # -- events ------------------------------------------------------------------------------------------
    def subscribe(self, listener: Listener) -> Callable[[], None]:
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def _emit(self, event: WorkspaceEvent) -> None:
        for listener in tuple(self._listeners):
            try:
                listener(event)
            except Exception:  # a broken view must not break the model
                log.exception("workspace listener failed on %s", type(event).__name__)

    # -- slots ---------------------------------------------------------------------------------------------
    def engine(self, side: str) -> Engine | None:
        return self.session.engines.get(side)

    def info(self, side: str) -> EngineInfo | None:
        return self.session.info(side)

    def label(self, side: str) -> str:
        return self.session.labels.get(side, side)

    def set_slot(self, side: str, spec: EngineSpec | None) -> Engine | None:
        """Put `spec` in `side`, building its engine through the one factory. An endpoint or a recording is
        ready at once; a GGUF once `load(side)` has loaded it. A GGUF slot keeps its engine (and its running
        model) across new GGUF specs, so a file that fails to load leaves the previous model working."""
        if self.session.running:
            raise SessionBusyError("Stop the running comparison before changing a side's model.")
        old_spec, old_engine = self.specs.get(side), self.engine(side)
        if isinstance(spec, GgufSpec) and isinstance(old_spec, GgufSpec) and old_engine is not None:
            engine: Engine | None = old_engine
        else:
            memory = self.parameter_memory if isinstance(spec, EndpointSpec) else None
            engine = None if spec is None else self._factory(spec, parameter_memory=memory)
            self.threads.configure_engine(engine)
            if old_engine is not None:
                old_engine.close()
        self.specs[side] = spec
        self.session.set_engine(side, engine)
        self._emit(SlotChanged(side, spec, self.info(side)))
        return engine

    def lend(self, specs: Mapping[str, EngineSpec]) -> Callable[[], None]:
        """Put an engine built from each spec (a recording played back) into its slot for a while, keeping what
        the slot held (a loaded GGUF is not closed); call the returned function to give the slots back."""
        if self.session.running:
            raise SessionBusyError("A comparison is running; stop it first.")
        saved = {side: self.engine(side) for side in specs}
        for side, spec in specs.items():
            self.session.set_engine(side, self._factory(spec, parameter_memory=None))

        def give_back() -> None:
            for side, engine in saved.items():
                lent = self.engine(side)
                self.session.set_engine(side, engine)
                if lent is not None and lent is not engine:
                    lent.close()

        return give_back

    def set_slot_when_idle(self, side: str, spec: EngineSpec | None) -> bool:
        """`set_slot` now, or, while a comparison runs, stop that side and put `spec` in once the run has ended
        (going offline mid-run, a new endpoint). True: applied now."""
        if not self.session.running:
            self._pending.pop(side, None)
            self.set_slot(side, spec)
            return True
        self._pending[side] = spec
        self.session.cancel(side)
        return False

    def pending(self, side: str) -> bool:
        return side in self._pending

    def apply_pending(self) -> None:
        """The swaps queued by `set_slot_when_idle`, once the run has ended; called on the controlling thread
        (the window's GUI thread, when it has shown the trial), so a new run cannot start between the check
        that nothing runs and the swap."""
        for side in list(self._pending):
            spec = self._pending.pop(side)
            try:
                self.set_slot(side, spec)
            except SessionBusyError:  # a new run was submitted first: keep the swap for its end
                self._pending.setdefault(side, spec)
            except Exception:
                log.exception("the %s side's queued change failed", side)

    def another_engine(self, side: str) -> Engine:
        """Another engine for the endpoint `side` holds, built by the one factory with this workspace's parameter
        memory: an evaluation's requests beyond the first that run at once. The caller closes it. `ValueError` when
        `side` holds no endpoint (a GGUF runs one request at a time)."""
        spec = self.specs.get(side)
        if not isinstance(spec, EndpointSpec):
            raise ValueError(f"The {self.label(side).lower()} side holds no endpoint: it runs one request at a time.")
        return self._factory(spec, parameter_memory=self.parameter_memory)

    def endpoint(self, side: str) -> Endpoint | None:
        """The endpoint `side` holds (None: a GGUF, a recording or nothing)."""
        spec = self.specs.get(side)
        return spec.endpoint if isinstance(spec, EndpointSpec) else None

    def holds_gguf(self, side: str) -> bool:
        """`side` runs a loaded GGUF on this CPU."""
        return isinstance(self.specs.get(side), GgufSpec) and self.info(side) is not None

    def local_engine(self, side: str) -> LocalEngine | None:
        """The GGUF engine of `side` (None for an endpoint, a recording or an empty slot)."""
        return as_local(self.engine(side))

    def load(self, side: str, spec: GgufSpec | None = None, progress: Callable[[int, int], None] | None = None,
             *, choose_threads: bool = True) -> LoadedModel:
        """Load a GGUF into `side` (blocking: seconds): `spec`, or the one the slot holds. A slot that already runs
        a GGUF loads it into the same engine, which keeps its previous model if the new one fails; any other slot
        (an endpoint, empty) gets a new engine once the file has loaded, so a file that cannot load leaves the
        slot as it was. Then, when the spec leaves them open, the thread counts come from the measured table
        (`choose_threads=False`: the caller does that step, to report it apart). `LoadError` with a message for
        the user."""
        from lmscales.core.engines.local import LoadError, LocalEngine

        held = spec if spec is not None else self.specs.get(side)
        if not isinstance(held, GgufSpec):
            raise LoadError(f"The {self.label(side).lower()} side holds no GGUF model to load.")
        spec = held
        self._begin(side)
        try:
            engine = self.local_engine(side)
            fresh = engine is None
            if engine is None:
                made = self._factory(spec)
                assert isinstance(made, LocalEngine)
                engine = made
                self.threads.configure_engine(engine)
            try:
                model = engine.load(spec.path or str(bundled_model_path()), spec.n_ctx, spec.threads)
            except BaseException:
                if fresh:
                    engine.close()
                raise
            if fresh:
                old = self.engine(side)
                self.session.set_engine(side, engine)
                if old is not None:
                    old.close()
            self.specs[side] = spec
            if choose_threads and spec.threads is None:
                self.threads.choose(engine, progress=progress)
                model = engine.model or model
        finally:
            self._end(side)
        self._emit(SlotChanged(side, spec, self.info(side)))
        return model

    # -- threads of the GGUF sides ---------------------------------------------------------------------
    @property
    def thread_policy(self) -> ThreadPolicy | None:
        """How a GGUF side's threads are chosen once loaded (None: as its spec sets them)."""
        return self.threads.policy

    @thread_policy.setter
    def thread_policy(self, policy: ThreadPolicy | None) -> None:
        self.threads.policy = policy

    def configure_local(self, values: LocalEngineSettings) -> None:
        """The settings of every GGUF engine (prompt cache, adaptation, watchdog) and how their threads are
        chosen (`threads.policy`); choosing them again for a loaded model is `choose_threads`."""
        self.threads.configure(values, (self.engine(side) for side in SLOTS))

    def thread_table(self, side: str) -> ThreadTable | None:
        engine = self.local_engine(side)
        return engine.thread_table if engine is not None else None

    def choose_threads(self, side: str, again: bool = False,
                       progress: Callable[[int, int], None] | None = None) -> bool:
        """`GgufThreads.choose` for `side`, which is busy meanwhile (blocking when it measures)."""
        self._begin(side)
        try:
            return self.threads.choose(self.engine(side), again, progress)
        finally:
            self._end(side)

    def set_threads(self, side: str, threads: int, reason: str) -> LoadedModel | None:
        """A thread count set by hand for the GGUF of `side`, from its next run on."""
        engine = self.local_engine(side)
        if engine is None:
            return None
        engine.set_threads(threads, reason=reason)
        return engine.model

    def _begin(self, side: str) -> None:
        from lmscales.core.engines.local import LoadError

        with self._lock:
            if side in self._loading:
                raise LoadError("That model is busy loading; wait for it, then load again.")
            self._loading.add(side)

    def _end(self, side: str) -> None:
        with self._lock:
            self._loading.discard(side)

    def loading(self, side: str | None = None) -> bool:
        with self._lock:
            return bool(self._loading) if side is None else side in self._loading

    # -- rules -------------------------------------------------------------------------------------------
    def ready(self, side: str) -> bool:
        """The side has a runnable engine, and offline mode does not forbid it."""
        info = self.info(side)
        if info is None or (side in self._loading):
            return False
        return info.on_this_computer or not self.offline

    def ready_sides(self) -> tuple[str, ...]:
        """The sides whose model is ready, whether or not a comparison runs now."""
        return tuple(side for side in SLOTS if self.info(side) is not None and side not in self._loading)

    def why_not_ready(self, side: str) -> str | None:
        """Why `side` cannot run now, as a sentence for the user (None: it can)."""
        label = self.label(side).lower()
        if side in self._loading:
            return f"The {label} model is busy loading."
        if self.info(side) is not None:
            return None
        if self.specs.get(side) is None:
            return f"The {label} side is not set up."
        return f"The {label} side has no model loaded."

    def can_send(self, sides: Iterable[str] = SLOTS, *, has_text: bool = True) -> Readiness:
        """Which of `sides` a send would run now, or why nothing can be sent. While any side loads (or
        measures its threads) nothing is sent: a load takes the CPU a run would be measured on."""
        chosen = tuple(sides)
        if self.session.running:
            return Readiness((), "A comparison is running; stop it first.")
        if not has_text:
            return Readiness((), "Type or paste some text first.")
        busy = [side for side in SLOTS if side in self._loading]
        if busy:
            return Readiness((), self.why_not_ready(busy[0]))
        ready = tuple(side for side in chosen if self.info(side) is not None)
        if not ready:
            if len(chosen) == 1:
                return Readiness((), self.why_not_ready(chosen[0]))
            return Readiness((), "Neither model is ready yet.")
        left_out = [side for side in chosen if side not in ready]
        reason = None
        if left_out:
            why = " ".join(filter(None, (self.why_not_ready(side) for side in left_out)))
            reason = f"{why} Only the {' and '.join(self.label(side).lower() for side in ready)} side runs."
        return Readiness(ready, reason)

    def check_before_sending(self, sides: Iterable[str], text: str) -> Hold | None:
        """A `Hold` when `text` holds something sensitive and a chosen side runs beyond this computer (the front
        end asks: send anyway, this computer's side only, or cancel); None: nothing to ask."""
        return self.send_guard.check({side: self.info(side) for side in sides}, text)

    @property
    def never_remote(self) -> bool:
        """Fail closed: every side beyond this computer refuses to run (the setting, `--no-remote`)."""
        return self.session.never_remote

    @never_remote.setter
    def never_remote(self, on: bool) -> None:
        self.session.never_remote = on

    def remote_refused(self, sides: Iterable[str] = SLOTS) -> str | None:
        """Why a run on `sides` must not start while `never_remote` is on (None: it may)."""
        for side in sides:
            info = self.info(side)
            if self.never_remote and info is not None and not info.on_this_computer:
                return remote_refusal(info, self.label(side))
        return None

    def can_send_again(self, trial: Trial) -> Readiness:
        """A past comparison again: on the sides it ran on (all of them if it ran none) that are ready now."""
        if self.session.running:
            return Readiness((), "A comparison is running; send again when it has finished.")
        wanted = tuple(result.side for result in trial.sides if result.skipped is None) or \
            tuple(result.side for result in trial.sides)
        ready = tuple(side for side in wanted if side in self.ready_sides())
        if not ready:
            return Readiness((), "The sides of that comparison are not ready now.")
        left_out = [self.label(side).lower() for side in wanted if side not in ready]
        reason = f"Sent again without the {' and '.join(left_out)} side (not ready now)." if left_out else None
        return Readiness(ready, reason)

    def remote_models(self) -> tuple[str, ...]:
        """The models behind an endpoint: only they are sent a reasoning effort (a GGUF on this CPU ignores it,
        whatever its name)."""
        return tuple(info.model for side in SLOTS if (info := self.info(side)) is not None and info.kind == "remote")

    # -- offline and prices ----------------------------------------------------------------------------------
    @property
    def offline(self) -> bool:
        return self.session.is_offline()

    def set_offline(self, on: bool) -> None:
        if on == self.offline:
            return
        if on:
            offline.enable()
        else:
            offline.disable()
        self._emit(OfflineChanged(on))

    @property
    def prices(self) -> PriceTable:
        return self.session.prices

    def set_price_overrides(self, overrides: Iterable[tuple[str, float, float]],
                            file: Path | None = None) -> PriceTable:
        """The bundled price table, the overrides `file` on top (the command line's `--prices`), then the user's
        (model, input, output per million) overrides. `PriceTableError` when the file is unreadable."""
        table = PriceTable.load(file)
        for model, input_per_million, output_per_million in overrides:
            table = table.with_override(model, input_per_million, output_per_million)
        self.session.prices = table
        return table

    def set_electricity(self, zone: str, price_usd_per_kwh: float) -> None:
        """The settings' electricity: the zone of an endpoint's EcoLogits estimate ("auto": the locale's), and
        what a kWh costs on this computer (`electricity_price`, for the money a local side's energy costs)."""
        self.session.electricity_zone = zone
        self.electricity_price = price_usd_per_kwh

    # -- the judge ---------------------------------------------------------------------------------------------
    def judge(self, kind: JudgeKind) -> Judge:
        """The blind judge of an evaluation: "large" (the large side, also a contestant) or an `EndpointSpec` (a
        third model, built through the factory with this workspace's parameter memory, closed with it). The
        small model is refused, as is anything beyond this computer while offline (`JudgeRefused`)."""
        from lmscales.core.judge_choice import choose_judge

        judge, engine = choose_judge(kind, self.session.engines, offline=self.offline,
                                     build=lambda spec: self._factory(spec, parameter_memory=self.parameter_memory))
        if engine is not None:
            if self._judge_engine is not None:
                self._judge_engine.close()
            self._judge_engine = engine
        return judge

    # -- trials --------------------------------------------------------------------------------------------
    def _keep(self, trial: Trial) -> None:
        """On the session's worker thread, when a comparison ends: into the recorder and the history."""
        trial = self.blind_votes.stamp(trial)  # shown blind: its order goes with it, voted or not
        if self.records_trials:
            self.recorder.add_trial(trial)
        problem = self.history.append(trial)
        self._emit(TrialKept(trial) if not problem else TrialNotKept(trial, problem))

    def evaluation_ended(self, result: EvalResult) -> None:
        """A front end's evaluation ended: the evidence of `decision` for the tasks it ran."""
        self.last_evaluation = result
        self._emit(EvaluationEnded(result))

    def decision(self, task: str) -> SourcedDecision | None:
        """Which model for `task`, under `decision_settings`: from the last evaluation that measured the task,
        else from the history's trials of it (None: nothing has answered it yet)."""
        return decision_for(task, self.last_evaluation, self.history.list(), self.decision_settings)

    def close(self) -> None:
        """Stop any run and close every engine the workspace built."""
        self.session.cancel()
        self.session.wait(5.0)
        for side in SLOTS:
            engine = self.engine(side)
            if engine is not None:
                engine.close()
        if self._judge_engine is not None:
            self._judge_engine.close()


def bundled_model_path() -> Path:
    """The verified bundled GGUF (`ModelFileError` with a message for the user when it is missing)."""
    from lmscales.core.bundled_model import load_manifest, verify

    return verify(load_manifest())
