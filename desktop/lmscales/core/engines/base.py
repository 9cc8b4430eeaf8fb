"""The interface both sides share: a frozen request in, a stream of plain events out."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Protocol

from lmscales.core.events import EngineError, EngineInfo, EngineKind, Event, GenerationRequest

__all__ = ["Engine", "EngineInfo", "EngineKind", "one_at_a_time"]

class Engine(Protocol):
    """What the session, the benchmarks and the tests drive.

    `generate` blocks while it yields and is consumed on one thread; `cancel` may be called from any
    other thread and ends the running generation promptly with `Finished(stop_reason="cancelled")`.
    `info` is None while the engine cannot run (no model loaded yet). `pid` is the process whose
    resources the run uses, where that is not this one (the local engine's child); `cpu_seconds` is that
    process's CPU time so far, None where it cannot be known (a remote server).
    """

    @property
    def info(self) -> EngineInfo | None: ...

    @property
    def pid(self) -> int | None: ...

    def cpu_seconds(self) -> float | None: ...

    def generate(self, request: GenerationRequest) -> Iterator[Event]: ...

    def cancel(self) -> None: ...

    def close(self) -> None: ...


def one_at_a_time(lock: threading.Lock, side: str, events: Callable[[], Iterator[Event]]) -> Iterator[Event]:
    """Run `events` holding `lock`; a second caller gets a "busy" error instead of waiting."""
    if not lock.acquire(blocking=False):
        yield EngineError("busy", f"The {side} engine is already generating; stop it first.")
        return
    try:
        yield from events()
    finally:
        lock.release()
