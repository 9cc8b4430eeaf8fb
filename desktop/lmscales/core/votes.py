"""A person's blind verdict between two answers: the order they were shown in, the vote, and tallies of votes.

A blind comparison shows its two sides as "A" and "B" in an order drawn from a seed (`BlindOrder`); the seed
and the order are kept with the trial, so a reader can check that the order was not chosen by hand. A `Vote`
says which letter the person preferred ("A", "B", "tie", or "both_bad"), which side each letter was, who
voted and when: a vote read alone still says which model won.

`tally_votes` is the one count of votes every front end shows (the window's history, the presenter's
scoreboard, the evaluation report): per task and per pair of models, one side's wins, ties, both-bad and
losses, and its win rate (wins over all votes) with a Wilson 95 % interval (`quality.stats.wilson_interval`).
"""

from __future__ import annotations

import random
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol, get_args

from lmscales.core.quality.stats import JudgeTally, wilson_interval

VoteChoice = Literal["A", "B", "tie", "both_bad"]
VOTE_CHOICES: tuple[VoteChoice, ...] = get_args(VoteChoice)
# The keys 1-4 (window, presenter, terminal) in this order, and the words a person reads for each choice.
VOTE_WORDS: dict[VoteChoice, str] = {"A": "A is better", "B": "B is better", "tie": "Tie", "both_bad": "Both bad"}
LETTERS = ("A", "B")
Outcome = Literal["win", "loss", "tie", "both_bad"]


class _Side(Protocol):
    @property
    def side(self) -> str: ...
    @property
    def label(self) -> str: ...
    @property
    def model(self) -> str: ...


class Trial(Protocol):
    """What the tallies read of a `lmscales.core.trial.Trial` (which imports this module)."""

    @property
    def task(self) -> str: ...
    @property
    def sides(self) -> Sequence[_Side]: ...
    @property
    def blind(self) -> BlindOrder | None: ...
    @property
    def vote(self) -> Vote | None: ...
    def side(self, name: str) -> _Side | None: ...


class VoteFormatError(ValueError):
    """A stored vote or blind order that cannot be read; the message says what is wrong."""


def choice_for_key(key: str) -> VoteChoice | None:
    """The choice a typed key means ("1".."4", or the choice itself: "a", "b", "tie", "both_bad"); None else."""
    key = key.strip()
    if key in ("1", "2", "3", "4"):
        return VOTE_CHOICES[int(key) - 1]
    by_name = {choice.lower(): choice for choice in VOTE_CHOICES}
    return by_name.get(key.lower())


def percent(share: float) -> str:
    return f"{share * 100:.0f} %"


def new_seed() -> int:
    """A fresh seed for one blind comparison (kept with it, so its order can be drawn again)."""
    return secrets.randbelow(2**31)


@dataclass(frozen=True)
class BlindOrder:
    """Which side was shown as A and which as B, drawn from `seed`."""

    seed: int
    a: str
    b: str

    @classmethod
    def draw(cls, seed: int, sides: Sequence[str] = ("small", "large")) -> BlindOrder:
        """The order `seed` gives `sides` (always the same for the same seed and sides)."""
        first, second = sides
        if random.Random(seed).random() < 0.5:
            return cls(seed, first, second)
        return cls(seed, second, first)

    def side_of(self, letter: str) -> str:
        if letter not in LETTERS:
            raise ValueError(f"a blind letter is A or B, not {letter!r}")
        return self.a if letter == "A" else self.b

    def letter_of(self, side: str) -> str:
        if side == self.a:
            return "A"
        if side == self.b:
            return "B"
        raise ValueError(f"{side!r} was not shown in this blind comparison")

    def to_dict(self) -> dict[str, Any]:
        return {"seed": self.seed, "a": self.a, "b": self.b}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BlindOrder:
        if not isinstance(data, Mapping):
            raise VoteFormatError("a blind order must be an object")
        seed, a, b = data.get("seed"), data.get("a"), data.get("b")
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise VoteFormatError(f"blind.seed must be a whole number, not {seed!r}")
        if not isinstance(a, str) or not isinstance(b, str) or not a or a == b:
            raise VoteFormatError("blind.a and blind.b must name two different sides")
        return cls(seed, a, b)


@dataclass(frozen=True)
class Vote:
    """A person's verdict on a blind comparison: `choice` among A, B, tie, both bad; `order` says which side
    each letter was; `voter` who voted ("human": a person at this computer or in the audience)."""

    choice: VoteChoice
    order: BlindOrder
    voter: str = "human"
    voted_at: str = ""  # wall clock, ISO 8601

    def __post_init__(self) -> None:
        if self.choice not in VOTE_CHOICES:
            raise VoteFormatError(f"a vote is one of {', '.join(VOTE_CHOICES)}, not {self.choice!r}")

    @classmethod
    def cast(cls, choice: VoteChoice, order: BlindOrder, voter: str = "human") -> Vote:
        return cls(choice, order, voter, datetime.now().astimezone().isoformat(timespec="seconds"))

    @property
    def winner(self) -> str | None:
        """The side the person preferred (None for a tie or both bad)."""
        return self.order.side_of(self.choice) if self.choice in LETTERS else None

    def outcome_for(self, side: str) -> Outcome:
        if self.choice == "tie":
            return "tie"
        if self.choice == "both_bad":
            return "both_bad"
        return "win" if self.winner == side else "loss"

    def to_dict(self) -> dict[str, Any]:
        return {"choice": self.choice, "winner": self.winner, "a": self.order.a, "b": self.order.b,
                "seed": self.order.seed, "voter": self.voter, "voted_at": self.voted_at}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Vote:
        if not isinstance(data, Mapping):
            raise VoteFormatError("a vote must be an object")
        choice = data.get("choice")
        if choice not in VOTE_CHOICES:
            raise VoteFormatError(f"vote.choice must be one of {', '.join(VOTE_CHOICES)}, not {choice!r}")
        return cls(choice, BlindOrder.from_dict(data), str(data.get("voter") or "human"),
                   str(data.get("voted_at") or ""))

    def reveal(self, labels: Mapping[str, str]) -> str:
        """The reveal in words: which side each letter was and what the person chose, e.g. "A was Small
        (SmolLM2), B was Large (gpt-4o). You preferred A: Small." (`labels`: a side's name for people)."""
        a, b = (labels.get(self.order.a, self.order.a), labels.get(self.order.b, self.order.b))
        said = {"tie": "You called it a tie.", "both_bad": "You found both bad."}.get(self.choice)
        if said is None:
            said = f"You preferred {self.choice}: {labels.get(self.winner or '', self.winner or '')}."
        return f"A was {a}, B was {b}. {said}"


# -- tallies ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class VoteTally:
    """Votes on comparisons of `side` (model `model`) against `other` (model `other_model`), from `side`'s
    point of view. `task` is None for all tasks together."""

    task: str | None
    side: str
    model: str
    other: str
    other_model: str
    wins: int = 0
    ties: int = 0
    both_bad: int = 0
    losses: int = 0

    @property
    def n(self) -> int:
        return self.wins + self.ties + self.both_bad + self.losses

    @property
    def win_rate(self) -> float | None:
        return self.wins / self.n if self.n else None

    def interval(self, confidence: float = 0.95) -> tuple[float, float] | None:
        """The Wilson interval of the win rate (None with no votes)."""
        return wilson_interval(self.wins, self.n, confidence) if self.n else None

    def as_judge_tally(self) -> JudgeTally:
        """The same counts in the LLM judge's terms (both bad is no preference: a tie)."""
        return JudgeTally(self.wins, self.ties + self.both_bad, self.losses)

    def sentence(self, who: str = "You", side_name: str | None = None) -> str:
        """E.g. "The audience preferred the small model 7 of 12 times (58 %, 95 % CI 32–81 %); 2 ties, 1 both
        bad." — an interval only where there are votes."""
        name = side_name or f"the {self.side} model"
        if not self.n:
            return f"No votes yet on {name}."
        low, high = self.interval() or (0.0, 0.0)
        times = "time" if self.n == 1 else "times"
        extra = [f"{self.ties} tie{'s' if self.ties != 1 else ''}"] if self.ties else []
        extra += [f"{self.both_bad} both bad"] if self.both_bad else []
        rest = f"; {', '.join(extra)}" if extra else ""
        return (f"{who} preferred {name} {self.wins} of {self.n} {times} ({percent(self.wins / self.n)}, "
                f"95 % CI {percent(low)}–{percent(high)}){rest}.")

    def as_dict(self) -> dict[str, Any]:
        interval = self.interval()
        return {"task": self.task, "side": self.side, "model": self.model, "other": self.other,
                "other_model": self.other_model, "wins": self.wins, "ties": self.ties, "both_bad": self.both_bad,
                "losses": self.losses, "n": self.n, "win_rate": self.win_rate,
                "interval": list(interval) if interval is not None else None}


def side_names(trial: Trial) -> dict[str, str]:
    """Each side of `trial` as people name it in a reveal: "Small (SmolLM2-135M-Instruct)"."""
    return {result.side: f"{result.label} ({result.model})" for result in trial.sides}


def blind_words(trial: Trial) -> str:
    """What a blind trial says in an export: the reveal and the vote, or that no vote was cast."""
    if trial.vote is not None:
        return trial.vote.reveal(side_names(trial)) + f" (seed {trial.vote.order.seed}, voted {trial.vote.voted_at})"
    if trial.blind is None:
        return "not shown blind."
    names = side_names(trial)
    return (f"A was {names.get(trial.blind.a, trial.blind.a)}, B was {names.get(trial.blind.b, trial.blind.b)} "
            f"(seed {trial.blind.seed}); no vote was cast.")


def voted(trials: Iterable[Trial]) -> list[Trial]:
    return [trial for trial in trials if trial.vote is not None]


def tally_votes(trials: Iterable[Trial], side: str = "small", by_task: bool = True) -> tuple[VoteTally, ...]:
    """The votes among `trials`, from `side`'s point of view: one tally per task (or one for all tasks with
    `by_task=False`) and per pair of models, in the order first seen. Trials without a vote are left out."""
    counts: dict[tuple[str | None, str, str, str], dict[Outcome, int]] = {}
    for trial in trials:
        vote = trial.vote
        if vote is None or side not in (vote.order.a, vote.order.b):
            continue
        other = vote.order.b if vote.order.a == side else vote.order.a
        mine, theirs = trial.side(side), trial.side(other)
        key = (trial.task if by_task else None, mine.model if mine else "?", other, theirs.model if theirs else "?")
        bucket = counts.setdefault(key, {"win": 0, "tie": 0, "both_bad": 0, "loss": 0})
        bucket[vote.outcome_for(side)] += 1
    return tuple(VoteTally(task, side, model, other, other_model, found["win"], found["tie"], found["both_bad"],
                           found["loss"]) for (task, model, other, other_model), found in counts.items())


def total_tally(trials: Iterable[Trial], side: str = "small") -> VoteTally | None:
    """All votes on `side` together, whatever the task or models (the presenter's one line); None: no votes."""
    tallies = tally_votes(trials, side, by_task=False)
    if not tallies:
        return None
    first = tallies[0]
    same = all(t.model == first.model and t.other_model == first.other_model for t in tallies)
    return VoteTally(None, side, first.model if same else "several", first.other,
                     first.other_model if same else "several", sum(t.wins for t in tallies),
                     sum(t.ties for t in tallies), sum(t.both_bad for t in tallies), sum(t.losses for t in tallies))
