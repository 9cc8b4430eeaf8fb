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
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from lmscales.core import offline
from lmscales.core.engines.base import Engine
from lmscales.core.engines.factory import EndpointSpec, EngineSpec, GgufSpec, ReplaySpec, create_engine
from lmscales.core.events import EngineInfo
from lmscales.core.history import TrialHistory
from lmscales.core.pricing import PriceTable
from lmscales.core.recording import Collector
from lmscales.core.session import SLOTS, Session, SessionBusyError
from lmscales.core.trial import Trial

if TYPE_CHECKING:
    from lmscales.core.engines.local import LoadedModel
    from lmscales.core.engines.remote import ParameterMemory
    from lmscales.core.judge_choice import JudgeKind
    from lmscales.core.quality.judge import Judge
    from lmscales.core.sampler import Sampler
    from lmscales.core.threads import ThreadPolicy

log = logging.getLogger(__name__)

__all__ = [
    "EndpointSpec", "EngineSpec", "GgufSpec", "OfflineChanged", "Readiness", "ReplaySpec", "SlotChanged",
    "TrialKept", "TrialNotKept", "Workspace", "WorkspaceEvent",
]


# -- events ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SlotChanged:
    """What a slot holds changed: a new spec, a model loaded, or the slot emptied (`info` None: not ready)."""

    side: str
    spec: EngineSpec | None
    info: EngineInfo | None


@dataclass(frozen=True)
class OfflineChanged:
    offline: bool


@dataclass(frozen=True)
class TrialKept:
    trial: Trial


@dataclass(frozen=True)
class TrialNotKept:
    """The trial is in this session's memory, but could not be written to the history file."""

    trial: Trial
    reason: str


WorkspaceEvent = SlotChanged | OfflineChanged | TrialKept | TrialNotKept
Listener = Callable[[WorkspaceEvent], None]


@dataclass(frozen=True)
class Readiness:
    """What `can_send` decided: the chosen sides that can run now, and, when none can (or some cannot), why,
    as a sentence for the user."""

    sides: tuple[str, ...]
    reason: str | None = None

    @property
    def ok(self) -> bool:
        return bool(self.sides)


class Workspace:
    """The slots, their engines and everything around a comparison. Call it from one controlling thread (the
    GUI's, the CLI's main); `load` blocks for seconds and is meant for a worker thread; events are reported on
    the thread that caused them (the session's worker for a kept trial)."""

    def __init__(
        self,
        *,
        prices: PriceTable | None = None,
        history: TrialHistory | None = None,
        monitor: Sampler | None = None,
        labels: Mapping[str, str] | None = None,
        is_offline: Callable[[], bool] = offline.enabled,
        parameter_memory: ParameterMemory | None = None,
        factory: Callable[..., Engine] = create_engine,
    ) -> None:
        self.history = history if history is not None else TrialHistory()
        self.recorder = Collector()  # what File › Save recording… writes
        self.monitor = monitor
        if monitor is not None:
            monitor.subscribe(self.recorder.add_sample)
        self._parameter_memory = parameter_memory
        self.thread_policy: ThreadPolicy | None = None  # None: the threads stay as the spec sets them
        self._factory = factory
        self.session = Session(dict.fromkeys(SLOTS), prices=prices, sampler=monitor, labels=labels,
                               is_offline=is_offline, on_trial=self._keep)
        self.specs: dict[str, EngineSpec | None] = dict.fromkeys(SLOTS)
        self._listeners: list[Listener] = []
        self._loading: set[str] = set()
        self._lock = threading.Lock()
        self._judge_engine: Engine | None = None  # a judge endpoint's, closed with the workspace

    @property
    def parameter_memory(self) -> ParameterMemory:
        """What remote models refused, remembered for this session (made when a remote side first needs it:
        the window starts without the HTTP engine's modules)."""
        if self._parameter_memory is None:
            from lmscales.core.engines.remote import ParameterMemory

            self._parameter_memory = ParameterMemory()
        return self._parameter_memory

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
            if old_engine is not None:
                old_engine.close()
        self.specs[side] = spec
        self.session.set_engine(side, engine)
        self._emit(SlotChanged(side, spec, self.info(side)))
        return engine

    def load(self, side: str, progress: Callable[[int, int], None] | None = None) -> LoadedModel:
        """Load the GGUF spec of `side` into its engine (blocking: seconds), then take its thread counts from
        the measured table when the spec leaves them open. `LoadError` with a message for the user."""
        from lmscales.core.engines.local import LoadError, LocalEngine

        spec = self.specs.get(side)
        engine = self.engine(side)
        if not isinstance(spec, GgufSpec) or not isinstance(engine, LocalEngine):
            raise LoadError(f"The {self.label(side).lower()} side holds no GGUF model to load.")
        with self._lock:
            if side in self._loading:
                raise LoadError("That model is busy loading; wait for it, then load again.")
            self._loading.add(side)
        try:
            model = engine.load(spec.path or str(bundled_model_path()), spec.n_ctx, spec.threads)
            policy = self.thread_policy
            if spec.threads is None and policy is not None:
                engine.choose_threads(policy.store, policy.preference, measure=policy.measure, progress=progress)
                model = engine.model or model
        finally:
            with self._lock:
                self._loading.discard(side)
        self._emit(SlotChanged(side, spec, self.info(side)))
        return model

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

    def can_send(self, sides: Iterable[str] = SLOTS, *, has_text: bool = True) -> Readiness:
        """Which of `sides` a send would run now, or why nothing can be sent."""
        chosen = tuple(sides)
        if self.session.running:
            return Readiness((), "A comparison is running; stop it first.")
        if not has_text:
            return Readiness((), "Type or paste some text first.")
        ready = tuple(side for side in chosen if self.info(side) is not None and side not in self._loading)
        if not ready:
            return Readiness((), "Neither model is ready yet." if len(chosen) > 1 else "That model is not ready.")
        left_out = [self.label(side) for side in chosen if side not in ready]
        reason = f"Without the {' and '.join(left_out).lower()} side (not ready)." if left_out else None
        return Readiness(ready, reason)

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
        self.recorder.add_trial(trial)
        problem = self.history.append(trial)
        self._emit(TrialKept(trial) if not problem else TrialNotKept(trial, problem))

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
    from lmscales.core.model_files import load_manifest, verify

    return verify(load_manifest())
