"""Repeated, matched A/B runs over an evaluation set, through the one `Session`: what size buys, measured.

Each item of the set is sent to both sides with the same parameters, as a trial of its own (kept in the history
like any other, its set, item and repeat in `Trial.evaluation`). By default, with both sides on this computer, the
sides run one after the other, so neither slows the other, and which side goes first alternates from item to item;
with the large side beyond this computer, its requests run several at once and beside the small side's
(`eval_schedule` says what may overlap, and why). Items are taken in a fresh seeded order on every repeat, so a
slow start or a warm cache does not always fall on the same item or side. Warm-up runs
(before the first measured item) are discarded. Each answer gets the reference-free checks and the reference
scores (the session computes both); an optional blind judge compares the two answers of each item in both
orders. The result is an `EvalResult` for `results.task_figures` (statistics, verdict) and
`eval_report.render_eval_report` (the HTML page).

`cancel()` stops at once; what was measured so far is kept and summarised (partial results are results). With a
journal (`Evaluation.start_journal`, `eval_journal`) each trial is on disk as it finishes, the result is built from
the file (`eval_tally`), and a stopped evaluation resumes where it stopped.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import os
import platform
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import psutil

from lmscales import __version__
from lmscales.core.engines.base import Engine
from lmscales.core.eval_journal import EvalJournal, JournalError, JournalPlan, new_evaluation_id, set_hash
from lmscales.core.eval_schedule import LaneRunner, Overlap, resolve_overlap, schedule
from lmscales.core.eval_tally import EvalTally, RunningScores
from lmscales.core.eval_votes import task_votes
from lmscales.core.events import Message
from lmscales.core.method_card import MethodCard, build_method_card, concurrency_of
from lmscales.core.method_card_trials import sent_over_network
from lmscales.core.quality.judge import Judge, JudgeContext, Verdict
from lmscales.core.quality.results import EvalResult, JudgeSummary, RunMetadata
from lmscales.core.quality.sets import EvalItem, EvalSet
from lmscales.core.session import SLOTS, Session
from lmscales.core.task_trials import CHECKS_SCORE, side_info
from lmscales.core.tasks import SUMMARY_LENGTHS
from lmscales.core.trial import EvalRef, GenerationParams, TaskInput, Trial

__all__ = ["CHECKS_SCORE", "EvalPlan", "EvalProgress", "Evaluation", "machine_description", "side_info",
           "task_input_for"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EvalPlan:
    evaluation_set: EvalSet
    params: GenerationParams = field(default_factory=lambda: GenerationParams(temperature=0.0, seed=1))
    repeats: int = 1
    warmups: int = 1  # runs per side before measuring, discarded
    sides: tuple[str, ...] = SLOTS
    seed: int = 7  # the order of items on each repeat
    # The large side's requests at once, and both sides of an item at once; None: chosen from where the large
    # side runs (`eval_schedule.resolve_overlap`).
    concurrency: int | None = None
    parallel_sides: bool | None = None

    def __post_init__(self) -> None:
        if self.repeats < 1:
            raise ValueError("repeats must be at least 1")
        if self.concurrency is not None and self.concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        if self.warmups < 0:
            raise ValueError("warm-ups must not be negative")
        if not self.evaluation_set.items:
            raise ValueError(f"the set {self.evaluation_set.name!r} has no items")


@dataclass(frozen=True)
class EvalProgress:
    """Where an evaluation is: `done` of `total` runs of this start (warm-ups count), and what is happening now;
    `scores`: per side, the running mean of each score so far; `measured` of `measured_total` trials kept
    (a resumed evaluation's earlier ones included)."""

    done: int
    total: int
    message: str
    scores: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    failed: Mapping[str, int] = field(default_factory=dict)
    measured: int = 0
    measured_total: int = 0


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
    `cancel()` may be called from any thread.

    With a `journal` (`start_journal`), every finished trial goes to disk as it finishes and the result is built
    from the file, so memory stays flat at any size and a stopped evaluation resumes with what is missing;
    without one (a test, a short run), the trials are kept in `trials`. `make_engine` builds another engine for
    the large side's endpoint, for the requests beyond the first that run at once (see `eval_schedule`)."""

    def __init__(self, session: Session, plan: EvalPlan, judge: Judge | None = None,
                 on_progress: Callable[[EvalProgress], None] | None = None, *,
                 journal: EvalJournal | None = None, make_engine: Callable[[], Engine] | None = None) -> None:
        self.session = session
        self.plan = plan
        self.judge = judge
        self.on_progress = on_progress
        self.journal = journal
        self.make_engine = make_engine
        self.on_kept: Callable[[Trial], None] | None = None  # each measured trial once kept (`eval_votes`: a vote)
        self._cancelled = threading.Event()
        self.trials: list[Trial] = []  # without a journal, or once it can no longer be written
        self.journal_problem: str | None = None  # why the journal stopped taking trials (a full disk, ...)
        self.verdicts: dict[str, Verdict] = {}
        self.started_at = ""
        self.overlap: Overlap | None = None
        self._runner: LaneRunner | None = None
        self._running = RunningScores()
        self._measured = 0  # trials kept, earlier runs' included
        self._rate_limited = (0, 0)  # (answers that met a 429, the fewest requests at once it led to)

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    @property
    def trial_count(self) -> int:
        """The measured trials kept so far (those of the runs before a resume included)."""
        return self._measured

    def trial_ids(self) -> list[str]:
        return [trial.id for trial in self._kept()]

    def _kept(self) -> Iterator[Trial]:
        """Every measured trial: the journal's (streamed from disk), then those kept in memory (all of them
        without a journal, or those after the journal could no longer be written)."""
        if self.journal is not None:
            yield from self.journal.trials()
        yield from self.trials

    def kept_trials(self) -> Iterator[Trial]:
        """Every measured trial kept so far, with the votes cast on them."""
        return self._kept()

    def cancel(self) -> None:
        self._cancelled.set()
        runner = self._runner
        if runner is not None:
            runner.cancel()
        self.session.cancel()

    # -- the journal ----------------------------------------------------------------------------------------
    def journal_plan(self, evaluation_id: str) -> JournalPlan:
        """What this evaluation is, as its journal keeps it (and a resume compares)."""
        plan = self.plan
        models = {slot: f"{info.model} ({info.where.replace('_', ' ')})" for slot in plan.sides
                  if (info := self.session.info(slot)) is not None}
        return JournalPlan(
            evaluation_id=evaluation_id, created=datetime.now().astimezone().isoformat(timespec="seconds"),
            set_name=plan.evaluation_set.name, set_source=plan.evaluation_set.source,
            set_hash=set_hash(plan.evaluation_set), items=len(plan.evaluation_set.items), sides=tuple(plan.sides),
            models=models, params=plan.params.as_dict(), repeats=plan.repeats, seed=plan.seed,
            judge=self.judge.model if self.judge is not None else None)

    def start_journal(self, resume: str | None = None, folder: Path | None = None) -> EvalJournal | None:
        """A new journal for this evaluation, or (`resume`: its id) the journal of the evaluation it continues.
        `JournalError` with the reason for an unknown id or a changed set, parameters or sides. A new journal that
        cannot be written (a full or read-only disk) is None, with the reason in `journal_problem`: the evaluation
        runs with its trials in memory, and cannot be resumed."""
        if resume is not None:
            journal = EvalJournal.open(resume, folder)
            journal.check_resume(self.journal_plan(journal.evaluation_id))
            journal.mark_resumed()
        else:
            try:
                journal = EvalJournal.create(self.journal_plan(new_evaluation_id()), folder)
            except JournalError as error:  # a full or read-only data folder costs the resume, not the run
                self.journal_problem = str(error)
                return None
        self.journal = journal
        return journal

    # -- running ----------------------------------------------------------------------------------------------
    def _progress(self, done: int, total: int, message: str) -> None:
        if self.on_progress is not None:
            self.on_progress(EvalProgress(done, total, message, self._running.means(), dict(self._running.failed),
                                          self._measured, len(self.plan.evaluation_set.items) * self.plan.repeats))

    def run(self) -> EvalResult:
        plan = self.plan
        self.started_at = datetime.now().astimezone().isoformat(timespec="seconds")
        sides = tuple(side for side in plan.sides if self.session.available(side))
        if not sides:
            raise ValueError("Neither side is ready: load a model or set up an endpoint first.")
        self.overlap = resolve_overlap(self.session.info("large"), sides, plan.concurrency, plan.parallel_sides)
        try:
            return self._run(sides)
        finally:
            if self.journal is not None:
                self.journal.close()

    def _run(self, sides: tuple[str, ...]) -> EvalResult:
        plan = self.plan
        items = plan.evaluation_set.items
        jobs = schedule(items, plan.repeats, plan.seed, sides)
        finished: set[tuple[str, int]] = set()
        if self.journal is not None:  # a resumed evaluation: what its earlier runs measured
            for trial in self.journal.trials():
                if trial.evaluation is not None:
                    finished.add((trial.evaluation.item_id, trial.evaluation.repeat))
                    self._running.add(trial)
                    self._measured += 1
            self.verdicts.update(self.journal.verdicts())
        missing = [job for job in jobs if (job.item.id, job.repeat) not in finished]
        total = plan.warmups + len(missing) + (len(items) if self.judge is not None else 0)
        done = 0
        for index in range(plan.warmups if missing else 0):
            if self.cancelled:
                break
            item = items[index % len(items)]
            self._progress(done, total, f"warm-up {index + 1} of {plan.warmups} (not counted)")
            self.session.run(task_input_for(item), plan.params, sides, mode="sequential", keep=False,
                             evaluation=EvalRef(plan.evaluation_set.name, item.id, 0, warmup=True))
            done += 1

        def kept(trial: Trial, keep: bool) -> None:  # keep: hand to the history (a lane's trial); then say so
            nonlocal done
            if self.cancelled:
                return  # stopped in the middle: a resume runs it again
            if keep and self.session.on_trial is not None:
                self.session.on_trial(trial)  # the history, as a comparison the session ran would be
            if self.journal is None or not self._journal_takes(functools.partial(self.journal.append_trial, trial)):
                self.trials.append(trial)
            self._running.add(trial)
            self._measured += 1
            done += 1
            ref = trial.evaluation
            if keep and ref is not None:  # one after the other, the next item's start says it instead
                self._progress(done, total, f"repeat {ref.repeat} of {plan.repeats}: {trial.task} {ref.item_id}")
            if self.on_kept is not None:
                self.on_kept(trial)

        if self.overlap is not None and self.overlap.lanes and not self.cancelled:
            self._runner = LaneRunner(self.session, self._another_engine, self.overlap, plan.params,
                                      plan.evaluation_set.name, task_input_for)
            try:
                self._runner.run(missing, lambda trial: kept(trial, True))
            finally:
                self._rate_limited = (self._runner.limit.rate_limited, self._runner.limit.lowest)
                self._runner.close()
        else:
            for job in missing:
                if self.cancelled:
                    break
                self._progress(done, total, f"repeat {job.repeat} of {plan.repeats}: {job.item.task} {job.item.id}")
                trial = self.session.run(task_input_for(job.item), plan.params, job.sides, mode="sequential",
                                         evaluation=EvalRef(plan.evaluation_set.name, job.item.id, job.repeat))
                kept(trial, False)  # the session kept it in the history
        if self.judge is not None and set(sides) >= {"small", "large"}:
            tally = self._tally()
            for item in items:
                if self.cancelled:
                    break
                pair = tally.judge_pair(item.id)
                if pair is None or item.id in self.verdicts:
                    continue
                self._progress(done, total, f"judging {item.id}")
                context = JudgeContext(item.task, item.input, target_language=item.target_language,
                                       summary_form=SUMMARY_LENGTHS.get(item.summary_length)
                                       if item.task == "summarize" else None)
                verdict = self.judge.judge(context, *pair)
                self.verdicts[item.id] = verdict
                if self.journal is not None:
                    self._journal_takes(functools.partial(self.journal.append_verdict, item.id, verdict))
                done += 1
        self._progress(done, total, "stopped: partial results" if self.cancelled else "done")
        return self.result()

    def _journal_takes(self, write: Callable[[], None]) -> bool:
        """Write to the journal; False (and the reason kept, said once) when there is none or it failed: a full
        disk costs the resume, never the run's results."""
        if self.journal is None or self.journal_problem is not None:
            return False
        try:
            write()
        except JournalError as error:
            self.journal_problem = str(error)
            log.warning("%s", error)
            return False
        return True

    def _another_engine(self) -> Engine:
        if self.make_engine is None:
            raise ValueError("More than one large-side request at once needs another engine for its endpoint.")
        return self.make_engine()

    def _tally(self) -> EvalTally:
        """Every measured trial so far, folded in: streamed from the journal, or from memory."""
        return EvalTally().add_all(self._kept())

    # -- summarising ------------------------------------------------------------------------------------------
    def result(self) -> EvalResult:
        """What was measured so far, as an `EvalResult` (complete or partial)."""
        plan = self.plan
        tally = self._tally()
        infos = {slot: side_info(slot, self.session.labels.get(slot, slot), self.session.info(slot))
                 for slot in SLOTS}
        places = {slot: (info.model_runs if (info := self.session.info(slot)) is not None else None) for slot in SLOTS}
        tasks = []
        for task in plan.evaluation_set.tasks:
            items = [item for item in plan.evaluation_set.items if item.task == task]
            tasks.append(tally.task_result(task, items, set_name=plan.evaluation_set.name, repeats=plan.repeats,
                                           places=places, verdicts=self.verdicts, judge=self._judge_summary(items)))
        votes = task_votes(self._kept())  # a person's blind votes (`eval --judge human`)
        tasks = [dataclasses.replace(task, votes=votes.get(task.task, ())) for task in tasks]
        notes = ["Stopped before the end: partial results."] if self.cancelled else []
        notes.extend(self._method_notes())
        parameters = {
            "max tokens": str(plan.params.max_tokens), "temperature": f"{plan.params.temperature:g}",
            "top-p": f"{plan.params.top_p:g}", "seed": str(plan.params.seed), "repeats": str(plan.repeats),
            "warm-ups": str(plan.warmups), "set": f"{plan.evaluation_set.name} ({plan.evaluation_set.source})",
            "item order seed": str(plan.seed),
        }
        if self.journal is not None:
            parameters["evaluation id"] = self.journal.evaluation_id
        if self.judge is not None:
            parameters["judge"] = self.judge.model + (" (also a contestant)" if self.judge.is_contestant else "")
        metadata = RunMetadata(created=self.started_at or datetime.now().astimezone().isoformat(timespec="seconds"),
                               machine=machine_description(), app_version=__version__, parameters=parameters,
                               signatures=tally.signatures, notes=tuple(notes))
        return EvalResult(sides=(infos["small"], infos["large"]), tasks=tuple(tasks), metadata=metadata,
                          method=self._method_card(tally))

    def _method_notes(self) -> list[str]:
        plan, overlap = self.plan, self.overlap
        notes = []
        if overlap is None or not overlap.lanes:
            notes.append("Sides ran one after the other, alternating which went first; items in a seeded random "
                         f"order on each repeat; {plan.warmups} warm-up run(s) discarded.")
        else:
            notes.append(f"{overlap.describe(self.session.info('large'), len(plan.sides))[:1].upper()}"
                         f"{overlap.describe(self.session.info('large'), len(plan.sides))[1:]}; items in a seeded "
                         f"random order on each repeat; {plan.warmups} warm-up run(s) discarded.")
        if overlap is not None and overlap.concurrency > 1:
            notes.append(f"The large side's time to first token and end-to-end time were measured with up to "
                         f"{overlap.concurrency} of its requests in flight: they include any wait in its server's "
                         "queue.")
        limited, lowest = self._rate_limited
        if limited:
            notes.append(f"The large side's server rate-limited {limited} answer(s) (429): LM Scales ran fewer "
                         f"requests at once (down to {lowest}) and waited as long as it asked.")
        if self.journal_problem:
            notes.append(f"{self.journal_problem} Runs were kept in memory from then on: they are in these results, "
                         "but a resume would run them again.")
        if self.journal is not None and self.journal.resumes:
            notes.append(f"Resumed {self.journal.resumes} time(s) (evaluation {self.journal.evaluation_id}): the "
                         "trials measured before each stop are kept, and the warm-ups ran again at each start.")
        return notes

    def _method_card(self, tally: EvalTally) -> MethodCard:
        """How this run measured: each side that took part, the parameters, warm-ups, repeats, concurrency."""
        sides = [(slot, self.session.labels.get(slot, slot), info) for slot in self.plan.sides
                 if (info := self.session.info(slot)) is not None]
        overlap = self.overlap
        concurrency = (overlap.describe(self.session.info("large"), len(sides)) if overlap is not None
                       and overlap.lanes else concurrency_of(["sequential"], len(sides)))
        card = build_method_card(sides, self.plan.params, warmups=self.plan.warmups, repeats=self.plan.repeats,
                                 concurrency=concurrency, threads_used=tally.threads_used,
                                 created=self.started_at or None)
        # What left this computer: from the trials as kept (the tally's slim copies leave the requests out).
        return dataclasses.replace(card, sent=sent_over_network(list(self._kept()), "The evaluation"))

    def _judge_summary(self, items: Sequence[EvalItem]) -> JudgeSummary | None:
        if self.judge is None:
            return None
        outcomes = [self.verdicts[item.id].outcome for item in items if item.id in self.verdicts]
        return JudgeSummary(
            model=self.judge.model, prompt_version=next(iter(self.verdicts.values())).prompt_version
            if self.verdicts else "", is_contestant=self.judge.is_contestant,
            large_wins=outcomes.count("b"), ties=outcomes.count("tie"), small_wins=outcomes.count("a"),
            unparsed=outcomes.count("unparsed"), errors=outcomes.count("error"))
