"""`python -m lmscales` and the `lmscales` console command: the composition root.

It puts the command line together from the parts that must not import each other: the headless commands
(`lmscales.cli`), the benchmarks (`lmscales.bench`, left out of the frozen app) and the window
(`lmscales.ui`).
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
from typing import Any


def _gui(args: argparse.Namespace) -> int:
    from lmscales.ui.app import run_app

    return run_app(model=args.gguf, threads=args.threads, n_ctx=args.gui_n_ctx, base_url=args.base_url,
                   remote_model=args.remote_model, theme=args.theme, offline_mode=args.offline)


def _bench_commands(commands: Any) -> None:
    try:
        from lmscales.bench.cli import add_commands
    except ImportError:  # the frozen app leaves the benchmarks out
        return
    add_commands(commands)


def make_parser() -> argparse.ArgumentParser:
    from lmscales.cli import make_parser as cli_parser

    return cli_parser(extend=(_bench_commands,), gui=_gui)


def main(argv: list[str] | None = None) -> int:
    multiprocessing.freeze_support()  # the engine's child process, in a frozen app
    from lmscales.cli import main as cli_main

    return cli_main(sys.argv[1:] if argv is None else argv, make_parser())


if __name__ == "__main__":
    sys.exit(main())
