"""The evaluation report's part on a person's blind votes (`lmscales eval --judge human`): per task and pair of
models, the small model's wins, ties, both-bad and losses, and its win rate with a Wilson 95 % interval, in the
same words as the window and the presenter (`VoteTally.sentence`); beside it, the LLM judge's tally of the same
task in the same form, when a judge ran too. Nothing when nobody voted."""

from __future__ import annotations

from html import escape

from lmscales.core.quality.results import EvalResult, TaskResult
from lmscales.core.votes import VoteTally

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
