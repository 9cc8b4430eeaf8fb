"""`lmscales eval --judge human`: a person votes on each item in the terminal, blind (`core.eval_votes`).

The two answers are written to stderr as A and B (stdout stays the JSON a script reads), with the item's input
and nothing else: no model name, no figure. The vote is read as a line from stdin, a terminal or a pipe alike
(1 A is better, 2 B is better, 3 tie, 4 both bad, q stop); anything else is asked again. The end of the input
is a stop, except before the first vote, where it means the votes cannot be read: the command says so.
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, TextIO

from lmscales.cli.common import EXIT_USAGE, CliError
from lmscales.core.eval_votes import BlindPrompt
from lmscales.core.votes import VOTE_WORDS, VoteChoice, choice_for_key

if TYPE_CHECKING:
    from lmscales.core.evaluation import EvalProgress
    from lmscales.core.quality.results import EvalResult
    from lmscales.core.trial import Trial

HUMAN = "human"
CHOICES = " · ".join(f"{number} {words}" for number, words in enumerate(VOTE_WORDS.values(), start=1))
QUESTION = f"Which answer is better? {CHOICES} · q stop (resume later): "


def split_judges(judges: list[str] | None) -> tuple[bool, str | None]:
    """`--judge` given once or twice: whether a person judges (`human`) and the LLM judge, if any (`large` or a
    URL). `CliError` for two LLM judges."""
    given = list(judges or ())
    human = HUMAN in given
    others = [judge for judge in given if judge != HUMAN]
    if len(others) > 1:
        raise CliError(f"One LLM judge at a time: --judge {others[0]} and --judge {others[1]} were both given "
                       "(--judge human may go beside one of them).", EXIT_USAGE)
    return human, (others[0] if others else None)


def check_human_judge(args: argparse.Namespace, sides: tuple[str, ...], stdin: TextIO | None) -> None:
    """`CliError` when a person cannot judge this evaluation: one side only, or no input to read votes from."""
    if set(sides) != {"small", "large"}:
        raise CliError("--judge human compares the two sides' answers: run it with --sides both.", EXIT_USAGE)
    if stdin is None or stdin.closed:
        raise CliError("--judge human reads your votes from the standard input, and there is none. Run it in a "
                       "terminal, or pipe the votes in (1, 2, 3, 4 or q, one a line).", EXIT_USAGE)


class TerminalVoter:
    """Shows each item blind on `out` and reads the vote from `stdin` (`core.eval_votes.HumanVoter`)."""

    def __init__(self, stdin: TextIO, out: TextIO) -> None:
        self.stdin = stdin
        self.out = out
        self.votes = 0
        self.ended_before_first = False  # the input ended before any vote: it cannot be read
        self.stopped_by_person = False

    def ask(self, prompt: BlindPrompt) -> VoteChoice | None:
        language = f" into {prompt.target_language}" if prompt.target_language else ""
        self.out.write(f"\n— Item {prompt.item_id} ({prompt.task}{language}), vote {prompt.number} —\n"
                       f"{_indented(prompt.input)}\n\nA:\n{_indented(prompt.a)}\n\nB:\n{_indented(prompt.b)}\n\n")
        while True:
            self.out.write(QUESTION)
            self.out.flush()
            line = self.stdin.readline()
            if not line:  # the end of the input
                self.out.write("\n")
                self.ended_before_first = self.votes == 0
                return None
            answer = line.strip()
            if answer.lower() in ("q", "quit", "stop"):
                self.stopped_by_person = True
                return None
            choice = choice_for_key(answer)
            if choice is not None:
                self.votes += 1
                return choice
            self.out.write(f"{answer!r} is not a vote. Type 1, 2, 3 or 4 (or q to stop).\n")

    def stop_message(self, evaluation_id: str | None) -> str:
        """What the person reads after the votes stopped, with how to continue."""
        then = (f" Continue with --resume {evaluation_id}: it asks for the items not yet voted, never again for "
                "a voted one." if evaluation_id else "")
        if self.ended_before_first:
            return ("--judge human could not read a vote: the standard input ended before the first one. Run it in "
                    "a terminal, or pipe the votes in (1, 2, 3, 4 or q, one a line)." + then)
        how = "at your request" if self.stopped_by_person else "at the end of the input"
        return f"Stopped {how} after {self.votes} vote{'s' * (self.votes != 1)} in this run.{then}"


def _indented(text: str) -> str:
    return "\n".join("  " + line for line in (text.strip() or "(empty)").splitlines())


def blind_progress(show: Callable[[EvalProgress], None]) -> Callable[[EvalProgress], None]:
    """`show` without each side's running scores and failures: between two votes they would tell A from B."""
    return lambda step: show(dataclasses.replace(step, scores={}, failed={}))


def human_json(result: EvalResult) -> list[dict[str, Any]]:
    """`--json`'s "human": per task and pair of models, the votes with the win rate, its Wilson interval and the
    sentence the report shows."""
    from lmscales.core.vote_report import human_sentences

    return [{**tally.as_dict(), "sentence": sentence} for task in result.tasks
            for tally, sentence in zip(task.votes, human_sentences(task), strict=True)]


def votes_json(trials: Iterable[Trial]) -> dict[str, dict[str, Any]]:
    """`--json`'s "votes": item id -> the vote on its first repeat (with the trial's id)."""
    return {trial.evaluation.item_id: {**trial.vote.to_dict(), "trial": trial.id} for trial in trials
            if trial.vote is not None and trial.evaluation is not None}
