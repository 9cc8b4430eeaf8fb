"""Blind comparisons kept with their order and their vote, for the Workspace (no Qt, no engine).

A front end that shows the next comparison blind says so first (`expect`): the trial the session then keeps
carries its `BlindOrder` into the history and the recording as it ends, voted or not, so a comparison is never
lost because nobody voted. The vote comes later (`cast`): the trial is kept again with it (the history keeps the
newer line of the same id, the recording's collector the newer trial).
"""

from __future__ import annotations

import dataclasses
import threading
from typing import Protocol

from lmscales.core.trial import Trial
from lmscales.core.votes import BlindOrder, Vote, VoteChoice


class _Keeps(Protocol):
    def replace(self, trial: Trial) -> str | None: ...


class _Collects(Protocol):
    def replace_trial(self, trial: Trial) -> None: ...


class BlindVotes:
    """`history` takes `replace(trial)` (a `TrialHistory`), `recorder` `replace_trial(trial)` (a `Collector`)."""

    def __init__(self, history: _Keeps, recorder: _Collects) -> None:
        self.history = history
        self.recorder = recorder
        self._next: tuple[BlindOrder, Vote | None] | None = None
        self._lock = threading.Lock()  # `stamp` runs on the session's worker

    def expect(self, order: BlindOrder | None, vote: Vote | None = None) -> None:
        """The next kept trial was shown blind in `order` (a replay: with its recorded `vote`); None: it was not."""
        with self._lock:
            self._next = (order, vote) if order is not None else None

    @property
    def expected(self) -> BlindOrder | None:
        with self._lock:
            return self._next[0] if self._next is not None else None

    def stamp(self, trial: Trial) -> Trial:
        """`trial` with the blind order (and recorded vote) `expect` announced, once; as it was otherwise."""
        with self._lock:
            pending, self._next = self._next, None
        if pending is None:
            return trial
        order, vote = pending
        return dataclasses.replace(trial, blind=order, vote=vote)

    def cast(self, trial: Trial, choice: VoteChoice, order: BlindOrder | None = None, voter: str = "human"
             ) -> tuple[Trial, str | None]:
        """Keep a person's `choice` on `trial` (shown in `order`, or the trial's own): the trial with its vote,
        and a message for the user when the history could not keep it (it is kept for this session)."""
        order = order or trial.blind
        if order is None:
            raise ValueError("Only a comparison shown blind takes a vote.")
        voted = dataclasses.replace(trial, blind=order, vote=Vote.cast(choice, order, voter))
        problem = self.history.replace(voted)
        self.recorder.replace_trial(voted)
        return voted, problem
