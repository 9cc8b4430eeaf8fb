"""Blind votes in words, for each place that shows them (all through `VoteTally.sentence`, so they agree): the
window's history, per task and pair of models; the presenter's scoreboard, the audience's votes of this session;
and the evaluation report (`lmscales eval --judge human`), per task and pair of models, the small model's wins,
ties, both-bad and losses and its win rate with a Wilson 95 % interval, beside the LLM judge's tally of the same
task in the same form when a judge ran too. Nothing where nobody voted."""

from __future__ import annotations

from collections.abc import Iterable
from html import escape

from lmscales.core.quality.results import EvalResult, TaskResult
from lmscales.core.votes import Trial, VoteTally, tally_votes, total_tally

CSS = """
.votes { margin: 14px 0; }
.votes h3 { font-size: 15px; margin: 0 0 6px; }
.votes p { margin: 4px 0; }
"""


def judge_as_votes(task: TaskResult) -> VoteTally | None:
    """The LLM judge's verdicts on `task` counted as votes from the small side's view (None: no judge, or no
    readable verdict): its sentence reads like the person's."""
    judge = task.judge
    if judge is None or not (judge.small_wins + judge.ties + judge.large_wins):
        return None
    return VoteTally(task.task, "small", "", "large", judge.model, wins=judge.small_wins, ties=judge.ties,
                     losses=judge.large_wins)


def human_sentences(task: TaskResult) -> list[str]:
    """One sentence per pair of models a person voted on in `task` (several only when a model changed)."""
    several = len(task.votes) > 1
    return [tally.sentence("You", f"the small model ({tally.model})" if several else "the small model")
            for tally in task.votes]


def votes_parts(result: EvalResult) -> dict[str, str]:
    """Task name -> its votes section, for `eval_report.render_eval_report`'s `task_parts`."""
    return {task.task: votes_section(task) for task in result.tasks if task.votes}


def votes_section(task: TaskResult) -> str:
    """HTML for `task`'s blind votes and, beside them, the LLM judge's tally; empty without votes."""
    if not task.votes:
        return ""
    rows = "".join(f"<p>{escape(sentence)}</p>" for sentence in human_sentences(task))
    judge = judge_as_votes(task)
    beside = ""
    if judge is not None and task.judge is not None:
        who = f"The LLM judge ({task.judge.model}{', also a contestant' if task.judge.is_contestant else ''})"
        beside = f'<p class="sub">{escape(judge.sentence(who, "the small model"))}</p>'
    return (f'<div class="votes"><h3>Your blind votes</h3>{rows}{beside}<p class="sub">Each item’s answers were '
            "shown as A and B in a seeded order, without model names or figures; a tie or “both bad” is no "
            "preference.</p></div>")


def history_sentences(trials: Iterable[Trial], task: str | None = None) -> list[str]:
    """The window's history filtered to `task` (None: every task): one sentence per pair of models voted on,
    "You preferred the small model 7 of 12 times (58 %, 95 % CI 32 %–81 %)"; the models are named only where
    there are several pairs. Empty: no votes."""
    tallies = [tally for tally in tally_votes(trials, "small", by_task=task is not None)
               if task is None or tally.task == task]
    several = len(tallies) > 1
    return [tally.sentence("You", f"the small model ({tally.model}) over {tally.other_model}" if several
                           else "the small model") for tally in tallies]


def audience_sentence(trials: Iterable[Trial]) -> str | None:
    """The presenter's line on this session's votes, all tasks together: "The audience preferred the small model
    7 of 12 times (58 %, 95 % CI 32 %–81 %)"; None without a vote."""
    tally = total_tally(trials, "small")
    return tally.sentence("The audience", "the small model") if tally is not None and tally.n else None
