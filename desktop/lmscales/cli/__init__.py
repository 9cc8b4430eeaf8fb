"""The headless interface: self-test, one-off runs, evaluations, model facts, fetching (and, added by
`lmscales.__main__`, the benchmarks, demos and `serve`).

Every command sets its sides up through the `Workspace` (`sides.py`), as the window does. Every failure a user
can cause (a missing model, a bad file, input that does not fit) ends with a one-line message on stderr and a
non-zero exit code, never a traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Callable, Sequence

from lmscales import __version__
from lmscales.cli.arguments import context_size
from lmscales.cli.common import (
    EXIT_FAILED,
    EXIT_USAGE,
    SIDE_ALIASES,
    CliError,
    make_output_safe,
    print_json,
    sample_text,
    say,
)
from lmscales.cli.evaluate import cmd_eval
from lmscales.cli.interrupts import interrupted_exit_code, sigterm_as_interrupt
from lmscales.cli.models import cmd_self_test
from lmscales.cli.options import add_comparison_options, add_engine_options
from lmscales.cli.run import cmd_run

__all__ = [
    "EXIT_FAILED", "EXIT_USAGE", "SIDE_ALIASES", "CliError", "add_comparison_options", "add_engine_options", "main",
    "make_output_safe", "make_parser", "print_json", "sample_text", "say",
]

Subcommands = argparse._SubParsersAction  # what `add_subparsers` returns; `extend` functions add to it


def _no_gui(args: argparse.Namespace) -> int:
    raise CliError("No command given; see lmscales --help.", EXIT_USAGE)


def make_parser(
    extend: Sequence[Callable[[Subcommands[argparse.ArgumentParser]], None]] = (),
    gui: Callable[[argparse.Namespace], int] | None = None,
) -> argparse.ArgumentParser:
    """The whole command line. `extend` adds subcommands that live outside this package (the benchmarks);
    `gui` runs the window when no subcommand is given (the composition root, `__main__`, passes both)."""
    from lmscales.cli import evaluate, models, run

    parser = argparse.ArgumentParser(prog="lmscales", description="A small model beside a large one.")
    parser.add_argument("--version", action="version", version=f"lmscales {__version__}")
    add_engine_options(parser)
    parser.add_argument("--base-url", help="start with this OpenAI-compatible endpoint for the large side")
    parser.add_argument("--remote-model", help="the large side's model name (key from LMSCALES_API_KEY, or "
                        "OPENAI_API_KEY for OpenAI itself)")
    parser.add_argument("--theme", choices=["system", "light", "dark"], help="for this session")
    parser.add_argument("--context", dest="gui_n_ctx", type=context_size,
                        help="the small model's context, this session")
    parser.add_argument("--offline", action="store_true",
                        help="no connection beyond this computer: only the small side (or a local server) runs")
    parser.set_defaults(handler=gui or _no_gui, offline=False)
    commands = parser.add_subparsers(dest="command")
    models.add_self_test(commands)
    run.add_command(commands)
    evaluate.add_command(commands)
    models.add_models(commands)
    for add in extend:
        add(commands)
    return parser


def main(argv: Sequence[str], parser: argparse.ArgumentParser | None = None) -> int:
    make_output_safe()
    args = (parser or make_parser()).parse_args(list(argv))
    # The headless runs end on SIGTERM as on Ctrl+C (engines closed, an evaluation's partial results kept); the
    # window and the benchmarks keep the default.
    headless = args.handler in (cmd_run, cmd_eval, cmd_self_test)
    try:
        with sigterm_as_interrupt() if headless else contextlib.nullcontext():
            code: int = args.handler(args)
        return code
    except CliError as error:
        print(f"lmscales: {error}", file=sys.stderr)
        return error.code
    except KeyboardInterrupt as error:
        return interrupted_exit_code(error)
