"""Stepping through a demo, with no Qt: which step of a scenario is current, what Space and PageUp ask to run
next, what a step needs run (its `TaskInput`, parameters and sides), the step that waits while the small model
loads, and when a live run may fall back to a recorded answer.

The presenter window asks and shows; the rules are decided here, from plain values (`SidesNow`: is a
comparison running, which sides load, which are ready), so a test drives a whole talk without a window. A
step that cannot run now is a `StepRefused` with a kind and fields; its sentence is made only when shown.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from lmscales.core.recording import Recording
from lmscales.core.scenario import Extrapolation, Scenario, Step
from lmscales.core.trial import GenerationParams, SideResult, TaskInput, Trial
from lmscales.core.votes import VoteChoice, choice_for_key

# Failures a recording may stand in for: the network or the service, never the user's own setup (a bad key,
# an unknown model) where a replay would hide a problem they must fix.
FALLBACK_ERRORS = frozenset({"dns", "refused", "connection", "timeout", "rate_limited", "server", "incomplete"})

RefusalKind = Literal[
    "no_scenario",  # Space with nothing to step through
    "last_step",  # Space after the last step
    "last_recorded",  # Space after a recording's last comparison
    "running",  # a comparison is running
    "queued",  # the step waits for the small model, which is loading
    "small_not_loaded",  # the step needs the small model, and none is loaded
    "nothing_to_run",  # none of the step's sides is set up
    "load_failed",  # the small model a queued step waited for did not load
    "vote_pending",  # a vote step's comparison waits for the room's vote
    "vote_needs_both",  # a vote step, and the large side is not set up
]


@dataclass(frozen=True)
class StepRefused:
    """Why a step does not run now. `step` is its number (1-based) where one is meant; `detail` what the
    model loader said when `kind` is "load_failed"."""

    kind: RefusalKind
    step: int | None = None
    detail: str = ""

    @property
    def message(self) -> str:
        """The refusal as a sentence for the room (made at the last moment, from the kind and its fields)."""
        if self.kind == "no_scenario":
            return "No scenario loaded: lmscales demo run NAME, or type and send in the main window."
        if self.kind == "last_step":
            return "That was the last step."
        if self.kind == "last_recorded":
            return "That was the last recorded comparison."
        if self.kind == "running":
            return "Still running: S stops it."
        if self.kind == "queued":
            return f"Step {self.step} starts as soon as the small model has loaded."
        if self.kind == "small_not_loaded":
            return "The small model is not loaded: open one in the main window (File), then Space."
        if self.kind == "vote_pending":
            return "Waiting for the room's vote: 1 for A, 2 for B, 3 for a tie, 4 if both are bad."
        if self.kind == "vote_needs_both":
            return f"Step {self.step} asks the room to vote between two answers: set up the large side first."
        if self.kind == "nothing_to_run":
            return "The large side is not set up: this step has nothing to run."
        return f"The small model did not load ({self.detail}); the step did not run."


@dataclass(frozen=True)
class SidesNow:
    """What the app can run at this moment: the facts a step's plan depends on, and nothing else."""

    running: bool = False
    loading: frozenset[str] = frozenset()  # sides whose model is loading (or measuring its threads)
    ready: frozenset[str] = frozenset()  # sides with an engine that can run

    @classmethod
    def of(cls, running: bool, loading: Iterable[str] = (), ready: Iterable[str] = ()) -> SidesNow:
        return cls(running, frozenset(loading), frozenset(ready))


@dataclass(frozen=True)
class StepRun:
    """A step to run now: on `sides`, the step's sides that are ready (a step for both runs on the small side
    alone when the large one is not set up)."""

    index: int
    step: Step
    sides: tuple[str, ...]

    @property
    def number(self) -> int:
        return self.index + 1

    @property
    def input(self) -> TaskInput:
        return self.step.input

    @property
    def params(self) -> GenerationParams:
        return self.step.params


StepPlan = StepRun | StepRefused


class ScenarioStepper:
    """Where a talk is in its scenario. `index` is the step shown (-1: none yet); it moves only when a step
    has started (`started`), so a step that could not start leaves the talk where it was."""

    def __init__(self, scenario: Scenario | None = None) -> None:
        self.scenario = scenario
        self.index = -1
        self.queued: int | None = None  # the step to run once the small model has loaded
        self.ballot = False  # the current vote step's comparison waits for the room's vote

    @property
    def voting(self) -> bool:
        """The current step is a vote (shown blind until the room has voted)."""
        step = self.current
        return step is not None and step.kind == "vote"

    def load(self, scenario: Scenario) -> None:
        self.scenario, self.index, self.queued = scenario, -1, None
        self.ballot = False

    @property
    def steps(self) -> tuple[Step, ...]:
        return self.scenario.steps if self.scenario is not None else ()

    @property
    def title(self) -> str:
        return self.scenario.title if self.scenario is not None else ""

    @property
    def current(self) -> Step | None:
        return self.steps[self.index] if 0 <= self.index < len(self.steps) else None

    @property
    def following(self) -> Step | None:
        return self.steps[self.index + 1] if self.index + 1 < len(self.steps) else None

    @property
    def heading(self) -> str:
        """The room's title line: the scenario's, and the current step's after a dash."""
        step = self.current
        return f"{self.title} — {step.title}" if step is not None else self.title

    @property
    def extrapolation(self) -> Extrapolation | None:
        """What the current step shows after its comparison (e.g. the cost of a million answers like it)."""
        step = self.current
        return step.extrapolate if step is not None else None

    # -- what to run ---------------------------------------------------------------------------------------
    def next(self, now: SidesNow) -> StepPlan:
        """Space: the step after the current one."""
        if self.scenario is None:
            return StepRefused("no_scenario")
        if self.ballot:  # before "that was the last step": the room's vote is what the talk waits for
            return StepRefused("vote_pending")
        if self.index + 1 >= len(self.steps):
            return StepRefused("last_step")
        return self.plan(self.index + 1, now)

    def previous(self, now: SidesNow) -> StepPlan | None:
        """PageUp: the step before the current one (None: there is none, and nothing to say about it)."""
        if self.scenario is None or self.index <= 0:
            return None
        return self.plan(self.index - 1, now)

    def plan(self, index: int, now: SidesNow) -> StepPlan:
        """Step `index` now: a `StepRun` on its ready sides, or why not. A step that needs the small model
        while it loads is queued (a clicker's press is not lost): `take_queued` gives it back once loaded."""
        if not 0 <= index < len(self.steps):
            raise IndexError(f"step {index} of {len(self.steps)}")
        if now.running:
            return StepRefused("running")
        if self.ballot:
            return StepRefused("vote_pending")
        step = self.steps[index]
        if step.kind == "vote" and not {"small", "large"} <= now.ready:
            return StepRefused("vote_needs_both", index + 1)
        if "small" in step.sides and "small" in now.loading:
            self.queued = index
            return StepRefused("queued", index + 1)
        if "small" in step.sides and "small" not in now.ready:
            return StepRefused("small_not_loaded", index + 1)
        sides = tuple(side for side in step.sides if side in now.ready)
        if not sides:
            return StepRefused("nothing_to_run", index + 1)
        return StepRun(index, step, sides)

    def started(self, run: StepRun) -> None:
        """`run` has been submitted: it is the current step now."""
        self.index = run.index
        self.ballot = run.step.kind == "vote"

    # -- the room's vote -------------------------------------------------------------------------------------
    def vote(self, key: str) -> VoteChoice | None:
        """Keys 1-4 while a vote step waits for its vote: the choice (the ballot closes); None otherwise."""
        if not self.ballot or key not in ("1", "2", "3", "4"):
            return None
        self.ballot = False
        return choice_for_key(key)

    def close_ballot(self) -> None:
        """No vote will come (the comparison ended without both answers, or presenter mode was left)."""
        self.ballot = False

    # -- the step that waits for the small model -------------------------------------------------------------
    def take_queued(self) -> int | None:
        """The model is ready: the step Space asked for while it loaded (at most once)."""
        index, self.queued = self.queued, None
        return index if index is not None and index < len(self.steps) else None

    def drop_queued(self, reason: str) -> StepRefused | None:
        """The model did not load: the waiting step does not run (a refusal to show; None if none waited)."""
        if self.queued is None:
            return None
        self.queued = None
        return StepRefused("load_failed", detail=reason)

    def forget_queued(self) -> None:
        """Presenter mode was left: a waiting step does not start behind the presenter's back."""
        self.queued = None


# -- falling back to a recording ---------------------------------------------------------------------------
def may_fall_back(result: SideResult) -> bool:
    """The side failed for want of the network or the service (or offline mode refused a side beyond this
    computer), so a recorded answer may stand in for it."""
    if result.recorded:
        return False
    if result.error is not None:
        return result.error.kind in FALLBACK_ERRORS
    return result.skipped is not None and result.engine is not None and result.engine.model_runs == "remote"


def recorded_fallback(recording: Recording | None, live_input: TaskInput | None, result: SideResult) -> Trial | None:
    """The recorded trial whose answer may replace the large side's failed live `result`, or None: only the
    large side falls back (the small one runs here, there is no network to lose), only for a failure
    `may_fall_back`, and only to a recording that holds this very step."""
    if recording is None or live_input is None or result.side != "large" or not may_fall_back(result):
        return None
    return recording.find(live_input, result.side)
