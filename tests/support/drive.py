"""Tests only: drive one engine through one request to the end and collect what it said.

The app itself never does this: the CLI, the window and evaluation drive a `lmscales.core.session.Session`.
Engine tests look at the engine alone, below the session."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from lmscales.core import metrics
from lmscales.core.engines.base import Engine
from lmscales.core.events import EngineError, Event, Finished, GenerationRequest, TextDelta


@dataclass(frozen=True)
class Drained:
    text: str
    finished: Finished | None
    error: EngineError | None

    @property
    def ok(self) -> bool:
        return self.finished is not None and self.error is None

    @property
    def metrics(self) -> metrics.RunMetrics | None:
        return metrics.compute(self.finished) if self.finished is not None else None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"ok": self.ok, "output": self.text}
        if self.finished is not None:
            out["stop_reason"] = self.finished.stop_reason
            out["trimmed_messages"] = self.finished.trimmed_messages
            computed = metrics.compute(self.finished)
            out["metrics"] = computed.as_dict()
        if self.error is not None:
            out["error"] = {"kind": self.error.kind, "message": self.error.message}
        return out


def run_to_end(
    engine: Engine, request: GenerationRequest, on_event: Callable[[Event], None] | None = None
) -> Drained:
    return collect(engine.generate(request), on_event)


def collect(events: Iterable[Event], on_event: Callable[[Event], None] | None = None) -> Drained:
    """Consume any event stream (a generation, a map-reduce summary) into its result."""
    pieces: list[str] = []
    finished: Finished | None = None
    error: EngineError | None = None
    for event in events:
        if on_event is not None:
            on_event(event)
        if isinstance(event, TextDelta):
            if event.kind == "answer":  # thinking is no part of the answer
                pieces.append(event.text)
        elif isinstance(event, Finished):
            finished = event
        elif isinstance(event, EngineError):
            error = event
    return Drained("".join(pieces), finished, error)
