"""Who runs when: the comparison controller between the task panel, the two bridges and the two panes.

It builds each side's request from the same input and the same generation settings, runs the sides at
once or one after the other, keeps each side's own chat history, and reports every finished run
(`runEnded`) for the history table. The window composes; this decides.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from PySide6.QtCore import QObject, Signal

from lmscales.core import tasks
from lmscales.core.engines import map_reduce
from lmscales.core.engines.local import LocalEngine
from lmscales.core.engines.remote import RemoteEngine
from lmscales.core.events import EngineError, Event, Finished, GenerationRequest, Message, TextDelta
from lmscales.core.pricing import Cost, PriceTable
from lmscales.core.sampler import ResourceMark, RunResourceSummary, Sampler
from lmscales.ui.bridge import EngineBridge, LocalEngineBridge
from lmscales.ui.side_pane import SidePane

SIDES = ("local", "remote")
STOP_NOTES = {"stop": "Done.", "length": "Reached max tokens.", "cancelled": "Stopped."}


@dataclass(frozen=True)
class SummaryJob:
    """What a summary needs beyond its messages, to be cut into chunks when it is too long for a side."""

    text: str
    length: tasks.SummaryLength
    system_prompt: str | None


@dataclass(frozen=True)
class RunOutcome:
    """Everything the history needs about one side's finished run."""

    side: str
    task: tasks.TaskName
    model: str
    host: str | None
    finished: Finished | None
    error: EngineError | None
    cost: Cost | None
    cpu_seconds: float | None
    resources: RunResourceSummary | None = None


def _escape_markdown(text: str) -> str:
    return text.replace("\\", "\\\\").replace("*", "\\*").replace("_", "\\_").replace("#", "\\#")


class ComparisonController(QObject):
    runEnded = Signal(object)  # RunOutcome
    runningChanged = Signal(bool)
    marked = Signal(str, str, float)  # side, "sent" / "first token" / "finished", perf_counter time

    def __init__(
        self,
        local: LocalEngineBridge,
        remote: EngineBridge,
        panes: dict[str, SidePane],
        prices: PriceTable,
        sampler: Sampler | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.sampler = sampler
        self._marks: dict[str, ResourceMark] = {}
        self._awaiting_first: set[str] = set()
        self.bridges: dict[str, EngineBridge] = {"local": local, "remote": remote}
        self.panes = panes
        self.prices = prices
        self.histories: dict[str, list[tasks.ChatTurn]] = {side: [] for side in SIDES}
        self._queue: list[tuple[str, Callable[[], Iterator[Event]]]] = []
        self._active: dict[str, tuple[tasks.TaskName, str, float | None]] = {}
        self.last_finished: dict[str, Finished] = {}
        for side, bridge in self.bridges.items():
            bridge.finished.connect(lambda finished, s=side: self._on_finished(s, finished))
            bridge.failed.connect(lambda error, s=side: self._on_failed(s, error))
            bridge.busyChanged.connect(self._on_busy_changed)
            bridge.deltasReady.connect(lambda deltas, s=side: self._on_deltas(s, deltas))
            panes[side].stopRequested.connect(lambda s=side: self.stop(s))

    # -- availability --------------------------------------------------------------------------------
    def available(self, side: str) -> bool:
        bridge = self.bridges[side]
        if side == "local":
            return isinstance(bridge, LocalEngineBridge) and bridge.local_engine.model is not None
        return bridge.engine is not None

    @property
    def running(self) -> bool:
        return bool(self._active) or bool(self._queue) or any(b.busy for b in self.bridges.values())

    def model_name(self, side: str) -> str:
        bridge = self.bridges[side]
        if isinstance(bridge, LocalEngineBridge) and bridge.local_engine.model is not None:
            return bridge.local_engine.model.display_name
        engine = bridge.engine
        return engine.endpoint.model if isinstance(engine, RemoteEngine) else "?"

    # -- running ---------------------------------------------------------------------------------------
    def send(
        self,
        task: tasks.TaskName,
        build_messages: Callable[[list[tasks.ChatTurn]], tuple[Message, ...]],
        fields: dict[str, object],
        sides: tuple[str, ...],
        sequential: bool,
        user_text: str,
        summary: SummaryJob | None = None,
    ) -> list[str]:
        """Start the given sides; returns the sides started (busy or unavailable ones are skipped)."""
        if self.running:
            return []
        started = []
        for side in sides:
            if not self.available(side):
                continue
            messages = build_messages(self.histories[side] if task == "chat" else [])
            request = GenerationRequest(messages=messages, **fields)  # type: ignore[arg-type]
            self._queue.append((side, self._events_for(side, request, summary)))
            self._active[side] = (task, user_text, None)
            started.append(side)
        if sequential and len(started) > 1:
            for side in started[1:]:
                self.panes[side].reset(self._transcript(side, user_text) if task == "chat" else "")
                self.panes[side].status.setText("Waits for the small side to finish (one after the other)…")
            self._start_next()
        else:
            while self._queue:
                self._start_next()
        self.runningChanged.emit(self.running)
        return started

    def _events_for(
        self, side: str, request: GenerationRequest, summary: SummaryJob | None
    ) -> Callable[[], Iterator[Event]]:
        engine = self.bridges[side].engine
        assert engine is not None
        if summary is None:
            return lambda: engine.generate(request)
        context = self.context_tokens(side)
        bridge = self.bridges[side]
        return lambda: map_reduce.summarize(engine, summary.text, summary.length, summary.system_prompt, request,
                                            context, lambda: bridge.cancel_requested)

    def context_tokens(self, side: str) -> int:
        engine = self.bridges[side].engine
        if isinstance(engine, LocalEngine):
            return engine.n_ctx
        return engine.options.context_tokens if isinstance(engine, RemoteEngine) else 4096

    def _start_next(self) -> None:
        if not self._queue:
            return
        side, events = self._queue.pop(0)
        task, text, _ = self._active[side]
        cpu = self.bridges["local"].local_engine.cpu_seconds() if side == "local" else None  # type: ignore[attr-defined]
        self._active[side] = (task, text, cpu)
        self.panes[side].begin(self._transcript(side, text) if task == "chat" else "")
        if self.sampler is not None and side == "local":
            self.sampler.set_engine_pid(self.local_engine().pid)
            self._marks[side] = self.sampler.mark()
        self._awaiting_first.add(side)
        self.marked.emit(side, "sent", time.perf_counter())
        self.bridges[side].start_events(events)

    def _on_deltas(self, side: str, deltas: list[TextDelta]) -> None:
        if side in self._awaiting_first and deltas:
            self._awaiting_first.discard(side)
            self.marked.emit(side, "first token", deltas[0].timestamp)

    def _resources(self, side: str, started: float | None) -> RunResourceSummary | None:
        start = self._marks.pop(side, None)
        if self.sampler is None or start is None:
            return None
        self.sampler.sample_once()  # the run's last moments are in the summary too
        end = self.sampler.mark()
        return self.sampler.summarize_run(started if started is not None else start.timestamp, end.timestamp,
                                          start, end)

    def stop(self, side: str | None = None) -> None:
        sides = SIDES if side is None else (side,)
        for name in sides:
            queued = [item for item in self._queue if item[0] == name]
            for item in queued:
                self._queue.remove(item)
                self._active.pop(name, None)
                self.panes[name].view.finish()
                self.panes[name].status.setText("Stopped before it started.")
            self.bridges[name].cancel()
        self.runningChanged.emit(self.running)

    def new_chat(self) -> None:
        self.stop()
        for side in SIDES:
            self.histories[side].clear()
            self.panes[side].reset()
            self.panes[side].status.setText("New chat.")

    # -- results ---------------------------------------------------------------------------------------
    def _transcript(self, side: str, user_text: str) -> str:
        parts = []
        for turn in self.histories[side]:
            parts.append(f"**You:** {_escape_markdown(turn.user)}\n\n{turn.assistant}\n\n---\n\n")
        parts.append(f"**You:** {_escape_markdown(user_text)}\n\n")
        return "".join(parts)

    def _on_finished(self, side: str, finished: Finished) -> None:
        task, user_text, cpu_before = self._active.pop(side, ("chat", "", None))
        self.last_finished[side] = finished
        cost: Cost | None = None
        cpu_seconds: float | None = None
        if side == "remote":
            estimated = "estimated" in (finished.prompt_tokens_provenance, finished.output_tokens_provenance)
            cost = self.prices.cost(self.model_name(side), finished.prompt_tokens, finished.output_tokens,
                                    "estimated" if estimated else "measured")
            last = cost.format()
            price = f" Price: {cost.price.source}." if cost.price else " No price known for this model."
        else:
            cpu_after = self.bridges["local"].local_engine.cpu_seconds()  # type: ignore[attr-defined]
            if cpu_before is not None and cpu_after is not None:
                cpu_seconds = max(0.0, cpu_after - cpu_before)
            last = f"{cpu_seconds:.2f} s" if cpu_seconds is not None else "n/a"
            price = ""
        note = STOP_NOTES[finished.stop_reason] + price
        if finished.trimmed_messages:
            note += f" {finished.trimmed_messages} old messages were left out to fit the context."
        if finished.chunks > 1:
            note += f" The text was longer than the context: summarized in {finished.chunks} chunks (map-reduce)."
        answer = self.panes[side].finish(finished, last, note)
        if task == "chat" and finished.stop_reason != "cancelled":
            self.histories[side].append(tasks.ChatTurn(user_text, answer))
        self._finish_marks(side)
        self.runEnded.emit(RunOutcome(side, task, self.model_name(side), self._host(side), finished, None, cost,
                                      cpu_seconds, self._resources(side, finished.submitted_at)))
        self._after_run()

    def _finish_marks(self, side: str) -> None:
        self._awaiting_first.discard(side)
        self.marked.emit(side, "finished", time.perf_counter())

    def _on_failed(self, side: str, error: EngineError) -> None:
        task, _, _ = self._active.pop(side, ("chat", "", None))
        self.panes[side].fail(error)
        self._finish_marks(side)
        self.runEnded.emit(RunOutcome(side, task, self.model_name(side), self._host(side), None, error, None, None,
                                      self._resources(side, None)))
        self._after_run()

    def _after_run(self) -> None:
        if self._queue:
            self._start_next()
        self.runningChanged.emit(self.running)

    def _on_busy_changed(self, _busy: bool) -> None:
        self.runningChanged.emit(self.running)

    def _host(self, side: str) -> str | None:
        engine = self.bridges[side].engine
        return engine.endpoint.host if isinstance(engine, RemoteEngine) else None

    def local_engine(self) -> LocalEngine:
        bridge = self.bridges["local"]
        assert isinstance(bridge, LocalEngineBridge)
        return bridge.local_engine
