"""An evaluation's trials folded in without holding them whole: what `Evaluation.result` summarises (through the
one summary of a task's trials, `task_trials.summarise_task`), whether the trials are in memory or streamed back
from the evaluation's journal on disk.

A `Trial` carries every streamed piece of each answer with its timestamp, the request as sent and the notices
(kilobytes per side); a summary needs the figures computed from them, the checks, the scores, the costs and the
answer's text. `EvalTally.add` keeps a slim copy of each trial (`slim`: its figures computed once, its pieces,
request and notices dropped) and lets the trial go, so a 10,000-item run holds its results, not its streams.
The groups it hands to `summarise_task` are in the set's order, each item's repeats in order, as the evaluation
always summarised them: a resumed evaluation summarises to the result of one that ran through.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from lmscales.core import metrics
from lmscales.core.quality.checks import checks_passed
from lmscales.core.quality.judge import Verdict
from lmscales.core.quality.results import JudgeSummary, TaskResult
from lmscales.core.quality.sets import EvalItem
from lmscales.core.task_trials import CHECKS_SCORE, ItemTrials, summarise_task
from lmscales.core.trial import SideResult, TaskInput, Trial


@dataclass(frozen=True)
class SummarisedSide(SideResult):
    """A side's result with its figures computed once (`computed`) and its streamed pieces dropped."""

    computed: metrics.RunMetrics | None = None

    @property
    def metrics(self) -> metrics.RunMetrics | None:
        return self.computed


def slim(trial: Trial) -> Trial:
    """`trial` as a summary reads it: each side's figures computed now, without its pieces, request or notices."""
    sides = []
    for result in trial.sides:
        finished = result.finished
        light = None if finished is None else dataclasses.replace(finished, deltas=(), reasoning_deltas=())
        fields = {f.name: getattr(result, f.name) for f in dataclasses.fields(SideResult)}
        fields.update(finished=light, notices=(), computed=result.metrics)
        if "egress" in fields:  # the request as sent (issue 24): not part of any figure
            fields["egress"] = None
        sides.append(SummarisedSide(**fields))
    return dataclasses.replace(trial, sides=tuple(sides), input=TaskInput(trial.input.task, ""))


@dataclass
class RunningScores:
    """Per side, the running mean of each score over the answers so far, and the failed runs (for progress)."""

    sums: dict[str, dict[str, float]] = field(default_factory=dict)
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    failed: dict[str, int] = field(default_factory=dict)

    def add(self, trial: Trial) -> None:
        for result in trial.sides:
            if not result.ok:
                self.failed[result.side] = self.failed.get(result.side, 0) + 1
                continue
            sums, counts = self.sums.setdefault(result.side, {}), self.counts.setdefault(result.side, {})
            values = [(score.name, score.value) for score in result.scores]
            passed = checks_passed(result.checks)
            if passed is not None:
                values.append((CHECKS_SCORE, passed))
            for name, value in values:
                sums[name] = sums.get(name, 0.0) + value
                counts[name] = counts.get(name, 0) + 1

    def means(self) -> dict[str, dict[str, float]]:
        return {slot: {name: total / self.counts[slot][name] for name, total in names.items()}
                for slot, names in self.sums.items()}


class EvalTally:
    """Trials folded in as slim copies, per item and repeat; `task_result` summarises a task. One thread adds."""

    def __init__(self) -> None:
        self._items: dict[str, dict[int, Trial]] = {}
        self.signatures: dict[str, str] = {}
        self.threads_used: dict[str, list[int]] = {}
        self.trial_ids: list[str] = []

    def add(self, trial: Trial) -> None:
        """Fold a measured trial in (a warm-up, or a trial of no evaluation, is left out)."""
        ref = trial.evaluation
        if ref is None or ref.warmup:
            return
        self.trial_ids.append(trial.id)
        for result in trial.sides:
            for score in result.scores:
                self.signatures.setdefault(score.name, score.signature)
            if result.finished is not None and result.finished.threads:
                self.threads_used.setdefault(result.side, []).append(result.finished.threads)
        self._items.setdefault(ref.item_id, {})[ref.repeat] = slim(trial)

    def add_all(self, trials: Iterable[Trial]) -> EvalTally:
        for trial in trials:
            self.add(trial)
        return self

    def judge_pair(self, item_id: str) -> tuple[str, str] | None:
        """The first repeat's (small, large) answers of `item_id`, when both sides answered it."""
        first = self._items.get(item_id, {}).get(1)
        small, large = (first.side("small"), first.side("large")) if first is not None else (None, None)
        if small is None or large is None or not small.ok or not large.ok:
            return None
        return small.text, large.text

    def task_result(self, task: str, items: Sequence[EvalItem], *, set_name: str, repeats: int,
                    places: Mapping[str, str | None], verdicts: Mapping[str, Verdict],
                    judge: JudgeSummary | None) -> TaskResult:
        """`task`'s result over `items` (in the set's order), each item's repeats in order."""
        groups = []
        for item in items:
            trials = self._items.get(item.id, {})
            verdict = verdicts.get(item.id)
            groups.append(ItemTrials(
                item_id=item.id, input=item.input, reference=item.reference,
                trials=tuple(trials[repeat] for repeat in sorted(trials) if trials[repeat].task == task),
                tags=item.tags,
                judge={"a": "small", "b": "large"}.get(verdict.outcome, verdict.outcome) if verdict else None))
        return summarise_task(task, set_name, repeats, groups, places, judge)
