"""The headless interface: self-test, one-off runs, model facts, fetching, benchmarks.

Every failure a user can cause (a missing model, a bad file, input that does not fit) ends with a
one-line message on stderr and a non-zero exit code, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from lmscales import __version__
from lmscales.core import tasks
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


def _print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False))


def _bundled_model_path() -> Path:
    from lmscales.core.model_files import ModelFileError, load_manifest, verify

    try:
        return verify(load_manifest())
    except ModelFileError as error:
        raise CliError(str(error)) from None


def _open_engine(model: str | None, threads: int | None, n_ctx: int) -> Any:
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


def cmd_run(args: argparse.Namespace) -> int:
    from lmscales.core.events import TextDelta
    from lmscales.core.runner import run_to_end

    messages = build_messages(args, _read_input(args.input))
    engine = _open_engine(args.model, args.threads, args.n_ctx)
    try:
        def stream(event: object) -> None:
            if not args.json and isinstance(event, TextDelta):
                print(event.text, end="", flush=True)

        result = run_to_end(engine, _request(args, messages), stream)
        model = engine.model
    finally:
        engine.close()
    if args.json:
        _print_json({"task": args.task, "side": "local", "model": model.info.as_dict(), **result.as_dict()})
    else:
        print()
        if result.metrics is not None:
            m = result.metrics
            print(
                f"\n[local] TTFT {m.time_to_first_token.format(3)} · {m.decode_rate.format()} · "
                f"{m.output_tokens.format(0)} out · E2E {m.end_to_end.format(2)}",
                file=sys.stderr,
            )
    if result.error is not None:
        print(f"error: {result.error.message}", file=sys.stderr)
        return EXIT_FAILED
    return 0


def cmd_self_test(args: argparse.Namespace) -> int:
    from lmscales.core.runner import run_to_end

    summary: dict[str, Any] = {"version": __version__, "ok": False}
    try:
        engine = _open_engine(args.model, args.threads, args.n_ctx)
    except CliError as error:
        summary["error"] = str(error)
        _print_json(summary)
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
    _print_json(summary)
    return 0 if summary["ok"] else EXIT_FAILED


def cmd_models_info(args: argparse.Namespace) -> int:
    from lmscales.core.gguf import GGUFError, read_info

    try:
        info = read_info(args.path)
    except GGUFError as error:
        raise CliError(str(error)) from None
    if args.json:
        _print_json({**info.as_dict(), "parameters_label": info.parameters_label})
    else:
        for key, value in info.as_dict().items():
            print(f"{key:18} {value}")
    return 0


def cmd_models_fetch(args: argparse.Namespace) -> int:
    from lmscales.core.model_files import ModelFileError, fetch, load_manifest

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


def cmd_bench_engine(args: argparse.Namespace) -> int:
    from lmscales.bench import bench_engine

    engine = _open_engine(args.model, args.threads, args.n_ctx)
    try:
        report = bench_engine(engine, runs=args.runs, max_tokens=args.max_tokens)
    finally:
        engine.close()
    if args.json:
        _print_json(report)
    else:
        print(
            f"end-to-end decode {report['end_to_end_decode_rate']:.1f} tok/s, native "
            f"{report['native_decode_rate']:.1f} tok/s, ratio {report['ratio']:.3f}"
        )
    return 0


def cmd_gui(args: argparse.Namespace) -> int:
    from lmscales.ui.app import run_app

    return run_app(model=args.model, threads=args.threads, n_ctx=args.n_ctx)


def _add_engine_options(parser: argparse.ArgumentParser) -> None:
    from lmscales.core.engines.local import DEFAULT_N_CTX

    parser.add_argument("--model", help="GGUF file for the local side (default: the bundled model)")
    parser.add_argument("--threads", type=int, help="llama.cpp threads (default: physical cores)")
    parser.add_argument("--n-ctx", type=int, default=DEFAULT_N_CTX, help="context size in tokens")


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lmscales", description="A small model beside a large one.")
    parser.add_argument("--version", action="version", version=f"lmscales {__version__}")
    _add_engine_options(parser)
    parser.set_defaults(handler=cmd_gui)
    commands = parser.add_subparsers(dest="command")

    self_test = commands.add_parser("self-test", help="load the bundled model and run each task once")
    _add_engine_options(self_test)
    self_test.set_defaults(handler=cmd_self_test)

    run = commands.add_parser("run", help="run one task headless")
    _add_engine_options(run)
    run.add_argument("--task", choices=tasks.TASKS, required=True)
    run.add_argument("--side", choices=["local"], default="local")
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

    bench = commands.add_parser("bench", help="benchmarks that print figures")
    bench_commands = bench.add_subparsers(dest="bench_command", required=True)
    engine = bench_commands.add_parser("engine", help="our end-to-end decode rate vs llama.cpp's own")
    _add_engine_options(engine)
    engine.add_argument("--runs", type=int, default=3)
    engine.add_argument("--max-tokens", type=int, default=256)
    engine.add_argument("--json", action="store_true")
    engine.set_defaults(handler=cmd_bench_engine)
    return parser


def main(argv: Sequence[str]) -> int:
    args = make_parser().parse_args(list(argv))
    try:
        code: int = args.handler(args)
        return code
    except CliError as error:
        print(f"lmscales: {error}", file=sys.stderr)
        return error.code
    except KeyboardInterrupt:
        return 130
