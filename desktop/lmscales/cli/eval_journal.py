"""`lmscales eval`'s options for how runs overlap and for resuming, and the journal each evaluation starts with
(`lmscales.core.eval_journal`): its id is said first, so a stopped evaluation can be resumed with
`--resume ID`."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from lmscales.cli.common import EXIT_USAGE, CliError, say

if TYPE_CHECKING:
    from lmscales.core.eval_journal import EvalJournal
    from lmscales.core.evaluation import Evaluation


def add_overlap_options(parser: argparse.ArgumentParser) -> None:
    from lmscales.cli.arguments import positive_int
    from lmscales.core.eval_schedule import REMOTE_CONCURRENCY

    group = parser.add_argument_group(
        "speed and resuming", "the small side always runs one request at a time on this CPU")
    group.add_argument("--concurrency", type=positive_int, metavar="N",
                       help=f"the large side's requests at once (default: {REMOTE_CONCURRENCY} for an API beyond this "
                            "computer, 1 for a server on it or a GGUF); given, it applies to any endpoint, and the "
                            "report says so")
    group.add_argument("--parallel-sides", action=argparse.BooleanOptionalAction, default=None,
                       help="run both sides of an item at the same time (default: when the large side is not on "
                            "this computer); the report says so")
    group.add_argument("--resume", metavar="ID",
                       help="continue a stopped evaluation (the id it printed when it started), with the same set "
                            "and options: only what is missing runs")


def start_journal(evaluation: Evaluation, args: argparse.Namespace) -> EvalJournal | None:
    """The evaluation's journal, new or resumed, its id said on stderr; `CliError` with the reason when it
    cannot be resumed, or when the sides cannot overlap as asked; None (said) when a new one cannot be written."""
    from lmscales.core.eval_journal import JournalError
    from lmscales.core.eval_schedule import resolve_overlap

    sides = tuple(side for side in evaluation.plan.sides if evaluation.session.available(side))
    try:
        resolve_overlap(evaluation.session.info("large"), sides, evaluation.plan.concurrency,
                        evaluation.plan.parallel_sides)
    except ValueError as error:
        raise CliError(str(error), EXIT_USAGE) from None
    try:
        journal = evaluation.start_journal(args.resume)
    except JournalError as error:
        raise CliError(str(error), EXIT_USAGE) from None
    if journal is None:  # a full or read-only data folder costs the resume, not the evaluation
        say(f"{evaluation.journal_problem} The evaluation runs without it: if it stops, it cannot be resumed.")
        return None
    if args.resume:
        say(f"Resuming evaluation {journal.evaluation_id} ({journal.path}).")
    else:
        say(f"Evaluation {journal.evaluation_id}: if it stops, continue it with --resume {journal.evaluation_id}")
    return journal
