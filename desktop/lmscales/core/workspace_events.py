"""What the `Workspace` publishes (its typed events) and decides (`Readiness`), as plain data that front ends
read; `lmscales.core.workspace` re-exports each."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from lmscales.core.engines.factory import EngineSpec
from lmscales.core.events import EngineInfo
from lmscales.core.trial import Trial

if TYPE_CHECKING:
    from lmscales.core.quality.results import EvalResult


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


@dataclass(frozen=True)
class EvaluationEnded:
    """An evaluation ended (whole or stopped): its result is the workspace's `last_evaluation`."""
    result: EvalResult


WorkspaceEvent = SlotChanged | OfflineChanged | TrialKept | TrialNotKept | EvaluationEnded
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
