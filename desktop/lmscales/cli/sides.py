"""The command line's sides, set up through the `Workspace` as the window sets up its own: specs in the slots,
GGUF files loaded by `Workspace.load` with the threads its policy chooses (with a progress line here), endpoints
and the judge built by the one engine factory, prices through the workspace. No command builds an engine."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from lmscales.cli.common import EXIT_USAGE, CliError, say

if TYPE_CHECKING:
    from lmscales.core.engines.factory import EndpointSpec, GgufSpec
    from lmscales.core.engines.local import LocalEngine
    from lmscales.core.history import TrialHistory
    from lmscales.core.quality.judge import Judge
    from lmscales.core.resource_monitor import ResourceMonitor
    from lmscales.core.workspace import Workspace


def new_workspace(args: argparse.Namespace, *, history: TrialHistory | None = None,
                  monitor: ResourceMonitor | None = None) -> Workspace:
    """An empty workspace with the command's offline choice, whose GGUF sides take the thread counts measured
    for their file (measured first, once per model file, when none are stored) unless a count is given."""
    from lmscales.core.thread_counts import ThreadPolicy
    from lmscales.core.workspace import Workspace

    workspace = Workspace(history=history, monitor=monitor)
    if args.offline:
        workspace.set_offline(True)
    workspace.never_remote = bool(getattr(args, "no_remote", False))
    workspace.thread_policy = ThreadPolicy()
    return workspace


def small_spec(args: argparse.Namespace) -> GgufSpec:
    from lmscales.core.engines.factory import GgufSpec

    return GgufSpec(path=args.gguf, n_ctx=args.n_ctx, threads=args.threads)


def load_gguf(workspace: Workspace, side: str, spec: GgufSpec) -> LocalEngine:
    """Put `spec` in `side` and load it (blocking), its threads chosen by the workspace's policy with a progress
    line here. `CliError` when the file cannot be loaded (a missing bundled model included); a measurement that
    fails leaves the model loaded, and the run goes on with the engine's default thread count."""
    from lmscales.core.bundled_model import ModelFileError
    from lmscales.core.engines.local import LoadError, LocalEngine
    from lmscales.core.engines.local_worker import NO_CHAT_TEMPLATE_NOTE

    def progress(done: int, total: int) -> None:
        if done == 1:
            say("Measuring the best thread count for this model (a few seconds, once per model)…")

    workspace.set_slot(side, spec)
    engine = workspace.engine(side)
    assert isinstance(engine, LocalEngine)  # the factory's engine for a GGUF spec
    try:
        workspace.load(side, progress=progress)
    except (LoadError, ModelFileError) as error:
        if engine.model is None:  # the file did not load
            raise CliError(str(error)) from None
        say(f"{error} Going on with {engine.n_threads} threads.")  # it loaded; measuring its threads failed
    model = engine.model
    assert model is not None
    if engine.info is not None and not engine.info.has_chat_template:
        say(f"{Path(model.info.path).name}: {NO_CHAT_TEMPLATE_NOTE}")
    if spec.threads is None and engine.thread_table is not None:
        say(f"{workspace.label(side)} model: {engine.threads_reason}; {engine.n_threads_batch} for prompts.")
    return engine


def endpoint_spec(args: argparse.Namespace) -> EndpointSpec:
    """The large side's endpoint from --base-url and --model; its key from the environment only (never a
    command-line argument, which other users can see)."""
    from lmscales.core.endpoints import Endpoint, env_api_key
    from lmscales.core.engines.factory import EndpointSpec
    from lmscales.core.engines.remote import RemoteOptions

    if not args.base_url or not args.model_name:
        raise CliError("The large side needs --base-url URL and --model NAME (or --large-gguf PATH).", EXIT_USAGE)
    endpoint = Endpoint(base_url=args.base_url, model=args.model_name, api_key=env_api_key(args.base_url))
    problem = endpoint.problem()
    if problem:
        raise CliError(problem, EXIT_USAGE)
    return EndpointSpec(endpoint, RemoteOptions(connect_timeout=args.connect_timeout, read_timeout=args.read_timeout,
                                                context_tokens=args.remote_context))


def set_prices(workspace: Workspace, args: argparse.Namespace, model: str | None) -> None:
    """The bundled price table, --prices on top, and --price-input/--price-output for the endpoint's `model`."""
    from lmscales.core.pricing import PriceTableError

    given = model is not None and args.price_input is not None and args.price_output is not None
    overrides = [(model, args.price_input, args.price_output)] if given and model is not None else []
    try:
        workspace.set_price_overrides(overrides, Path(args.prices) if args.prices else None)
    except PriceTableError as error:
        raise CliError(str(error)) from None


def open_workspace(args: argparse.Namespace, sides: tuple[str, ...], *, history: TrialHistory | None = None,
                   monitor: ResourceMonitor | None = None,
                   before_loading: Callable[[Workspace], None] | None = None) -> Workspace:
    """A workspace with the chosen `sides` ready to run, as `run` and `eval` set them up: the small side's GGUF,
    and the large side's second GGUF or endpoint, with its prices. A large side beyond this computer is refused
    with `--no-remote`; `before_loading` may refuse more (a `CliError`) before any model loads. The caller closes
    it."""
    import dataclasses

    workspace = new_workspace(args, history=history, monitor=monitor)
    try:
        large = None
        if "large" in sides and not args.large_gguf:
            large = endpoint_spec(args)  # a usage error before any model loads
        set_prices(workspace, args, large.endpoint.model if large is not None else None)
        if large is not None:
            workspace.set_slot("large", large)
        refused = workspace.remote_refused(sides)
        if refused:
            raise CliError(refused)
        if before_loading is not None:
            before_loading(workspace)
        if "small" in sides:
            load_gguf(workspace, "small", small_spec(args))
        if large is None and "large" in sides:
            spec = dataclasses.replace(small_spec(args), path=args.large_gguf,
                                       threads=args.large_threads or args.threads)
            load_gguf(workspace, "large", spec)
    except BaseException:
        workspace.close()
        raise
    return workspace


def judge(args: argparse.Namespace, workspace: Workspace, sides: tuple[str, ...], chosen: str | None
          ) -> Judge | None:
    """The LLM judge `chosen` (`--judge`'s one that is not `human`: see `eval_votes.split_judges`), from the
    workspace: none, the large side itself, or a third endpoint (`--judge-model`)."""
    from lmscales.core.endpoints import Endpoint, env_api_key
    from lmscales.core.engines.factory import EndpointSpec
    from lmscales.core.engines.remote import RemoteOptions
    from lmscales.core.quality.judge import JudgeRefused

    if not chosen:
        return None
    try:
        if chosen in ("large", "small"):
            if chosen == "large" and "large" not in sides:
                raise CliError("--judge large needs the large side (--side both or large).", EXIT_USAGE)
            return workspace.judge("large" if chosen == "large" else "small")
        if not args.judge_model:
            raise CliError("A judge endpoint needs --judge-model NAME.", EXIT_USAGE)
        endpoint = Endpoint(base_url=chosen, model=args.judge_model, api_key=env_api_key(chosen))
        if workspace.never_remote and not endpoint.is_loopback:
            raise CliError(f"Not sent: the judge is at {endpoint.host}, beyond this computer, and --no-remote is on. "
                           "Use a judge on this computer, or leave out --no-remote.")
        options = RemoteOptions(connect_timeout=args.connect_timeout, read_timeout=args.read_timeout)
        return workspace.judge(EndpointSpec(endpoint, options))
    except JudgeRefused as error:
        raise CliError(str(error), EXIT_USAGE) from None
