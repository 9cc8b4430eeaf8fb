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


def _gui(args: argparse.Namespace, demo: Any = None) -> int:
    from lmscales.ui.app import run_app
    from lmscales.ui.presenter_start import DemoOptions

    if demo is None and getattr(args, "present", False):
        demo = DemoOptions(present=True)
    return run_app(model=args.gguf, threads=args.threads, n_ctx=args.gui_n_ctx, base_url=args.base_url,
                   remote_model=args.remote_model, theme=args.theme, offline_mode=args.offline, demo=demo)


def _read_demo_files(args: argparse.Namespace) -> dict[str, Any]:
    """The scenario and recordings a demo command names, read before any window opens: a bad file is a
    message on the terminal (exit status 2)."""
    from lmscales.cli import EXIT_USAGE, CliError
    from lmscales.core import recording, scenario

    out: dict[str, Any] = {}
    try:
        if getattr(args, "scenario", None):
            out["scenario"] = scenario.find(args.scenario)
        if getattr(args, "recording", None):
            out["fallback"] = recording.load(args.recording)
        if getattr(args, "replay_file", None):
            out["replay"] = recording.load(args.replay_file)
    except (scenario.ScenarioError, recording.RecordingError) as error:
        raise CliError(str(error), EXIT_USAGE) from None
    return out


def _demo_run(args: argparse.Namespace) -> int:
    from lmscales.ui.presenter_start import DemoOptions

    return _gui(args, DemoOptions(**_read_demo_files(args)))


def _demo_replay(args: argparse.Namespace) -> int:
    from lmscales.ui.presenter_start import DemoOptions

    files = _read_demo_files(args)
    return _gui(args, DemoOptions(present=not args.window, speed=float(args.speed), step=args.step, **files))


def _demo_list(_args: argparse.Namespace) -> int:
    from lmscales.core import scenario

    for name in scenario.builtin_names():
        loaded = scenario.load_builtin(name)
        print(f"{name:<18} {loaded.title} ({len(loaded.steps)} steps)")
    return 0


def _demo_commands(commands: Any) -> None:
    demo = commands.add_parser("demo", help="product demos: scripted scenarios, presenter mode, record and replay")
    demo_commands = demo.add_subparsers(dest="demo_command", required=True)
    run = demo_commands.add_parser("run", help="open the window in presenter mode on a scenario")
    run.add_argument("scenario", metavar="FILE|NAME", help="a scenario file, or a built-in one (lmscales demo list)")
    run.add_argument("--recording", metavar="FILE", help="a recording to fall back to if the large side fails")
    run.set_defaults(handler=_demo_run)
    replay = demo_commands.add_parser("replay", help="play a recording back: no model, no network")
    replay.add_argument("replay_file", metavar="FILE")
    replay.add_argument("--speed", choices=["1", "2", "4"], default="1", help="×1 (as recorded), ×2 or ×4")
    replay.add_argument("--step", action="store_true", help="one recorded comparison per Space / PageDown")
    replay.add_argument("--window", action="store_true", help="in the main window, not presenter mode")
    replay.set_defaults(handler=_demo_replay)
    listing = demo_commands.add_parser("list", help="the built-in scenarios")
    listing.set_defaults(handler=_demo_list)


def _bench_commands(commands: Any) -> None:
    try:
        from lmscales.bench.cli import add_commands
    except ImportError:  # the frozen app leaves the benchmarks out
        return
    add_commands(commands)


def make_parser() -> argparse.ArgumentParser:
    from lmscales.cli import make_parser as cli_parser
    from lmscales.serve import add_command as _serve_command

    parser = cli_parser(extend=(_bench_commands, _demo_commands, _serve_command), gui=_gui)
    parser.add_argument("--present", action="store_true", help="open the window in presenter mode (F11)")
    return parser


def main(argv: list[str] | None = None) -> int:
    multiprocessing.freeze_support()  # the engine's child process, in a frozen app
    from lmscales.cli import main as cli_main

    return cli_main(sys.argv[1:] if argv is None else argv, make_parser())


if __name__ == "__main__":
    sys.exit(main())
