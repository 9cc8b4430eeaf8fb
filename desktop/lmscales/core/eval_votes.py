"""A person judging an evaluation blind, item by item (`lmscales eval --judge human`): after both sides have
answered an item, its two answers are shown as A and B, in an order drawn from the evaluation's seed and the
item's id (a resumed evaluation shows an item in the same order), with nothing else that tells them apart; the
person's vote is kept in the trial (`Trial.vote`), in the evaluation's journal and in the history.

Only the first repeat of an item is voted on (the repeats of one item are the same comparison). A stop ("q", or
the end of the input) stops the evaluation as Stop does: what ran and every vote cast are kept, and a resume
asks first for the items that ran without a vote, then runs the rest, never asking twice for a voted item.

`EvalVoting` asks through a `HumanVoter` (the terminal's is `lmscales.cli.eval_votes.TerminalVoter`); the
tallies per task are `votes.tally_votes`, in the report beside the LLM judge's.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Protocol

from lmscales.core.eval_journal import EvalJournal, JournalError
from lmscales.core.quality.sets import EvalSet
from lmscales.core.trial import Trial
from lmscales.core.votes import BlindOrder, Vote, VoteChoice, VoteTally, tally_votes

SIDES = ("small", "large")


def item_order(seed: int, item_id: str) -> BlindOrder:
    """The order an item of an evaluation with item-order seed `seed` is shown in: the same on every start."""
    digest = hashlib.sha256(f"{seed}:{item_id}".encode()).digest()
    return BlindOrder.draw(int.from_bytes(digest[:4], "big") % 2**31, SIDES)


@dataclass(frozen=True)
class BlindPrompt:
    """What a person sees before voting on one item: its input and the two answers as A and B (no model name, no
    figure). `number`: the vote's number in this start (1: the first one asked)."""

    number: int
    item_id: str
    task: str
    input: str
    a: str
    b: str
    target_language: str | None = None


class _Plan(Protocol):
    @property
    def evaluation_set(self) -> EvalSet: ...
    @property
    def seed(self) -> int: ...


class Evaluation(Protocol):
    """What voting needs of a `lmscales.core.evaluation.Evaluation` (which runs a session: no import of it)."""

    trials: list[Trial]
    journal: EvalJournal | None
    on_kept: Callable[[Trial], None] | None

    @property
    def plan(self) -> _Plan: ...
    def kept_trials(self) -> Iterator[Trial]: ...
    def cancel(self) -> None: ...


class HumanVoter(Protocol):
    def ask(self, prompt: BlindPrompt) -> VoteChoice | None:
        """The person's choice, or None: stop the evaluation (resumable)."""
        ...


def blind_pair(trial: Trial) -> tuple[str, str] | None:
    """The (small, large) answers of `trial` when it is an item's first repeat that both sides answered."""
    ref = trial.evaluation
    small, large = trial.side("small"), trial.side("large")
    if ref is None or ref.warmup or ref.repeat != 1 or small is None or large is None:
        return None
    return (small.text, large.text) if small.ok and large.ok else None


class EvalVoting:
    """Asks `voter` for a vote on each item of `evaluation` as its first repeat is kept (hooked to the
    evaluation's `on_kept`), and first (`catch_up`) on the items a stopped start ran without a vote. `keep`
    keeps a voted trial beyond the journal (the history: `Workspace.blind_votes.history.replace`)."""

    def __init__(self, evaluation: Evaluation, voter: HumanVoter,
                 keep: Callable[[Trial], object] | None = None) -> None:
        self.evaluation = evaluation
        self.voter = voter
        self.keep = keep
        self.asked = 0  # votes asked for in this start
        self.cast = 0  # votes cast in this start
        self.stopped = False
        self.problem: str | None = None  # the journal could not keep a vote
        self._items = {item.id: item for item in evaluation.plan.evaluation_set.items}
        evaluation.on_kept = self.take

    def catch_up(self) -> None:
        """Ask for the votes the trials kept by earlier starts lack (in the order they ran)."""
        for trial in list(self.evaluation.kept_trials()):
            if self.stopped:
                return
            if trial.vote is None:
                self.take(trial)

    def take(self, trial: Trial) -> None:
        """Ask for a vote on `trial` if it is an unvoted item's first repeat; stop the evaluation on a stop."""
        pair = blind_pair(trial)
        item = self._items.get(trial.evaluation.item_id) if trial.evaluation is not None else None
        if self.stopped or pair is None or item is None or trial.vote is not None:
            return
        order = item_order(self.evaluation.plan.seed, item.id)
        answers = dict(zip(SIDES, pair, strict=True))
        self.asked += 1
        choice = self.voter.ask(BlindPrompt(self.asked, item.id, item.task, item.input, answers[order.a],
                                            answers[order.b], item.target_language))
        if choice is None:
            self.stopped = True
            self.evaluation.cancel()
            return
        voted = dataclasses.replace(trial, blind=order, vote=Vote.cast(choice, order))
        self.cast += 1
        self._keep(voted)

    def _keep(self, voted: Trial) -> None:
        evaluation = self.evaluation
        assert voted.vote is not None and voted.evaluation is not None
        for index, kept in enumerate(evaluation.trials):  # in memory (no journal, or one that failed)
            if kept.id == voted.id:
                evaluation.trials[index] = voted
        if evaluation.journal is not None:
            try:
                evaluation.journal.append_vote(voted.id, voted.evaluation.item_id, voted.vote)
            except JournalError as error:
                self.problem = str(error)
        if self.keep is not None:
            self.keep(voted)


def task_votes(trials: Iterable[Trial]) -> dict[str, tuple[VoteTally, ...]]:
    """The votes among `trials` from the small side's point of view, per task (and pair of models)."""
    out: dict[str, list[VoteTally]] = {}
    for tally in tally_votes(trials, "small"):
        out.setdefault(tally.task or "", []).append(tally)
    return {task: tuple(tallies) for task, tallies in out.items()}

