"""An engine that plays a recorded side back: no model, no network, the recorded text at the recorded pace.

`ReplayEngine(side_result)` implements the `Engine` protocol, so the session runs it like any other engine and
the trial it produces is a real trial, marked `recorded` (its `info.recorded` is True; the session copies that
onto the `SideResult`). Each delta is emitted when its recorded time (relative to submit, divided by `speed`)
comes, against one fixed start, so waiting never accumulates drift; the `TextDelta` carries that due instant,
not the moment a busy machine got round to emitting it: the recorded pace is what the replay shows, and a
late wake-up (tens of ms on a loaded 2-core machine) neither shifts the later deltas nor the figures. The
final `Finished` carries the recorded offsets (not divided by `speed`), so every figure
computed from it (TTFT, tokens/s, counts) is the recorded one even at ×2 or ×4. The session also takes the
side's recorded CPU-seconds, resource summary and cost from `recorded` (no process of this machine runs it).

The session sends a recorded side no map-reduce plan: the recorded answer already is the final summary,
`chunks` and all.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Iterator

from lmscales.core.events import EngineError, EngineInfo, Event, GenerationRequest, TextDelta
from lmscales.core.trial import SideResult

SPEEDS = (1.0, 2.0, 4.0)


class ReplayEngine:
    """Plays `recorded` back; `speed` 1.0 is the original pace."""

    def __init__(self, recorded: SideResult, speed: float = 1.0) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.recorded = recorded
        self.speed = speed
        engine = recorded.engine or EngineInfo(kind="local", model=recorded.label, context_tokens=0)
        self._info = dataclasses.replace(engine, recorded=True)
        self._cancelled = threading.Event()
        self._lock = threading.Lock()

    @property
    def info(self) -> EngineInfo:
        return self._info

    @property
    def pid(self) -> int | None:
        return None

    def cpu_seconds(self) -> float | None:
        return None

    def cancel(self) -> None:
        self._cancelled.set()

    def close(self) -> None:
        self._cancelled.set()

    def generate(self, request: GenerationRequest) -> Iterator[Event]:
        if not self._lock.acquire(blocking=False):
            yield EngineError("busy", "The replay is already playing; stop it first.")
            return
        try:
            self._cancelled.clear()
            yield from self._play()
        finally:
            self._lock.release()

    def _play(self) -> Iterator[Event]:
        recorded = self.recorded
        start = time.perf_counter()
        for notice in recorded.notices:
            yield dataclasses.replace(notice, timestamp=start)
        finished = recorded.finished
        if finished is None:  # the recorded side failed: its partial text, then the same error
            error = recorded.error or EngineError("internal", recorded.skipped or "Nothing was recorded for this side.")
            if error.partial_text:
                yield TextDelta(error.partial_text, start)
            yield error
            return
        base = finished.submitted_at  # 0.0 in a stored trial; the submit instant in a live one
        offsets = [(at - base, text) for at, text in finished.deltas]
        shown = 0
        for offset, text in offsets:
            due = start + offset / self.speed
            remaining = due - time.perf_counter()
            if remaining > 0 and self._cancelled.wait(remaining):
                break
            if self._cancelled.is_set():
                break
            yield TextDelta(text, due)
            shown += 1
        cancelled = shown < len(offsets)
        yield dataclasses.replace(
            finished,
            submitted_at=start,
            deltas=tuple((start + offset, text) for offset, text in offsets[:shown]),
            stop_reason="cancelled" if cancelled else finished.stop_reason,
        )
