"""The one place outside `core/engines` that turns a description of a side into an engine (simonw/llm's
`get_model` is the pattern): callers hold an `EngineSpec`, a frozen value that says what a slot should run,
and ask `create_engine` for the engine. No front end names an engine class.

Each engine's module is imported when a spec first needs it: the window starts without the `openai` SDK,
which only a remote side uses, and a replay loads neither llama.cpp's driver nor the SDK.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from lmscales.core.endpoints import Endpoint
from lmscales.core.engines.base import Engine

if TYPE_CHECKING:
    from lmscales.core.engines.remote import ParameterMemory, RemoteOptions
    from lmscales.core.trial import SideResult


@dataclass(frozen=True)
class GgufSpec:
    """A GGUF file on this CPU, run by llama.cpp in a child process. `path` None: the bundled model. `threads`
    None: from the model's measured table. `n_ctx` None: the engine's default context."""

    path: str | None = None
    n_ctx: int | None = None
    threads: int | None = None
    watchdog_seconds: float | None = None
    # How the engine process runs, which `lmscales bench engine` varies to measure them (the app keeps the
    # engine's own): OpenMP's wait policy (None: the app's; "default": OpenMP's own), priority, adaptation to load.
    wait_policy: str | None = None
    low_priority: bool = True
    adapt_threads: bool = True

    @property
    def where(self) -> str:
        return "this computer"


@dataclass(frozen=True)
class EndpointSpec:
    """An OpenAI-compatible endpoint (beyond this computer, or a server on it)."""

    endpoint: Endpoint
    options: RemoteOptions | None = None

    @property
    def where(self) -> str:
        return "this computer" if self.endpoint.is_loopback else self.endpoint.host


@dataclass(frozen=True)
class ReplaySpec:
    """A recorded answer played back: no model runs, nothing leaves this computer."""

    recorded: SideResult
    speed: float = 1.0

    @property
    def where(self) -> str:
        return "a recording"


EngineSpec = GgufSpec | EndpointSpec | ReplaySpec


def create_engine(spec: EngineSpec, *, parameter_memory: ParameterMemory | None = None) -> Engine:
    """A new engine for `spec`. A GGUF engine is created empty: its model is loaded by `LocalEngine.load`
    (seconds; the workspace's `load` does it, off the GUI thread in the window)."""
    if isinstance(spec, GgufSpec):
        from lmscales.core.engines.local import LocalEngine

        options: dict[str, object] = {}
        if spec.n_ctx is not None:
            options["n_ctx"] = spec.n_ctx
        if spec.watchdog_seconds is not None:
            options["watchdog_seconds"] = spec.watchdog_seconds
        if spec.wait_policy is not None:
            options["wait_policy"] = None if spec.wait_policy == "default" else spec.wait_policy
        if not spec.low_priority:
            options["low_priority"] = False
        if not spec.adapt_threads:
            options["adapt_threads"] = False
        return LocalEngine(n_threads=spec.threads, **options)  # type: ignore[arg-type]
    if isinstance(spec, EndpointSpec):
        from lmscales.core.engines.remote import RemoteEngine, RemoteOptions

        return RemoteEngine(spec.endpoint, spec.options or RemoteOptions(), parameter_memory)
    from lmscales.core.engines.replay import ReplayEngine

    return ReplayEngine(spec.recorded, spec.speed)


def list_endpoint_models(endpoint: Endpoint, connect_timeout: float = 3.0, read_timeout: float = 10.0) -> list[str]:
    """The model names an endpoint serves (`RemoteError` with a message for the user when it cannot say)."""
    from lmscales.core.engines.remote import RemoteEngine, RemoteOptions

    engine = RemoteEngine(endpoint, RemoteOptions(connect_timeout=connect_timeout, read_timeout=read_timeout))
    try:
        return engine.list_models()
    finally:
        engine.close()
