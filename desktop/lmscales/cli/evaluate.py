"""`lmscales eval`: repeated, matched A/B runs of an evaluation set on the workspace's sides, with scores,
statistics, a verdict per task and the HTML report; Ctrl+C or SIGTERM keeps the partial results."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from lmscales.cli.common import EXIT_FAILED, EXIT_USAGE, SIDE_ALIASES, CliError, print_json, say
from lmscales.cli.eval_journal import add_overlap_options, start_journal
from lmscales.cli.eval_progress import EvalProgressView
from lmscales.cli.eval_votes import (
    TerminalVoter,
    blind_progress,
    check_human_judge,
    human_json,
    split_judges,
    votes_json,
)
from lmscales.cli.interrupts import interrupted_exit_code
from lmscales.cli.run import generation_params
from lmscales.cli.sides import judge, open_workspace

if TYPE_CHECKING:
    from lmscales.core.decision import DecisionSettings
    from lmscales.core.settings import Settings


def user_settings() -> Settings:
    """The user's saved settings, as the window reads them (a damaged file: defaults, and a note saying so)."""
    from lmscales.core.settings import load_settings

    loaded = load_settings()
    if loaded.notice:
        say(loaded.notice)
    return loaded.settings


def decision_settings_of(args: argparse.Namespace, settings: Settings) -> DecisionSettings:
    """The user's decision settings with this command's values on top (each checked where it was parsed)."""
    from lmscales.core.settings.decision_section import decision_settings

    price = args.electricity_price if args.electricity_price is not None else settings.energy.electricity_price
    return decision_settings(settings.decision, price, volume_per_month=args.volume, hardware_cost=args.hardware_cost,
                             hardware_months=args.hardware_months, translation_chrf_min=args.chrf_min,
                             summary_key_facts_min=args.facts_min, margin_points=args.margin,
                             min_items=args.min_items)


def cmd_eval(args: argparse.Namespace) -> int:
    import dataclasses
    import time

    from lmscales.core.decision import decide_all, decision_json
    from lmscales.core.decision.report_html import render_report
    from lmscales.core.eval_votes import EvalVoting
    from lmscales.core.evaluation import EvalPlan, Evaluation
    from lmscales.core.history import TrialHistory, default_history_path
    from lmscales.core.quality.results import task_figures
    from lmscales.core.quality.sets import EvalSetError, load_set
    from lmscales.core.resource_monitor import ResourceMonitor
    from lmscales.core.vote_report import human_sentences
    from lmscales.core.workspace import TrialNotKept, WorkspaceEvent

    try:
        evaluation_set = load_set(args.set, smoke=args.smoke)
    except EvalSetError as error:
        raise CliError(str(error), EXIT_USAGE) from None
    if args.limit is not None:  # at least 1: argparse refused the rest
        evaluation_set = dataclasses.replace(evaluation_set, items=evaluation_set.items[: args.limit])
    sides = SIDE_ALIASES[args.side]
    human, llm_judge = split_judges(args.judge)  # a person (--judge human), beside an LLM judge or not
    if human:
        check_human_judge(args, sides, sys.stdin)
    try:
        plan = EvalPlan(evaluation_set, generation_params(args), repeats=args.repeats, warmups=args.warmups,
                        sides=sides, concurrency=args.concurrency, parallel_sides=args.parallel_sides)
    except ValueError as error:
        raise CliError(str(error), EXIT_USAGE) from None
    settings = user_settings()
    decision_settings = decision_settings_of(args, settings)
    # Appended to, never read, and not held: the evaluation's own journal keeps its trials for the report.
    history = TrialHistory(None if args.no_history else default_history_path(), remember=False)
    # A monitor without its thread: each side's run is bracketed by marks, so local sides get CPU-seconds and
    # energy (measured through RAPL where readable, else estimated) in their trials.
    workspace = open_workspace(args, sides, history=history, monitor=ResourceMonitor())
    workspace.records_trials = False  # nothing saves a recording here: memory stays flat at any size
    # the zone of the large side's EcoLogits estimate, and the price the small side's electricity costs
    workspace.set_electricity(settings.energy.electricity_zone, decision_settings.electricity_price_per_kwh or 0.0)
    started = time.perf_counter()
    try:
        def not_kept(event: WorkspaceEvent) -> None:  # said at once, naming the comparison
            if isinstance(event, TrialNotKept):
                say(event.reason)

        workspace.subscribe(not_kept)
        evaluation_judge = judge(args, workspace, sides, llm_judge)

        # a bar in a terminal, lines elsewhere (and with a person voting: the bar would write over the answers)
        progress = EvalProgressView(sys.stderr, quiet=args.quiet, terminal=False if human else None)
        shown = blind_progress(progress) if human else progress  # running scores would tell A from B
        evaluation = Evaluation(workspace.session, plan, evaluation_judge, shown,
                                make_engine=lambda: workspace.another_engine("large"))
        journal = start_journal(evaluation, args)  # its id said first, for --resume
        voter = TerminalVoter(sys.stdin, sys.stderr) if human else None
        voting = EvalVoting(evaluation, voter, keep=history.replace) if voter is not None else None
        interrupted: int | None = None
        try:
            if voting is not None:
                voting.catch_up()  # the items a stopped start ran without a vote, first
            result = evaluation.run()
        except KeyboardInterrupt as error:  # Ctrl+C, or SIGTERM (see `sigterm_as_interrupt`)
            interrupted = interrupted_exit_code(error)
            evaluation.cancel()
            result = evaluation.result()
        finally:
            progress.close()
    finally:
        workspace.close()
    seconds = time.perf_counter() - started
    figures = [task_figures(task) for task in result.tasks]
    decisions = decide_all(result, decision_settings) if "small" in sides and "large" in sides else ()
    if args.report:
        path = Path(args.report)
        try:
            from lmscales.core.storage import write_atomically

            write_atomically(path, render_report(result, decisions).encode("utf-8"))
        except OSError as error:
            raise CliError(f"Could not write the report to {path}: {error.strerror or error}") from None
        print(f"report: {path}", file=sys.stderr)
    if args.json:
        document = dataclasses.asdict(result)
        method = document.pop("method")  # once, at the top: how every figure below was measured
        print_json({"method": method, "result": document, "figures": [dataclasses.asdict(f) for f in figures],
                    "decisions": [decision_json(decision) for decision in decisions],
                    "human": human_json(result), "votes": votes_json(evaluation.kept_trials()),
                    "wall_seconds": round(seconds, 1), "trials": evaluation.trial_ids(),
                    "partial": evaluation.cancelled, "not_kept": [item.trial_id for item in history.not_kept]})
    else:
        by_task = {decision.task: decision for decision in decisions}
        for figure in figures:
            print(figure.verdict)
            for sentence in human_sentences(next(task for task in result.tasks if task.task == figure.task)):
                print(f"Blind votes: {sentence}")
            if figure.task in by_task:  # what to do about it: the money, energy and quality, then the advice
                print(by_task[figure.task].break_even.sentence)
                print(f"Advice: {by_task[figure.task].advice.headline}.")
        count = evaluation.trial_count
        print(f"{count} comparison{'s' * (count != 1)} in {seconds:.0f} s", file=sys.stderr)
    if voter is not None and voting is not None and voting.stopped:
        say(voter.stop_message(journal.evaluation_id if journal is not None else None))
        if voter.ended_before_first:
            return EXIT_USAGE
    problem = history.not_kept_problem()
    if problem:  # a full disk or a read-only folder: the run's figures are here, the history lacks them
        say(f"{problem} Their results are in this output{' and the report' if args.report else ''} only.")
    if interrupted is not None:
        say(f"Interrupted: stopped before the end; the results above are partial ({evaluation.trial_count} of "
            f"{len(plan.evaluation_set.items) * plan.repeats} comparisons"
            f"{', and so is the report' if args.report else ''}).")
        return interrupted
    return 130 if evaluation.cancelled else EXIT_FAILED if problem else 0


def add_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from lmscales.cli.arguments import positive_int
    from lmscales.cli.options import EVAL_DEFAULTS, add_comparison_options, add_decision_options

    evaluate = commands.add_parser("eval", help="repeated A/B runs over an evaluation set, with scores and a report")
    add_comparison_options(evaluate)
    add_decision_options(evaluate)
    evaluate.set_defaults(**EVAL_DEFAULTS)  # why they differ from `run`'s: see EVAL_DEFAULTS
    evaluate.add_argument("--set", required=True,
                          help="translate, summarize, chat (built in), NAME-smoke for a small subset, or a JSONL file")
    evaluate.add_argument("--smoke", action="store_true", help="only the set's small built-in subset")
    evaluate.add_argument("--limit", type=positive_int, help="only the first N items")
    evaluate.add_argument("--repeats", type=int, default=1, help="runs of every item on every side")
    evaluate.add_argument("--warmups", type=int, default=1, help="discarded runs before measuring")
    evaluate.add_argument("--sides", dest="side", choices=["small", "large", "both"], default="both")
    evaluate.add_argument("--judge", metavar="human|large|URL", action="append",
                          help="a blind judge: 'human' (you vote on each item in the terminal, A or B, without "
                               "knowing which is which), 'large' (the large side, also a contestant) or a third "
                               "endpoint's URL; human may be given beside one of the others")
    evaluate.add_argument("--judge-model", metavar="NAME", help="the judge endpoint's model")
    evaluate.add_argument("--no-history", action="store_true", help="do not keep the trials in the history")
    evaluate.add_argument("--quiet", action="store_true", help="no progress lines")
    evaluate.add_argument("--json", action="store_true", help="print the results, figures and verdicts as JSON")
    evaluate.add_argument("--report", metavar="FILE.html", help="write the self-contained HTML report")
    add_overlap_options(evaluate)
    evaluate.set_defaults(handler=cmd_eval)
