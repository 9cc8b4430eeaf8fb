"""What a `Session` reports while a comparison runs, as plain events (on the session's worker threads);
`lmscales.core.session` re-exports each."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from lmscales.core.events import EngineInfo, Notice, TextDelta
from lmscales.core.trial import RunMode, SideResult, TaskInput, Trial


# -- events ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TrialStarted:
    trial_id: str
    input: TaskInput
    sides: tuple[str, ...]
    mode: RunMode


@dataclass(frozen=True)
class SideQueued:
    """The side waits for the one before it (sequential mode)."""

    trial_id: str
    side: str


@dataclass(frozen=True)
class SideStarted:
    trial_id: str
    side: str
    engine: EngineInfo
    at: float  # perf_counter


@dataclass(frozen=True)
class SideStreamed:
    """A piece of the answer (`TextDelta`) or something to know while it runs (`Notice`)."""

    trial_id: str
    side: str
    event: TextDelta | Notice


@dataclass(frozen=True)
class SideEnded:
    trial_id: str
    side: str
    result: SideResult


@dataclass(frozen=True)
class TrialEnded:
    trial: Trial


SessionEvent = TrialStarted | SideQueued | SideStarted | SideStreamed | SideEnded | TrialEnded
Listener = Callable[[SessionEvent], None]
