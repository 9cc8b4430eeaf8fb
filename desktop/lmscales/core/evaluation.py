"""Repeated, matched A/B runs over an evaluation set, through the one `Session`: what size buys, measured.

Each item of the set is sent to both sides with the same parameters, as a trial of its own (kept in the history
like any other, its set, item and repeat in `Trial.evaluation`). The sides run one after the other, so neither
slows the other, and which side goes first alternates from item to item; items are taken in a fresh seeded order on
every repeat, so a slow start or a warm cache does not always fall on the same item or side. Warm-up runs
(before the first measured item) are discarded. Each answer gets the reference-free checks and the reference
scores (the session computes both); an optional blind judge compares the two answers of each item in both
orders. The result is an `EvalResult` for `results.task_figures` (statistics, verdict) and
`eval_report.render_eval_report` (the HTML page).

`cancel()` stops at once; what was measured so far is kept and summarised (partial results are results).
"""

from __future__ import annotations

import os
import platform
import random
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import psutil

from lmscales import __version__
from lmscales.core.events import Message
from lmscales.core.method_card import MethodCard, build_method_card, concurrency_of
from lmscales.core.method_card_trials import threads_used
from lmscales.core.quality.judge import Judge, JudgeContext, Verdict
from lmscales.core.quality.results import EvalResult, JudgeSummary, RunMetadata, TaskResult
from lmscales.core.quality.sets import EvalItem, EvalSet
from lmscales.core.session import SLOTS, Session
from lmscales.core.task_trials import CHECKS_SCORE, ItemTrials, side_info, summarise_task
from lmscales.core.tasks import SUMMARY_LENGTHS
from lmscales.core.trial import EvalRef, GenerationParams, TaskInput, Trial

__all__ = ["CHECKS_SCORE", "EvalPlan", "EvalProgress", "Evaluation", "machine_description", "side_info",
           "task_input_for"]


@dataclass(frozen=True)
class EvalPlan:
    evaluation_set: EvalSet
    params: GenerationParams = field(default_factory=lambda: GenerationParams(temperature=0.0, seed=1))
    repeats: int = 1
    warmups: int = 1  # runs per side before measuring, discarded
    sides: tuple[str, ...] = SLOTS
    seed: int = 7  # the order of items on each repeat

    def __post_init__(self) -> None:
        if self.repeats < 1:
            raise ValueError("repeats must be at least 1")
        if self.warmups < 0:
            raise ValueError("warm-ups must not be negative")
        if not self.evaluation_set.items:
            raise ValueError(f"the set {self.evaluation_set.name!r} has no items")


@dataclass(frozen=True)
class EvalProgress:
    """Where an evaluation is: `done` of `total` runs (warm-ups count), and what is happening now."""

    done: int
    total: int
    message: str


def task_input_for(item: EvalItem) -> TaskInput:
    """An item as the session takes it: chat items are single turns (never added to a side's conversation)."""
    if item.task == "chat":
        return TaskInput("chat", item.input, messages=(Message("user", item.input),), reference=item.reference,
                         answers=item.answers)
    if item.task == "summarize":
        # the summary's language (target_lang) chooses its score: ROUGE-L for English, chrF otherwise
        return TaskInput("summarize", item.input, summary_length=item.summary_length, reference=item.reference,
                         key_facts=item.key_facts, target_lang=item.target_language)
    return TaskInput("translate", item.input, target_lang=item.target_language, source_lang=item.source_language,
                     reference=item.reference)


def machine_description() -> str:
    memory = psutil.virtual_memory().total / 2**30
    cores = os.cpu_count() or 1
    return f"{platform.system()} {platform.machine()}, {cores} logical cores, {memory:.0f} GiB"


class Evaluation:
    """One evaluation run over a session whose sides are set up. `run()` blocks (call it off the GUI thread);
    `cancel()` may be called from any thread."""

    def __init__(self, session: Session, plan: EvalPlan, judge: Judge | None = None,
                 on_progress: Callable[[EvalProgress], None] | None = None) -> None:
        self.session = session
        self.plan = plan
        self.judge = judge
        self.on_progress = on_progress
        self._cancelled = threading.Event()
        self.trials: list[Trial] = []
        self.verdicts: dict[str, Verdict] = {}
        self.started_at = ""

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    def cancel(self) -> None:
        self._cancelled.set()
        self.session.cancel()

    def _progress(self, done: int, total: int, message: str) -> None:
        if self.on_progress is not None:
            self.on_progress(EvalProgress(done, total, message))

    def run(self) -> EvalResult:
        plan = self.plan
        self.started_at = datetime.now().astimezone().isoformat(timespec="seconds")
        sides = tuple(side for side in plan.sides if self.session.available(side))
        if not sides:
            raise ValueError("Neither side is ready: load a model or set up an endpoint first.")
        items = plan.evaluation_set.items
        total = plan.warmups + len(items) * plan.repeats + (len(items) if self.judge is not None else 0)
        done = 0
        for index in range(plan.warmups):
            if self.cancelled:
                break
            item = items[index % len(items)]
            self._progress(done, total, f"warm-up {index + 1} of {plan.warmups} (not counted)")
            self.session.run(task_input_for(item), plan.params, sides, mode="sequential", keep=False,
                             evaluation=EvalRef(plan.evaluation_set.name, item.id, 0, warmup=True))
            done += 1
        order = random.Random(plan.seed)
        counter = 0
        for repeat in range(plan.repeats):
            shuffled = list(items)
            order.shuffle(shuffled)
            for item in shuffled:
                if self.cancelled:
                    break
                # Alternate which side goes first, so neither always runs on a machine the other just warmed.
                ordered = sides if counter % 2 == 0 else tuple(reversed(sides))
                counter += 1
                self._progress(done, total, f"repeat {repeat + 1} of {plan.repeats}: {item.task} {item.id}")
                trial = self.session.run(task_input_for(item), plan.params, ordered, mode="sequential",
                                         evaluation=EvalRef(plan.evaluation_set.name, item.id, repeat + 1))
                self.trials.append(trial)
                done += 1
        if self.judge is not None and set(sides) >= {"small", "large"}:
            first_trials = {self._item_id(t): t for t in reversed(self.trials) if self._repeat(t) == 1}
            for item in items:
                if self.cancelled:
                    break
                first = first_trials.get(item.id)
                small, large = (first.side("small"), first.side("large")) if first else (None, None)
                if small is None or large is None or not small.ok or not large.ok:
                    continue
                self._progress(done, total, f"judging {item.id}")
                context = JudgeContext(item.task, item.input, target_language=item.target_language,
                                       summary_form=SUMMARY_LENGTHS.get(item.summary_length)
                                       if item.task == "summarize" else None)
                self.verdicts[item.id] = self.judge.judge(context, small.text, large.text)
                done += 1
        self._progress(done, total, "stopped: partial results" if self.cancelled else "done")
        return self.result()

    @staticmethod
    def _item_id(trial: Trial) -> str:
        return trial.evaluation.item_id if trial.evaluation is not None else ""

    @staticmethod
    def _repeat(trial: Trial) -> int:
        return trial.evaluation.repeat if trial.evaluation is not None else 0

    # -- summarising ------------------------------------------------------------------------------------------
    def result(self) -> EvalResult:
        """What was measured so far, as an `EvalResult` (complete or partial)."""
        plan = self.plan
        infos = {slot: side_info(slot, self.session.labels.get(slot, slot), self.session.info(slot))
                 for slot in SLOTS}
        tasks = []
        for task in plan.evaluation_set.tasks:
            items = [item for item in plan.evaluation_set.items if item.task == task]
            tasks.append(self._task_result(task, items))
        signatures: dict[str, str] = {}
        for trial in self.trials:
            for result in trial.sides:
                for score in result.scores:
                    signatures.setdefault(score.name, score.signature)
        notes = ["Stopped before the end: partial results."] if self.cancelled else []
        notes.append("Sides ran one after the other, alternating which went first; items in a seeded random "
                     f"order on each repeat; {plan.warmups} warm-up run(s) discarded.")
        parameters = {
            "max tokens": str(plan.params.max_tokens), "temperature": f"{plan.params.temperature:g}",
            "top-p": f"{plan.params.top_p:g}", "seed": str(plan.params.seed), "repeats": str(plan.repeats),
            "warm-ups": str(plan.warmups), "set": f"{plan.evaluation_set.name} ({plan.evaluation_set.source})",
            "item order seed": str(plan.seed),
        }
        if self.judge is not None:
            parameters["judge"] = self.judge.model + (" (also a contestant)" if self.judge.is_contestant else "")
        metadata = RunMetadata(created=self.started_at or datetime.now().astimezone().isoformat(timespec="seconds"),
                               machine=machine_description(), app_version=__version__, parameters=parameters,
                               signatures=signatures, notes=tuple(notes))
        return EvalResult(sides=(infos["small"], infos["large"]), tasks=tuple(tasks), metadata=metadata,
                          method=self._method_card())

    def _method_card(self) -> MethodCard:
        """How this run measured: each side that took part, the parameters, warm-ups, repeats, one side at a time."""
        sides = [(slot, self.session.labels.get(slot, slot), info) for slot in self.plan.sides
                 if (info := self.session.info(slot)) is not None]
        return build_method_card(sides, self.plan.params, warmups=self.plan.warmups, repeats=self.plan.repeats,
                                 concurrency=concurrency_of(["sequential"], len(sides)),
                                 threads_used=threads_used(self.trials), created=self.started_at or None)

    def _task_result(self, task: str, items: Sequence[EvalItem]) -> TaskResult:
        by_item: dict[str, list[Trial]] = {}
        for trial in self.trials:
            if trial.task == task:
                by_item.setdefault(self._item_id(trial), []).append(trial)
        groups = []
        for item in items:
            verdict = self.verdicts.get(item.id)
            groups.append(ItemTrials(
                item_id=item.id, input=item.input, reference=item.reference,
                trials=tuple(sorted(by_item.get(item.id, []), key=self._repeat)), tags=item.tags,
                judge={"a": "small", "b": "large"}.get(verdict.outcome, verdict.outcome) if verdict else None))
        places = {slot: (info.model_runs if (info := self.session.info(slot)) is not None else None) for slot in SLOTS}
        judge_summary = None
        if self.judge is not None:
            outcomes = [self.verdicts[item.id].outcome for item in items if item.id in self.verdicts]
            judge_summary = JudgeSummary(
                model=self.judge.model, prompt_version=next(iter(self.verdicts.values())).prompt_version
                if self.verdicts else "", is_contestant=self.judge.is_contestant,
                large_wins=outcomes.count("b"), ties=outcomes.count("tie"), small_wins=outcomes.count("a"),
                unparsed=outcomes.count("unparsed"), errors=outcomes.count("error"))
        return summarise_task(task, self.plan.evaluation_set.name, self.plan.repeats, groups, places, judge_summary)
