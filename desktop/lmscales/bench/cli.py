"""`lmscales bench ...`: the benchmark commands, added to the command line by `lmscales.__main__`."""

from __future__ import annotations

import argparse
from typing import Any

from lmscales.cli import EXIT_FAILED, EXIT_USAGE, CliError, add_engine_options, print_json
from lmscales.cli.arguments import positive_int, positive_seconds
from lmscales.cli.sides import load_gguf, new_workspace, small_spec
from lmscales.core.engines.local import WAIT_POLICY


def _thread_counts(text: str | None, usable: int) -> list[int] | None:
    if text is None:
        return None
    if text == "all":
        return list(range(1, usable + 1))
    try:
        counts = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise CliError(f"--thread-counts takes numbers separated by commas, or 'all': {text!r}", EXIT_USAGE) from None
    if not counts or min(counts) < 1:
        raise CliError("--thread-counts: each count must be 1 or more", EXIT_USAGE)
    return counts


def cmd_bench_engine(args: argparse.Namespace) -> int:
    import dataclasses

    from lmscales.bench.engine import bench_engine, describe

    # The engine comes from the workspace's factory like every other; the flags vary how its process runs.
    spec = dataclasses.replace(small_spec(args), adapt_threads=not args.no_adapt, wait_policy=args.wait_policy,
                               low_priority=not args.no_low_priority)
    workspace = new_workspace(args)
    try:
        engine = load_gguf(workspace, "small", spec)
        report = bench_engine(engine, runs=args.runs, max_tokens=args.max_tokens,
                              thread_counts=_thread_counts(args.thread_counts, engine.usable_cores),
                              competing_processes=args.competing, chat=not args.no_chat)
    finally:
        workspace.close()
    if args.json:
        print_json(report)
    else:
        print(describe(report))
    return EXIT_FAILED if args.check and not report["goals"]["met"] else 0


def _qt_messages_to_stderr() -> None:
    """Qt's own warnings go to stderr, so that --json output on stdout stays one JSON document."""
    import sys

    from PySide6.QtCore import qInstallMessageHandler

    qInstallMessageHandler(lambda _kind, _context, message: print(message, file=sys.stderr))


def cmd_bench_ui(args: argparse.Namespace) -> int:
    _qt_messages_to_stderr()
    from lmscales.bench.ui import bench_ui

    report = bench_ui(runs=args.runs, max_tokens=args.max_tokens, flood_seconds=args.flood_seconds,
                      threads=args.threads, watch_seconds=args.watch_seconds,
                      competing_processes=args.competing)
    if args.json:
        print_json(report)
    else:
        both, fast = report["both_sides_streaming"], report["fast_stream"]
        print(f"both sides streaming: p99 stall {both['p99_stall_ms']} ms, longest {both['longest_stall_ms']} ms; "
              f"fast stream: {fast['chars_per_second']:,} chars/s, longest stall {fast['longest_stall_ms']} ms; "
              f"goals {'met' if report['goals']['met'] else 'NOT met'}")
    return EXIT_FAILED if args.check and not report["goals"]["met"] else 0


def cmd_bench_soak(args: argparse.Namespace) -> int:
    _qt_messages_to_stderr()
    from lmscales.bench.soak import bench_soak

    report = bench_soak(runs=args.runs, max_tokens=args.max_tokens, threads=args.threads)
    if args.json:
        print_json(report)
    else:
        print(f"{report['runs']} runs in {report['seconds']} s; RSS growth GUI {report['gui_rss_growth_percent']} %, "
              f"engine {report['engine_rss_growth_percent']} %; failures {len(report['failures'])}; "
              f"goals {'met' if report['goals']['met'] else 'NOT met'}")
    return EXIT_FAILED if args.check and not report["goals"]["met"] else 0


def cmd_bench_eval(args: argparse.Namespace) -> int:
    from lmscales.bench.evaluation import bench_memory, bench_speed, describe

    if args.memory_items is not None:
        report = bench_memory(items=args.memory_items, concurrency=args.concurrency)
    else:
        report = bench_speed(set_name=args.set, limit=args.limit, repeats=args.repeats, threads=args.threads,
                             max_tokens=args.max_tokens, ttft_ms=args.ttft_ms, token_ms=args.token_ms,
                             concurrency=args.concurrency, rounds=args.rounds)
    if args.json:
        print_json(report)
    else:
        print(describe(report))
    return EXIT_FAILED if args.check and not report["goals"]["met"] else 0


def add_commands(commands: Any) -> None:
    bench = commands.add_parser("bench", help="benchmarks that print figures")
    bench_commands = bench.add_subparsers(dest="bench_command", required=True)
    engine = bench_commands.add_parser("engine", help="our end-to-end decode rate vs llama.cpp's own")
    add_engine_options(engine)
    engine.add_argument("--runs", type=int, default=3)
    engine.add_argument("--max-tokens", type=int, default=256)
    engine.add_argument("--json", action="store_true")
    engine.add_argument("--thread-counts", metavar="N,N|all",
                        help="measure these thread counts (default: the chosen one; 'all': 1 to the usable cores)")
    engine.add_argument("--competing", type=int, default=0, metavar="N",
                        help="run N CPU-bound processes throughout (a browser tab, a build)")
    engine.add_argument("--no-adapt", action="store_true",
                        help="keep the thread count even when other processes keep cores busy")
    engine.add_argument("--wait-policy", default=WAIT_POLICY, metavar="passive|default|active|spin:N",
                        help="OpenMP's wait policy in the engine process, or libgomp's spin count before a "
                        f"waiting thread sleeps (default: {WAIT_POLICY}, the app's)")
    engine.add_argument("--no-low-priority", action="store_true", help="run the engine at the GUI's priority")
    engine.add_argument("--no-chat", action="store_true", help="leave out the 5-turn chat with and without reuse")
    engine.add_argument("--check", action="store_true", help="exit 1 when a goal is not met")
    engine.set_defaults(handler=cmd_bench_engine)
    ui = bench_commands.add_parser("ui", help="the window's event-loop stalls and pane throughput, offscreen")
    add_engine_options(ui)
    ui.add_argument("--runs", type=int, default=2)
    ui.add_argument("--max-tokens", type=int, default=160)
    ui.add_argument("--flood-seconds", type=float, default=2.0)
    ui.add_argument("--watch-seconds", type=positive_seconds, default=8.0, metavar="S",
                    help="how long the idle window's CPU is read, with the graphs off, at 4 Hz and at 20 Hz")
    ui.add_argument("--json", action="store_true")
    ui.add_argument("--competing", type=int, default=0, metavar="N", help="run N CPU-bound processes throughout")
    ui.add_argument("--check", action="store_true", help="exit 1 when a goal is not met")
    ui.set_defaults(handler=cmd_bench_ui)
    soak = bench_commands.add_parser("soak", help="many local runs through the window: leaks and failures")
    add_engine_options(soak)
    soak.add_argument("--runs", type=int, default=100)
    soak.add_argument("--max-tokens", type=int, default=32)
    soak.add_argument("--json", action="store_true")
    soak.add_argument("--check", action="store_true", help="exit 1 when a goal is not met")
    soak.set_defaults(handler=cmd_bench_soak)
    evaluate = bench_commands.add_parser(
        "eval", help="lmscales eval one request at a time vs overlapped, against a network-like loopback server")
    evaluate.add_argument("--set", default="translate", help="the evaluation set (default: %(default)s)")
    evaluate.add_argument("--limit", type=positive_int, default=20, help="its first N items (default: %(default)s)")
    evaluate.add_argument("--repeats", type=positive_int, default=1)
    evaluate.add_argument("--threads", type=positive_int, default=1, help="the small side's llama.cpp threads")
    evaluate.add_argument("--max-tokens", type=positive_int, default=48)
    evaluate.add_argument("--ttft-ms", type=float, default=300.0, help="the server's wait before the first token")
    evaluate.add_argument("--token-ms", type=float, default=20.0, help="the server's pace per token after it")
    evaluate.add_argument("--concurrency", type=positive_int, default=4, help="the large side's requests at once")
    evaluate.add_argument("--rounds", type=positive_int, default=1,
                          help="each mode this many times, alternating their order (the load changes meanwhile)")
    evaluate.add_argument("--memory-items", type=positive_int, metavar="N",
                          help="instead: N short items, the large side alone, RSS at item 1,000 and at item N")
    evaluate.add_argument("--json", action="store_true")
    evaluate.add_argument("--check", action="store_true", help="exit 1 when a goal is not met")
    evaluate.set_defaults(handler=cmd_bench_eval)
