"""`lmscales run`: one comparison on one or both sides, its answers on stdout (or the whole `Trial` as JSON),
its figures on stderr."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from lmscales.cli.common import EXIT_FAILED, EXIT_USAGE, SIDE_ALIASES, CliError, print_json
from lmscales.cli.sides import open_workspace
from lmscales.core import tasks

if TYPE_CHECKING:
    from lmscales.core.events import Message
    from lmscales.core.trial import GenerationParams, SideResult, TaskInput
    from lmscales.core.workspace import Workspace


def read_input(source: str | None) -> str:
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


def task_input(args: argparse.Namespace, text: str) -> TaskInput:
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


def generation_params(args: argparse.Namespace) -> GenerationParams:
    """The generation options `run` and `eval` share (`options.add_comparison_options`), as one value."""
    from lmscales.core.trial import GenerationParams

    return GenerationParams(max_tokens=args.max_tokens, temperature=args.temperature, top_p=args.top_p,
                            seed=args.seed, reasoning_effort=args.reasoning_effort)


def summary_line(result: SideResult) -> str:
    if result.skipped is not None:
        return f"[{result.label.lower()}] skipped: {result.skipped}"
    m = result.metrics
    if m is None:
        return f"[{result.label.lower()}] error: {result.error.message if result.error else 'no result'}"
    extra = ""
    if result.cost is not None:
        cost = result.cost
        source = f" ({cost.price.source})" if cost.price is not None else ""
        extra = " · cost unknown" if cost.usd is None else f" · cost {cost.format()}{source}"
    elif result.cpu_seconds is not None:
        extra = f" · {result.cpu_seconds:.2f} CPU-s"
    thinking = f" + {m.reasoning_tokens.format(0)} thinking" if m.reasoning_tokens is not None else ""
    rate = m.decode_rate.format() if m.decode_rate.value is not None else f"rate n/a ({m.decode_rate.reason})"
    refused = result.finished.ignored_parameters if result.finished is not None else ()
    ignored = "".join(f" · ignores {name} (ran at its default)" for name in refused)
    return (
        f"[{result.label.lower()}] TTFT {m.time_to_first_token.format(3)} · {rate} · "
        f"{m.output_tokens.format(0)} out{thinking} · E2E {m.end_to_end.format(2)}{extra}{ignored}"
    )


def cmd_run(args: argparse.Namespace) -> int:
    from lmscales.core.events import Notice, TextDelta
    from lmscales.core.session import SessionEvent, SideStreamed, build_messages

    text = read_input(args.input)
    try:
        request_input = task_input(args, text)
        build_messages(request_input)  # a clear message for unusable input before any model loads
    except (tasks.TaskInputError, ValueError) as error:
        raise CliError(str(error), EXIT_USAGE) from None
    sides = SIDE_ALIASES[args.side]

    def check_input(workspace: Workspace) -> None:
        """Sensitive input is not sent beyond this computer unless --send-sensitive says so."""
        hold = workspace.check_before_sending(sides, text)
        if hold is not None and not args.send_sensitive:
            raise CliError(f"Not sent: {hold.message} Pass --send-sensitive to send it anyway, or run "
                           "--side small.", EXIT_USAGE)

    workspace = open_workspace(args, sides, before_loading=check_input)
    try:
        stream_text = not args.json and len(sides) == 1

        def show(event: SessionEvent) -> None:
            if not isinstance(event, SideStreamed):
                return
            if stream_text and isinstance(event.event, TextDelta):
                if event.event.kind == "answer":  # stdout is the answer; the thinking is in --json
                    print(event.event.text, end="", flush=True)
            elif not args.json and isinstance(event.event, Notice):
                print(f"[{event.event.message}]", file=sys.stderr, flush=True)

        workspace.session.subscribe(show)
        trial = workspace.session.run(request_input, generation_params(args), sides)
    finally:
        workspace.close()
    if args.json:
        import dataclasses

        from lmscales.core.method_card_trials import card_for_trials

        print_json({**trial.to_dict(), "method": dataclasses.asdict(card_for_trials([trial]))})
    else:
        for result in trial.sides:
            sys.stdout.flush()
            if not stream_text:
                print(f"--- {result.label.lower()} ---\n{result.text}")
            elif result.text:
                print()
            sys.stdout.flush()
            print(summary_line(result), file=sys.stderr)
    failed = [r for r in trial.sides if r.error is not None or (r.skipped is not None and len(trial.sides) == 1)]
    for result in failed:
        message = result.error.message if result.error is not None else result.skipped
        print(f"error ({result.label.lower()}): {message}", file=sys.stderr)
    return EXIT_FAILED if failed else 0


def add_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from lmscales.cli.options import add_comparison_options

    run = commands.add_parser("run", help="run one task headless")
    add_comparison_options(run)
    run.add_argument("--task", choices=tasks.TASKS, required=True)
    run.add_argument("--side", choices=["small", "large", "both", "local", "remote"], default="small",
                     help="which side runs (local/remote are the old names of small/large)")
    run.add_argument("--input", help="input file, or - for standard input")
    run.add_argument("--target-lang", default="fr", choices=sorted(tasks.LANGUAGES))
    run.add_argument("--source-lang", default=tasks.AUTO, choices=[tasks.AUTO, *sorted(tasks.LANGUAGES)])
    run.add_argument("--length", default="paragraph", choices=list(tasks.SUMMARY_LENGTHS))
    run.add_argument("--system", help="system prompt (default: the task's own)")
    run.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    run.add_argument("--send-sensitive", action="store_true",
                     help="send input holding an e-mail address, phone number, IBAN, card number or API key to a "
                          "large side beyond this computer (without it, such input is refused)")
    run.set_defaults(handler=cmd_run)
